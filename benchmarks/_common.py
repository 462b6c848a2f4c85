"""What every benchmark shares: keys, canned bodies, the hand-rolled baseline's steps, settings, results, stats."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

__all__ = [
    "ACCOUNT",
    "ACCOUNT_BODY",
    "ACCOUNT_PATH",
    "API_KEY",
    "SECRET",
    "CannedTransport",
    "Result",
    "Sample",
    "ServerProcess",
    "Settings",
    "arotate",
    "compare",
    "hand_signed",
    "rotate",
]

ROOT = Path(__file__).resolve().parent.parent

API_KEY = "c529e14832b34b74972365cf7bf02430"
SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
SECRET_BYTES = SECRET.encode("utf-8")
ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"
ACCOUNT_PATH = "/api/v1/account"

# A realistic Account API answer: eight balances, 18-decimal amounts (what ETH-family tokens carry).
_BALANCES = [
    ("BTC", "0.512345678901234567"),
    ("ETH", "12.000000000000000001"),
    ("USDT_TRX", "152301.123456789012345678"),
    ("USDT_ETH", "98000.500000000000000000"),
    ("USDC_ETH", "4410.990000000000000017"),
    ("TRX", "1000000.000000000000000000"),
    ("LTC", "3.141592653589793238"),
    ("BNB", "0.000000000000000001"),
]
_BALANCES_JSON = ",".join(f'{{"currency":"{currency}","amount":{amount}}}' for currency, amount in _BALANCES)
ACCOUNT_BODY: bytes = (
    f'{{"account":"{ACCOUNT}","name":"Main account","ownerId":"6f1c2a4e-8b3d-4e5f-9a7b-0c1d2e3f4a5b",'
    f'"balances":[{_BALANCES_JSON}]}}'
).encode()


# ------------------------------------------------------------------------------------------- baseline steps


def hand_signed() -> tuple[bytes, dict[str, str]]:
    """What a fair hand-rolled client does per call: envelope with a fresh timestamp, HMAC-SHA512, headers."""
    body = json.dumps({"account": ACCOUNT, "timestamp": int(time.time() * 1000)}, separators=(",", ":")).encode("utf-8")
    sign = hmac.new(SECRET_BYTES, body, hashlib.sha512).hexdigest()
    return body, {"Key": API_KEY, "Sign": sign, "Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ settings


@dataclass
class Settings:
    """How long to measure. ``quick`` is the smoke test: one tiny iteration of everything."""

    rounds: int = 9
    """Measured rounds per subject (subjects take turns, round by round)."""
    duration: float = 0.5
    """Seconds per throughput round."""
    cpu_calls: int = 20_000
    """Calls per round of the network-free CPU benchmark."""
    import_runs: int = 9
    concurrencies: Sequence[int] = (1, 16, 64, 256)
    threads: Sequence[int] = (1, 8)
    page_items: int = 1000
    pin: bool = True
    """Pin the server to the last CPU and the client to the others (less noise on a small machine)."""
    quick: bool = False

    @classmethod
    def tiny(cls) -> Settings:
        return cls(
            rounds=1,
            duration=0.05,
            cpu_calls=20,
            import_runs=1,
            concurrencies=(1, 4),
            threads=(1, 2),
            page_items=10,
            pin=False,
            quick=True,
        )


# ------------------------------------------------------------------------------------------------- results


@dataclass
class Result:
    """One line of the table: calypso's number, its baseline's, and the ratio between them."""

    group: str
    name: str
    value: float | None
    baseline: float | None
    unit: str
    baseline_name: str
    higher_is_better: bool
    ratio: float | None = None
    """Paired ratio value/baseline (median over rounds); computed from the medians when not given."""
    spread: tuple[float, float] | None = None
    """Lowest and highest per-round ratio."""
    target: float | None = None
    """Ratio target: ``ratio >= target`` when higher is better, ``ratio <= target`` otherwise."""
    target_absolute: float | None = None
    """Absolute target on ``value`` (import time)."""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline

    @property
    def target_text(self) -> str:
        if self.target is not None:
            return f"{'>=' if self.higher_is_better else '<='} {self.target:g}x"
        if self.target_absolute is not None:
            return f"< {self.target_absolute:g} {self.unit}"
        return ""

    @property
    def met(self) -> bool | None:
        if self.target is not None and self.ratio is not None:
            return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        if self.target_absolute is not None and self.value is not None:
            return self.value < self.target_absolute
        return None


@dataclass(frozen=True)
class Sample:
    """One measured round of one subject."""

    value: float
    """What the benchmark measures (calls/s, seconds per call, ...)."""
    cpu: float | None = None
    """Client-process CPU seconds per call in that round (``time.process_time``), when measured."""


def rotate(runs: Mapping[str, Callable[[], Sample]], rounds: int) -> dict[str, list[Sample]]:
    """Run every subject once per round, the order rotating each round (nobody always runs first or last, so
    slow drift and other load on the machine hit every subject alike); samples by subject name."""
    names = list(runs)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for i in range(rounds):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(runs[name]())
    return samples


async def arotate(runs: Mapping[str, Callable[[], Awaitable[Sample]]], rounds: int) -> dict[str, list[Sample]]:
    """:func:`rotate` for coroutines."""
    names = list(runs)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for i in range(rounds):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(await runs[name]())
    return samples


def compare(
    group: str,
    name: str,
    subject: Sequence[Sample],
    baseline: Sequence[Sample],
    *,
    unit: str,
    baseline_name: str,
    higher_is_better: bool,
    scale: float = 1.0,
    **kw: Any,
) -> Result:
    """A table line from paired rounds: medians of each side, and the median of the per-round ratios (robust to
    a round disturbed by other load: it affects both sides of that round)."""
    ratios = [s.value / b.value for s, b in zip(subject, baseline, strict=True)]
    cpu_s = [s.cpu for s in subject if s.cpu is not None]
    cpu_b = [b.cpu for b in baseline if b.cpu is not None]
    extra: dict[str, Any] = {"ratios": ratios}
    if cpu_s and cpu_b:
        extra["cpu_us_per_call"] = (statistics.median(cpu_s) * 1e6, statistics.median(cpu_b) * 1e6)
    return Result(
        group,
        name,
        statistics.median(s.value for s in subject) * scale,
        statistics.median(b.value for b in baseline) * scale,
        unit,
        baseline_name,
        higher_is_better=higher_is_better,
        ratio=statistics.median(ratios),
        spread=(min(ratios), max(ratios)),
        extra=extra,
        **kw,
    )


# -------------------------------------------------------------------------------------------------- server


class ServerProcess:
    """The canned-response server (:mod:`benchmarks.server`) in its own process, on a loopback port."""

    def __init__(self, *, cpu: int | None = None) -> None:
        self.cpu = cpu
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + ACCOUNT_PATH

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "benchmarks.server", "--port", "0"]
        if self.cpu is not None:
            cmd += ["--cpu", str(self.cpu)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # the server exits when its stdin closes
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pin_client(server_cpu: int | None) -> None:
    """Keep this process off the server's CPU."""
    if server_cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    cpus = set(os.sched_getaffinity(0)) - {server_cpu}
    if cpus:
        os.sched_setaffinity(0, cpus)


def choose_server_cpu(pin: bool) -> int | None:
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[-1] if len(cpus) >= 2 else None


# ----------------------------------------------------------------------------------------- stub transport


class CannedTransport:
    """The network removed: every request gets the same canned answer at once (``Date`` kept current)."""

    def __init__(self, body: bytes = ACCOUNT_BODY) -> None:
        from calypso_async import Response

        self._response_cls = Response
        self._body = body
        self._second = -1
        self._response: Any = None
        self.requests = 0

    async def send(self, request: Any) -> Any:
        self.requests += 1
        now = int(time.time())
        if now != self._second:
            self._second = now
            headers = {
                "Date": formatdate(now, usegmt=True),
                "Content-Type": "application/json",
                "Content-Length": str(len(self._body)),
            }
            self._response = self._response_cls(200, headers, self._body)
        return self._response

    async def aclose(self) -> None:
        return None
