"""Rounds of many accounts through :class:`~calypso_async.poller.BalancePoller` against a latency-bound server,
side by side with a hand-rolled aiohttp client doing the same requests.

Why rounds against a latency bound: with concurrency ``c`` and server latency ``L``, ``n`` polls cannot take
less than ``n * L / c`` (10,000 x 50 ms / 200 = 2.5 s). The ratio of the measured round to that bound is what
the client side costs: if the poller, the client's signing/parsing and aiohttp together need more CPU per
poll than ``L / c`` (250 us here), the round stretches beyond the bound on the one core the client has.

Why side by side: the machine is shared, so absolute numbers move with the load. Every run alternates the
hand-rolled baseline (:func:`baseline`: same requests, envelope + HMAC + POST + ``json.loads`` with
``Decimal``) and the poller ``--repeat`` times (B P P B B P ...), and reports the median of each and the
median of the per-pair ratios. The load average is recorded before and after.

Set-up: the canned server (:mod:`benchmarks.poller.server`) runs in its own process, pinned to the last CPU;
this process (the client) is kept off that CPU. Every account is due at once (``first_poll_spread=0``) and
is polled again as soon as its answer is in (a tiny interval), so the poller stays saturated: round 1 is
"cold" (connections get opened), the following rounds are "warm". Every run starts after a full garbage
collection (no run pays for the previous one's garbage). Measured: each round's wall time (from the poll counter,
read every 10 ms, the end of a round interpolated between two reads), peak RSS of this process (``ru_maxrss``:
interpreter, aiohttp, calypso, the poller and its snapshots), CPU (user + system, all threads) per poll over the
warm rounds. With
``--store sqlite`` the poller keeps its snapshots in a fresh ``SQLiteStore`` and the store's own CPU (its
worker thread's) is reported as a share of the client's CPU over the whole run (the cold round writes every
account's baseline; warm rounds change nothing, so they write nothing).

``python -m benchmarks.poller`` runs the full size; ``--accounts 100000 --store sqlite`` the big one;
``--profile FILE`` writes a cProfile of the client process (one poller run, no baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks._common import ACCOUNT, ACCOUNT_PATH, API_KEY, ROOT, SECRET, hand_signed

COLD_TARGET = 1.10
"""Cold round at most this many times the bound."""
WARM_TARGET = 1.05
"""Warm rounds (median) at most this many times the bound."""
CPU_RATIO_TARGET = 1.10
"""Client CPU per poll at most this many times the baseline's CPU per call."""
RSS_TARGET_MB = 150.0
RSS_TARGET_BIG_MB = 250.0
"""Peak RSS target from 50,000 accounts up (the 100,000-account run with ``SQLiteStore``)."""
STORE_SHARE_TARGET = 0.10
SAMPLE_EVERY = 0.01
"""Seconds between two reads of the poller's counters: the end of a round is interpolated between them, so that
reading the counters (which the baseline does not do) costs the measured client little."""


@dataclass
class PollerResult:
    accounts: int
    concurrency: int
    latency: float
    bound: float
    """Seconds one round cannot beat: accounts * latency / concurrency."""
    rounds: list[float] = field(default_factory=list)
    """Wall seconds of each round of the median poller run (round 1 is cold)."""
    warm_median: float = 0.0
    cold_factor: float = 0.0
    warm_factor: float = 0.0
    peak_rss_mb: float = 0.0
    rss_before_mb: float = 0.0
    """Peak RSS before the client and the poller existed (interpreter + imports)."""
    cpu_per_poll_us: float = 0.0
    """Client-process CPU (user + system) per poll over the warm rounds (median of the runs)."""
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
    cpu_ratio: float = 0.0
    """Median over the pairs of (poller CPU per poll / baseline CPU per call)."""
    cold_vs_baseline: float = 0.0
    warm_vs_baseline: float = 0.0
    """Poller round / baseline round (cold; warm median), medians over the pairs: the loaded-machine view."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Every run in order: ``{"kind": "poller"|"baseline", "rounds": [...], "cpu_us": ...}``."""
    store: str = "memory"
    store_cpu_share: float = 0.0
    """The store's CPU / the client's CPU over the whole poller run (``--store sqlite``)."""
    store_cpu_per_poll_us: float = 0.0
    load_before: float = 0.0
    """1-minute load average when the benchmark started (other processes competing for the CPUs)."""
    load_after: float = 0.0
    python: str = ""
    nproc: int = 0

    @property
    def rss_target(self) -> float:
        return RSS_TARGET_BIG_MB if self.accounts >= 50_000 else RSS_TARGET_MB

    @property
    def met(self) -> bool:
        return (
            self.cold_factor <= COLD_TARGET
            and self.warm_factor <= WARM_TARGET
            and self.peak_rss_mb < self.rss_target
            and (not self.cpu_ratio or self.cpu_ratio <= CPU_RATIO_TARGET)
            and (self.store == "memory" or self.store_cpu_share < STORE_SHARE_TARGET)
        )


