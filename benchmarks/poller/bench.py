"""Rounds of 10,000 accounts through :class:`~calypso_async.poller.BalancePoller` against a 50 ms server.

Why rounds against a latency bound: with concurrency ``c`` and server latency ``L``, ``n`` polls cannot take
less than ``n * L / c`` (10,000 x 50 ms / 200 = 2.5 s). The ratio of the measured round to that bound is what
the client side costs: if the poller, the client's signing/parsing and aiohttp together need more CPU per
poll than ``L / c`` (250 us here), the round stretches beyond the bound on the one core the client has.

Set-up: the canned server (:mod:`benchmarks.poller.server`) runs in its own process, pinned to the last CPU;
this process (the client) is kept off that CPU. Every account is due at once (``first_poll_spread=0``) and
is polled again as soon as its answer is in (a tiny interval), so the poller stays saturated: round 1 is
"cold" (200 connections get opened), the following rounds are "warm". One client, its aiohttp pool sized to
the concurrency. Measured: each round's wall time (from the poll counter, sampled every 2 ms), peak RSS of
this process (``ru_maxrss``, the whole process: interpreter, aiohttp, calypso and the poller), and CPU
(user + system) per poll over the warm rounds.

``python -m benchmarks.poller`` runs the full size; ``--accounts 50 --concurrency 10 --latency 0.001`` is
the smoke test's size. ``--profile FILE`` writes a cProfile of the client process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from benchmarks._common import ACCOUNT, ACCOUNT_PATH, API_KEY, ROOT, SECRET, hand_signed

ROUND_FACTOR_TARGET = 1.15
RSS_TARGET_MB = 150.0


@dataclass
class PollerResult:
    accounts: int
    concurrency: int
    latency: float
    bound: float
    """Seconds one round cannot beat: accounts * latency / concurrency."""
    rounds: list[float] = field(default_factory=list)
    """Wall seconds of each round (round 1 is cold)."""
    warm_median: float = 0.0
    cold_factor: float = 0.0
    warm_factor: float = 0.0
    peak_rss_mb: float = 0.0
    rss_before_mb: float = 0.0
    """Peak RSS before the client and the poller existed (interpreter + imports)."""
    cpu_per_poll_us: float = 0.0
    """Client-process CPU (user + system) per poll over the warm rounds."""
    cpu_share: float = 0.0
    """CPU seconds / wall seconds over the warm rounds (1.0 = one core busy all the time)."""
    polls: int = 0
    errors: int = 0
    max_in_flight: int = 0
    cpu_round: float = 0.0
    """Client CPU seconds one warm round needs (accounts x CPU per poll): with one core to itself and no
    other limit, a round cannot be shorter than ``max(bound, cpu_round)``."""
    baseline_rounds: list[float] = field(default_factory=list)
    """The same requests through a hand-rolled aiohttp client (see :func:`baseline`): this machine's floor."""
    baseline_cpu_per_call_us: float = 0.0
    load_before: float = 0.0
    """1-minute load average when the benchmark started (other processes competing for the 2 cores)."""
    python: str = ""
    nproc: int = 0

    @property
    def met(self) -> bool:
        return (
            self.cold_factor <= ROUND_FACTOR_TARGET
            and self.warm_factor <= ROUND_FACTOR_TARGET
            and (self.peak_rss_mb < RSS_TARGET_MB)
        )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Server:
    """The latency server in its own process."""

    def __init__(self, latency: float, cpu: int | None) -> None:
        cmd = [sys.executable, "-m", "benchmarks.poller.server", "--latency", str(latency)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"poller benchmark server did not start (said {line!r})")
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"

    def close(self) -> None:
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()


async def warm_server(base_url: str, n: int) -> None:
    """A few requests first, so that neither subject meets a cold server process."""
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            body, headers = hand_signed()
            async with session.post(base_url + ACCOUNT_PATH, data=body, headers=headers) as resp:
                await resp.read()

        await asyncio.gather(*(one() for _ in range(n)))


