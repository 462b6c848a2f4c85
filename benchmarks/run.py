"""Run every benchmark and print one table: ``python -m benchmarks`` (``--help`` for options)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from benchmarks import bench_async, bench_cpu, bench_import, bench_structure, bench_sync
from benchmarks._common import ROOT, Result, ServerProcess, Settings, choose_server_cpu, pin_client

Bench = Callable[[Settings, "ServerProcess | None"], list[Result]]

BENCHMARKS: dict[str, tuple[Bench, bool]] = {
    # name: (run, needs the canned server)
    "async": (bench_async.run, True),
    "sync": (bench_sync.run, True),
    "cpu": (bench_cpu.run, False),
    "structure": (bench_structure.run, False),
    "import": (bench_import.run, False),
}


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import aiohttp

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {
        "load": f"{load:.2f}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "aiohttp": aiohttp.__version__,
        "commit": commit,
    }


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "calls/s":
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def table(results: Sequence[Result]) -> str:
    lines = [
        "| Benchmark | calypso | Baseline | Ratio (range over rounds) | Target | Met | Client CPU per call |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.ratio is None:
            ratio = "n/a"
        elif r.spread is not None:
            ratio = f"**{r.ratio:.2f}x** ({r.spread[0]:.2f}–{r.spread[1]:.2f})"
        else:
            ratio = f"**{r.ratio:.2f}x**"
        met = {True: "yes", False: "**NO**", None: ""}[r.met]
        calypso = _number(r.value, r.unit)
        if r.note:
            calypso += f" ({r.note})"
        cpu = r.extra.get("cpu_us_per_call")
        cpu_text = f"{cpu[0]:.0f} vs {cpu[1]:.0f} µs" if cpu else ""
        lines.append(
            f"| {r.name} | {calypso} | {_number(r.baseline, r.unit)} {r.baseline_name} | {ratio} | "
            f"{r.target_text} | {met} | {cpu_text} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run the calypso benchmarks.")
    parser.add_argument(
        "only", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--rounds", type=int, default=Settings.rounds, help="measured rounds per subject")
    parser.add_argument("--duration", type=float, default=Settings.duration, help="seconds per throughput round")
    parser.add_argument("--quick", action="store_true", help="one tiny iteration of everything (smoke test)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate CPUs")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args(argv)

    settings = Settings.tiny() if args.quick else Settings(rounds=args.rounds, duration=args.duration)
    if args.no_pin:
        settings.pin = False
    names = list(args.only) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    info = machine()
    print(
        f"calypso benchmarks, {info['date']}: {info['nproc']} CPUs ({info['cpu']}), {info['python']}, "
        f"aiohttp {info['aiohttp']}, commit {info['commit']}",
        flush=True,
    )
    if float(info["load"]) > 0.5:
        print(
            f"warning: load average {info['load']} before starting: other work shares these CPUs, so throughput "
            "will be low and noisy (the ratios and the CPU-per-call column suffer less)",
            flush=True,
        )
    started = time.perf_counter()
    results: list[Result] = []
    server: ServerProcess | None = None
    server_cpu = choose_server_cpu(settings.pin)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if any(BENCHMARKS[n][1] for n in names):
            server = ServerProcess(cpu=server_cpu).start()
            pin_client(server_cpu)
            print(
                f"canned server on port {server.port}"
                + (f", pinned to CPU {server_cpu}; client on the others" if server_cpu is not None else ""),
                flush=True,
            )
        for name in names:
            run, needs_server = BENCHMARKS[name]
            t0 = time.perf_counter()
            print(f"running {name} ...", end=" ", flush=True)
            results.extend(run(settings, server if needs_server else None))
            print(f"{time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        if server is not None:
            server.stop()
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
    print()
    print(table(results))
    command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    print(f"\ntotal {time.perf_counter() - started:.0f} s; command: {command}")
    if args.json:
        payload: dict[str, Any] = {
            "machine": info,
            "settings": asdict(settings),
            "results": [asdict(r) for r in results],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2, default=str)
    return 0