@dataclass
class _Run:
    rounds: list[float]
    cpu_per_poll_us: float
    cpu_share: float
    polls: int = 0
    errors: int = 0
    max_in_flight: int = 0
    store_cpu: float = 0.0
    cpu_total: float = 0.0


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


async def baseline(base_url: str, accounts: int, concurrency: int, rounds: int) -> _Run:
    """Round times and CPU per call of a fair hand-rolled client doing the same work without the SDK.

    ``concurrency`` tasks share one ``aiohttp.ClientSession`` (pool sized to the concurrency); per call: envelope
    with a fresh timestamp, HMAC-SHA512, POST, status check, ``json.loads`` with ``Decimal`` numbers. Round 1
    opens the connections, like the poller's.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    url = base_url + ACCOUNT_PATH
    times: list[float] = []
    cpu_used = wall_used = 0.0
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
                wall_used += times[-1]
    warm_rounds = max(1, rounds - 1)
    return _Run(times, cpu_used / (accounts * warm_rounds) * 1e6, cpu_used / wall_used if wall_used else 0.0)


async def measure(base_url: str, accounts: int, concurrency: int, rounds: int, store_path: str | None = None) -> _Run:
    """One poller run: ``rounds`` rounds of every account, with a fresh client (and store, if any)."""
    from calypso_async import AiohttpTransport, AsyncCalypso
    from calypso_async.poller import BalancePoller, SQLiteStore

    client = AsyncCalypso(
        API_KEY, SECRET, account=ACCOUNT, base_url=base_url, transport=AiohttpTransport(pool_size=concurrency)
    )
    store = SQLiteStore(store_path) if store_path else None
    ids = [f"0x{i:040x}" for i in range(accounts)]
    poller = BalancePoller(
        client,
        ids,
        interval=1e-6,  # re-poll as soon as the answer is in: the poller stays saturated
        jitter=0.0,
        first_poll_spread=0.0,
        concurrency=concurrency,
        timeout=30.0,
        store=store,
    )
    del ids
    clock = time.perf_counter
    marks: list[float] = []
    cpu_marks: list[float] = []
    max_in_flight = 0
    try:
        start = clock()
        cpu_start = _cpu()
        await poller.start()
        target = accounts
        before = (start, cpu_start, 0)
        while len(marks) < rounds:
            await asyncio.sleep(SAMPLE_EVERY)
            stats = poller.stats()
            now = (clock(), _cpu(), stats.polls)
            max_in_flight = max(max_in_flight, stats.in_flight)
            while now[2] >= target and len(marks) < rounds:
                # Where the poll count crossed the round's end, between two samples (polls run at a steady rate).
                share = (target - before[2]) / (now[2] - before[2])
                marks.append(before[0] + share * (now[0] - before[0]))
                cpu_marks.append(before[1] + share * (now[1] - before[1]))
                target += accounts
            before = now
        await poller.stop(timeout=5.0)
        cpu_total = _cpu() - cpu_start
        stats = poller.stats()
    finally:
        await poller.stop(timeout=0.0)
        await client.aclose()
    edges = [start, *marks]
    round_times = [b - a for a, b in itertools.pairwise(edges)]
    cpu_edges = [cpu_start, *cpu_marks]
    if len(marks) >= 2:
        warm_cpu = cpu_edges[-1] - cpu_edges[1]
        warm_wall = marks[-1] - marks[0]
        warm_polls = accounts * (len(marks) - 1)
    else:
        warm_cpu, warm_wall, warm_polls = cpu_edges[-1] - cpu_edges[0], marks[-1] - start, accounts
    run = _Run(
        round_times,
        warm_cpu / warm_polls * 1e6,
        warm_cpu / warm_wall if warm_wall > 0 else 0.0,
        polls=stats.polls,
        errors=stats.errors,
        max_in_flight=max_in_flight,
        cpu_total=cpu_total,
    )
    if store is not None:
        run.store_cpu = store.cpu_seconds
    return run


def run_all(
    base_url: str,
    accounts: int,
    concurrency: int,
    latency: float,
    rounds: int,
    repeat: int,
    *,
    with_baseline: bool = True,
    store: str = "memory",
) -> PollerResult:
    """Alternate baseline and poller runs (B P P B B P ...) and summarise them with medians."""
    result = PollerResult(accounts, concurrency, latency, accounts * latency / concurrency)
    result.load_before = os.getloadavg()[0]
    result.rss_before_mb = _rss_mb()
    result.store = store
    pollers: list[_Run] = []
    baselines: list[_Run] = []
    with tempfile.TemporaryDirectory(prefix="calypso-poller-bench-") as tmp:
        for pair in range(repeat):
            order = ("baseline", "poller") if pair % 2 == 0 else ("poller", "baseline")
            for kind in order:
                # Every run starts from the same heap: the previous run's garbage (a poller, its 10,000 watches and
                # the client are reference cycles) would otherwise be traversed by the next run's collections.
                gc.collect()
                if kind == "baseline":
                    if with_baseline:
                        run = asyncio.run(baseline(base_url, accounts, concurrency, rounds))
                        baselines.append(run)
                        result.runs.append({"kind": kind, "rounds": run.rounds, "cpu_us": run.cpu_per_poll_us})
                    continue
                path = str(Path(tmp) / f"snapshots-{pair}.db") if store == "sqlite" else None
                run = asyncio.run(measure(base_url, accounts, concurrency, rounds, path))
                pollers.append(run)
                result.runs.append({"kind": kind, "rounds": run.rounds, "cpu_us": run.cpu_per_poll_us})
    result.peak_rss_mb = _rss_mb()
    result.load_after = os.getloadavg()[0]
    _summarise(result, pollers, baselines)
    result.python = sys.version.split()[0]
    result.nproc = os.cpu_count() or 0
    return result


def _warm(rounds: list[float]) -> float:
    return statistics.median(rounds[1:] or rounds)


def _summarise(result: PollerResult, pollers: list[_Run], baselines: list[_Run]) -> None:
    bound = result.bound
    median_run = sorted(pollers, key=lambda r: r.cpu_per_poll_us)[len(pollers) // 2]
    result.rounds = median_run.rounds
    result.cold_factor = statistics.median(r.rounds[0] for r in pollers) / bound
    result.warm_median = statistics.median(_warm(r.rounds) for r in pollers)
    result.warm_factor = result.warm_median / bound
    result.cpu_per_poll_us = statistics.median(r.cpu_per_poll_us for r in pollers)
    result.cpu_share = statistics.median(r.cpu_share for r in pollers)
    result.cpu_round = result.cpu_per_poll_us * result.accounts / 1e6
    result.polls, result.errors = median_run.polls, sum(r.errors for r in pollers)
    result.max_in_flight = max(r.max_in_flight for r in pollers)
    if result.store != "memory":
        result.store_cpu_share = statistics.median(r.store_cpu / r.cpu_total for r in pollers if r.cpu_total)
        result.store_cpu_per_poll_us = statistics.median(
            r.store_cpu / (result.accounts * len(r.rounds)) * 1e6 for r in pollers
        )
    if baselines:
        result.baseline_rounds = sorted(baselines, key=lambda r: r.cpu_per_poll_us)[len(baselines) // 2].rounds
        result.baseline_cpu_per_call_us = statistics.median(r.cpu_per_poll_us for r in baselines)
        pairs = list(zip(pollers, baselines, strict=False))
        result.cpu_ratio = statistics.median(p.cpu_per_poll_us / b.cpu_per_poll_us for p, b in pairs)
        result.cold_vs_baseline = statistics.median(p.rounds[0] / b.rounds[0] for p, b in pairs)
        result.warm_vs_baseline = statistics.median(_warm(p.rounds) / _warm(b.rounds) for p, b in pairs)


def report(r: PollerResult) -> str:
    rounds = ", ".join(f"{x:.2f}" for x in r.rounds)
    lines = [
        f"poller: {r.accounts:,} accounts, concurrency {r.concurrency}, server latency {r.latency * 1000:g} ms "
        f"(bound {r.bound:.2f} s per round), store {r.store}; {len([x for x in r.runs if x['kind'] == 'poller'])} "
        f"poller run(s)",
        f"  rounds (s): {rounds}",
        f"  cold round: {r.cold_factor:.2f}x bound (target <= {COLD_TARGET}x)",
        f"  warm round (median): {r.warm_median:.2f} s = {r.warm_factor:.2f}x bound (target <= {WARM_TARGET}x)",
        f"  peak RSS: {r.peak_rss_mb:.1f} MB (before client+poller: {r.rss_before_mb:.1f} MB; target < "
        f"{r.rss_target:g} MB)",
        f"  CPU per poll (warm): {r.cpu_per_poll_us:.0f} us = {r.cpu_round:.2f} s of CPU per round; client CPU "
        f"busy {r.cpu_share * 100:.0f} % of wall",
        f"  polls {r.polls:,}, errors {r.errors}, max in flight {r.max_in_flight}",
    ]
    if r.store != "memory":
        lines.append(
            f"  store: {r.store_cpu_share * 100:.1f} % of the client's CPU over the run, "
            f"{r.store_cpu_per_poll_us:.1f} us per poll (target < {STORE_SHARE_TARGET * 100:g} %)"
        )
    if r.baseline_rounds:
        lines.append(
            f"  baseline (hand-rolled aiohttp, same requests): rounds (s) "
            f"{', '.join(f'{x:.2f}' for x in r.baseline_rounds)} = cold {r.baseline_rounds[0] / r.bound:.2f}x, "
            f"warm median {_warm(r.baseline_rounds) / r.bound:.2f}x bound; CPU per call "
            f"{r.baseline_cpu_per_call_us:.0f} us"
        )
        lines.append(
            f"  poller / baseline: CPU {r.cpu_ratio:.2f}x (target <= {CPU_RATIO_TARGET}x), cold round "
            f"{r.cold_vs_baseline:.2f}x, warm round {r.warm_vs_baseline:.2f}x"
        )
    lines.append(f"  load average {r.load_before:.2f} before, {r.load_after:.2f} after, on {r.nproc} CPUs")
    lines.append(f"  targets met: {'yes' if r.met else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.poller", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="server seconds per answer")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per run (the first is cold)")
    parser.add_argument("--repeat", type=int, default=3, help="poller runs, alternating with baseline runs")
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory", help="the poller's store")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate CPUs")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--no-baseline", action="store_true", help="skip the hand-rolled aiohttp baseline")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of one poller run to FILE")
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
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.runcall(asyncio.run, measure(server.base_url, args.accounts, args.concurrency, args.rounds))
            profiler.dump_stats(args.profile)
            return 0
        result = run_all(
            server.base_url,
            args.accounts,
            args.concurrency,
            args.latency,
            args.rounds,
            max(1, args.repeat),
            with_baseline=not args.no_baseline,
            store=args.store,
        )
    finally:
        server.close()
    if args.json:
        data: dict[str, Any] = asdict(result)
        data["met"] = result.met
        print(json.dumps(data))
    else:
        print(report(result))
    return 0