async def baseline(base_url: str, accounts: int, concurrency: int, rounds: int) -> tuple[list[float], float]:
    """Round times and CPU per call of a fair hand-rolled client doing the same work without the SDK.

    ``concurrency`` tasks share one ``aiohttp.ClientSession`` (pool sized to the concurrency); per call: envelope
    with a fresh timestamp, HMAC-SHA512, POST, status check, ``json.loads`` with ``Decimal`` numbers. Round 1
    opens the connections, like the poller's.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    url = base_url + ACCOUNT_PATH
    times: list[float] = []
    cpu_used = 0.0
    async with aiohttp.ClientSession(connector=connector) as session:
        left = 0

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                body, headers = hand_signed()
                async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                    data = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"baseline got HTTP {resp.status}")
                json.loads(data, parse_float=Decimal)

        for number in range(rounds):
            left = accounts
            start, cpu_start = time.perf_counter(), _cpu()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            times.append(time.perf_counter() - start)
            if number > 0 or rounds == 1:
                cpu_used += _cpu() - cpu_start
    warm_rounds = max(1, rounds - 1)
    return times, cpu_used / (accounts * warm_rounds) * 1e6


async def measure(base_url: str, accounts: int, concurrency: int, latency: float, rounds: int) -> PollerResult:
    from calypso_async import AiohttpTransport, AsyncCalypso
    from calypso_async.poller import BalancePoller

    result = PollerResult(accounts, concurrency, latency, accounts * latency / concurrency)
    result.load_before = os.getloadavg()[0]
    result.rss_before_mb = _rss_mb()
    client = AsyncCalypso(
        API_KEY, SECRET, account=ACCOUNT, base_url=base_url, transport=AiohttpTransport(pool_size=concurrency)
    )
    ids = [f"0x{i:040x}" for i in range(accounts)]
    poller = BalancePoller(
        client,
        ids,
        interval=1e-6,  # re-poll as soon as the answer is in: the poller stays saturated
        jitter=0.0,
        first_poll_spread=0.0,
        concurrency=concurrency,
        timeout=30.0,
    )
    clock = time.perf_counter
    marks: list[float] = []
    cpu_marks: list[float] = []
    try:
        start = clock()
        cpu_start = _cpu()
        await poller.start()
        target = accounts
        while len(marks) < rounds:
            await asyncio.sleep(0.002)
            stats = poller.stats()
            result.max_in_flight = max(result.max_in_flight, stats.in_flight)
            while stats.polls >= target and len(marks) < rounds:
                marks.append(clock())
                cpu_marks.append(_cpu())
                target += accounts
        await poller.stop(timeout=5.0)
        stats = poller.stats()
        result.polls, result.errors = stats.polls, stats.errors
    finally:
        await poller.stop(timeout=0.0)
        await client.aclose()
    edges = [start, *marks]
    result.rounds = [b - a for a, b in itertools.pairwise(edges)]
    warm = result.rounds[1:] or result.rounds
    result.warm_median = statistics.median(warm)
    result.cold_factor = result.rounds[0] / result.bound
    result.warm_factor = result.warm_median / result.bound
    cpu_edges = [cpu_start, *cpu_marks]
    if len(marks) >= 2:
        warm_cpu = cpu_edges[-1] - cpu_edges[1]
        warm_wall = marks[-1] - marks[0]
        warm_polls = accounts * (len(marks) - 1)
    else:
        warm_cpu, warm_wall, warm_polls = cpu_edges[-1] - cpu_edges[0], marks[-1] - start, accounts
    result.cpu_per_poll_us = warm_cpu / warm_polls * 1e6
    result.cpu_share = warm_cpu / warm_wall if warm_wall > 0 else 0.0
    result.cpu_round = result.cpu_per_poll_us * accounts / 1e6
    result.peak_rss_mb = _rss_mb()  # before the baseline runs in this process
    result.python = sys.version.split()[0]
    result.nproc = os.cpu_count() or 0
    return result


def report(r: PollerResult) -> str:
    rounds = ", ".join(f"{x:.2f}" for x in r.rounds)
    return "\n".join(
        [
            f"poller: {r.accounts:,} accounts, concurrency {r.concurrency}, server latency {r.latency * 1000:g} ms "
            f"(bound {r.bound:.2f} s per round)",
            f"  rounds (s): {rounds}",
            f"  cold round: {r.rounds[0]:.2f} s = {r.cold_factor:.2f}x bound (target <= {ROUND_FACTOR_TARGET}x)",
            f"  warm round (median): {r.warm_median:.2f} s = {r.warm_factor:.2f}x bound",
            f"  peak RSS: {r.peak_rss_mb:.1f} MB (before client+poller: {r.rss_before_mb:.1f} MB; target < "
            f"{RSS_TARGET_MB:g} MB)",
            f"  CPU per poll (warm): {r.cpu_per_poll_us:.0f} us = {r.cpu_round:.2f} s of CPU per round; client CPU "
            f"busy {r.cpu_share * 100:.0f} % of wall; load average at start {r.load_before:.2f} on {r.nproc} CPUs",
            f"  polls {r.polls:,}, errors {r.errors}, max in flight {r.max_in_flight}",
            *(
                [
                    f"  baseline (hand-rolled aiohttp, same requests): rounds (s) "
                    f"{', '.join(f'{x:.2f}' for x in r.baseline_rounds)} = cold "
                    f"{r.baseline_rounds[0] / r.bound:.2f}x, warm median "
                    f"{statistics.median(r.baseline_rounds[1:] or r.baseline_rounds) / r.bound:.2f}x bound; "
                    f"CPU per call {r.baseline_cpu_per_call_us:.0f} us"
                ]
                if r.baseline_rounds
                else []
            ),
            f"  targets met: {'yes' if r.met else 'NO'}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.poller", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="server seconds per answer")
    parser.add_argument("--rounds", type=int, default=4, help="rounds to time (the first is cold)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate CPUs")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--no-baseline", action="store_true", help="skip the hand-rolled aiohttp baseline")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the client process to FILE")
    args = parser.parse_args(argv)

    cpu: int | None = None
    if not args.no_pin and hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            cpu = cpus[-1]
            os.sched_setaffinity(0, set(cpus) - {cpu})
    server = _Server(args.latency, cpu)
    try:
        asyncio.run(warm_server(server.base_url, min(args.concurrency, 200)))
        coro = measure(server.base_url, args.accounts, args.concurrency, args.latency, args.rounds)
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(asyncio.run, coro)
            profiler.dump_stats(args.profile)
        else:
            result = asyncio.run(coro)
        if not args.no_baseline:
            rounds, cpu_us = asyncio.run(baseline(server.base_url, args.accounts, args.concurrency, args.rounds))
            result.baseline_rounds, result.baseline_cpu_per_call_us = rounds, cpu_us
    finally:
        server.close()
    if args.json:
        data: dict[str, Any] = asdict(result)
        data["met"] = result.met
        print(json.dumps(data))
    else:
        print(report(result))
    return 0
