"""Soak: many calls through the async client and the sync facade against the fake server with 1 % faults.

    python -m benchmarks.soak --async-calls 100000 --sync-calls 20000

What it checks (and prints as JSON with the machine, command and date):

* every call either returns its own result or raises a ``CalypsoError`` (anything else is a failure);
* memory is flat: RSS and ``tracemalloc`` after the warm-up (the first 10 % of calls) against the end;
* nothing leaks: open file descriptors (``/proc/self/fd``), asyncio tasks and threads are back to their
  warm-up level once the calls are done, and back to the start once the client is closed;
* no duplicates: every create carries a unique external id, and the server (a separate process, see
  :mod:`benchmarks.soak.server`) must hold at most one object per external id.

The call mix per 10 calls: 6 ``account.get``, 2 ``invoices.create_single``, 1 ``invoices.get``, 1
``payouts.create``; clients use ``max_retries=3`` and a no-op sleep (the soak is about resources, not backoff).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from calypso_async import AsyncCalypso, CalypsoError, RetryPolicy

ADDRESS = "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def no_sleep(_: float) -> None:
    return None


# ------------------------------------------------------------------------------------------- the server


class ServerProcess:
    """``benchmarks.soak.server`` in a child process; ``stats()`` asks its control endpoint."""

    def __init__(self, fault_rate: float, seed: int, delay: float) -> None:
        cmd = [sys.executable, "-m", "benchmarks.soak.server", "--fault-rate", str(fault_rate), "--seed", str(seed)]
        cmd += ["--delay", str(delay)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("the soak server did not start")
        self.info: dict[str, Any] = json.loads(line)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.info["control_url"] + "/stats", timeout=30) as answer:
            data: dict[str, Any] = json.loads(answer.read())
        return data

    def client_options(self, **kw: Any) -> dict[str, Any]:
        options = {
            "api_key": self.info["api_key"],
            "secret_key": self.info["secret_key"],
            "account": self.info["accounts"][0],
            "base_url": self.info["base_url"],
            "retry_policy": RetryPolicy(max_retries=3, sleep=no_sleep),
            "timeout": 1.5,
        }
        options.update(kw)
        return options

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def server_process(fault_rate: float = 0.01, seed: int = 1, delay: float = 3.0) -> Iterator[ServerProcess]:
    server = ServerProcess(fault_rate, seed, delay)
    try:
        yield server
    finally:
        server.close()


# ------------------------------------------------------------------------------------------ measurements


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def snapshot(tasks: int | None = None) -> dict[str, Any]:
    gc.collect()
    shot: dict[str, Any] = {"rss": rss_bytes(), "fds": open_fds(), "threads": threading.active_count()}
    if tracemalloc.is_tracing():
        shot["traced"] = tracemalloc.get_traced_memory()[0]
    if tasks is not None:
        shot["tasks"] = tasks
    return shot


class Tally:
    def __init__(self) -> None:
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.unexpected: list[str] = []
        # Counters, not lists of ids: the soak measures memory, so its own bookkeeping must not grow per call.
        self.tried = 0  # creates tried
        self.created = 0  # creates that returned their object
        self.wrong: list[str] = []  # answers that were not the caller's own (kept: each one is a failure)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcomes": dict(self.outcomes),
            "unexpected": self.unexpected[:10],
            "wrong_answers": self.wrong[:10],
            "creates_tried": self.tried,
            "creates_returned": self.created,
        }


def plan(i: int) -> str:
    slot = i % 10
    if slot < 6:
        return "account.get"
    if slot < 8:
        return "invoices.create_single"
    if slot == 8:
        return "invoices.get"
    return "payouts.create"


def amount_for(i: int) -> Decimal:
    return Decimal("0.001") + Decimal(i % 100_000) / Decimal(10**6)  # 6 places: USDT_TRX allows no more


# --------------------------------------------------------------------------------------------- async


async def async_call(client: AsyncCalypso, i: int, tag: str, tally: Tally, last_invoice: list[str]) -> None:
    kind = plan(i)
    try:
        if kind == "account.get":
            account = await client.account.get()
            if account.account != client.account_id:
                tally.wrong.append(f"{i}: account {account.account}")
        elif kind == "invoices.create_single":
            ext = f"{tag}-inv-{i}"
            tally.tried += 1
            amount = amount_for(i)
            invoice = await client.invoices.create_single(
                amount=amount, currency="ETH", description="soak", external_id=ext
            )
            tally.created += 1
            if invoice.external_id != ext or invoice.amount != amount:
                tally.wrong.append(f"{i}: invoice {invoice.external_id} {invoice.amount}")
            if invoice.id:
                last_invoice[:] = [invoice.id]
        elif kind == "invoices.get":
            if last_invoice:
                wanted = last_invoice[0]
                invoice = await client.invoices.get(id=wanted)
                if invoice.id != wanted:
                    tally.wrong.append(f"{i}: invoice.get {invoice.id} != {wanted}")
            else:
                await client.account.get()
        else:
            ext = f"{tag}-pay-{i}"
            tally.tried += 1
            amount = amount_for(i)
            payout = await client.payouts.create(
                deposit_address=ADDRESS, amount=amount, currency="USDT_TRX", external_id=ext
            )
            tally.created += 1
            if payout.amount != amount:
                tally.wrong.append(f"{i}: payout {payout.amount} != {amount}")
        tally.outcomes["ok"] += 1
    except CalypsoError as exc:
        tally.outcomes[type(exc).__name__] += 1
    except Exception as exc:  # the soak's whole point: nothing but CalypsoError may escape
        tally.outcomes["UNEXPECTED " + type(exc).__name__] += 1
        tally.unexpected.append(f"{i} {kind}: {type(exc).__name__}: {exc}")


async def async_soak(server: ServerProcess, calls: int, concurrency: int = 16, tag: str = "a") -> dict[str, Any]:
    tally = Tally()
    start = snapshot(tasks=len(asyncio.all_tasks()))
    checkpoints: list[dict[str, Any]] = []
    warm_at = max(1, calls // 10)
    step = max(1, calls // 10)
    counter = iter(range(calls))
    last_invoice: list[str] = []
    begun = time.perf_counter()
    async with AsyncCalypso(**server.client_options()) as client:

        async def worker() -> None:
            for i in counter:
                await async_call(client, i, tag, tally, last_invoice)
                done = i + 1
                if done % step == 0 or done == warm_at:
                    shot = snapshot(tasks=len(asyncio.all_tasks()))
                    shot["calls"] = done
                    checkpoints.append(shot)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        after_calls = snapshot(tasks=len(asyncio.all_tasks()))
        clock_offset = client.clock_offset
    await asyncio.sleep(0)
    closed = snapshot(tasks=len(asyncio.all_tasks()))
    return {
        "calls": calls,
        "concurrency": concurrency,
        "seconds": round(time.perf_counter() - begun, 1),
        "clock_offset_s": round(clock_offset, 3),
        "start": start,
        "checkpoints": sorted(checkpoints, key=lambda c: c["calls"]),
        "after_calls": after_calls,
        "after_close": closed,
        "tag": tag,
        **tally.as_dict(),
    }


# ---------------------------------------------------------------------------------------------- sync


def sync_soak(server: ServerProcess, calls: int, threads: int = 4, tag: str = "s") -> dict[str, Any]:
    from calypso_sync import Calypso

    # The facade's loop thread (the "portal") is process-wide and starts with the first client: start it
    # before the baseline, so that what is measured is this client's lifecycle.
    with Calypso(**server.client_options()) as warm:
        warm.account.get()
    tally = Tally()
    start = snapshot()
    checkpoints: list[dict[str, Any]] = []
    lock = threading.Lock()
    counter = iter(range(calls))
    warm_at = max(1, calls // 10)
    step = max(1, calls // 10)
    last_invoice: list[str] = []
    begun = time.perf_counter()
    client = Calypso(**server.client_options())
    errors: list[BaseException] = []

    def next_index() -> int | None:
        with lock:
            return next(counter, None)

    def call(i: int) -> None:
        # Same mix and checks as the async soak, through the sync facade.
        kind = plan(i)
        try:
            if kind == "account.get":
                account = client.account.get()
                if account.account != client.account_id:
                    tally.wrong.append(f"{i}: account {account.account}")
            elif kind == "invoices.create_single":
                ext = f"{tag}-inv-{i}"
                with lock:
                    tally.tried += 1
                amount = amount_for(i)
                invoice = client.invoices.create_single(
                    amount=amount, currency="ETH", description="soak", external_id=ext
                )
                with lock:
                    tally.created += 1
                if invoice.external_id != ext or invoice.amount != amount:
                    tally.wrong.append(f"{i}: invoice {invoice.external_id} {invoice.amount}")
                if invoice.id:
                    last_invoice[:] = [invoice.id]
            elif kind == "invoices.get" and last_invoice:
                wanted = last_invoice[0]
                got = client.invoices.get(id=wanted)
                if got.id != wanted:
                    tally.wrong.append(f"{i}: invoice.get {got.id} != {wanted}")
            elif kind == "invoices.get":
                client.account.get()
            else:
                ext = f"{tag}-pay-{i}"
                with lock:
                    tally.tried += 1
                amount = amount_for(i)
                payout = client.payouts.create(
                    deposit_address=ADDRESS, amount=amount, currency="USDT_TRX", external_id=ext
                )
                with lock:
                    tally.created += 1
                if payout.amount != amount:
                    tally.wrong.append(f"{i}: payout {payout.amount} != {amount}")
            with lock:
                tally.outcomes["ok"] += 1
        except CalypsoError as exc:
            with lock:
                tally.outcomes[type(exc).__name__] += 1
        except Exception as exc:
            with lock:
                tally.outcomes["UNEXPECTED " + type(exc).__name__] += 1
                tally.unexpected.append(f"{i} {kind}: {type(exc).__name__}: {exc}")

    def worker() -> None:
        try:
            while (i := next_index()) is not None:
                call(i)
                done = i + 1
                if done % step == 0 or done == warm_at:
                    shot = snapshot()
                    shot["calls"] = done
                    with lock:
                        checkpoints.append(shot)
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        pool = [threading.Thread(target=worker, name=f"soak-{n}") for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        after_calls = snapshot()
        clock_offset = client.clock_offset
    finally:
        client.close()
    closed = snapshot()
    if errors:
        raise errors[0]
    return {
        "calls": calls,
        "threads": threads,
        "seconds": round(time.perf_counter() - begun, 1),
        "clock_offset_s": round(clock_offset, 3),
        "start": start,
        "checkpoints": sorted(checkpoints, key=lambda c: c["calls"]),
        "after_calls": after_calls,
        "after_close": closed,
        "tag": tag,
        **tally.as_dict(),
    }


# ------------------------------------------------------------------------------------------- verdict


def growth(phase: dict[str, Any], key: str) -> int:
    """``key`` at the end of the calls minus at the end of the warm-up checkpoint."""
    warm = phase["checkpoints"][0]
    return int(phase["after_calls"].get(key, 0)) - int(warm.get(key, 0))


def check_server(phase: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    prefix = phase["tag"] + "-"
    duplicates = {ext: n for ext, n in stats["duplicates"].items() if ext.startswith(prefix)}
    return {"duplicates": duplicates, "objects_with_external_id": stats["objects_with_external_id"]}


def verdict(phase: dict[str, Any], rss_bound: int, traced_bound: int, fd_slack: int = 2) -> list[str]:
    """Problems found in one phase (empty: it passed)."""
    problems = []
    if phase["unexpected"]:
        problems.append(f"non-CalypsoError exceptions: {phase['unexpected'][:3]}")
    if phase["wrong_answers"]:
        problems.append(f"answers that were not the caller's: {phase['wrong_answers'][:3]}")
    if phase["server"]["duplicates"]:
        problems.append(f"duplicates on the server: {list(phase['server']['duplicates'].items())[:3]}")
    if growth(phase, "rss") > rss_bound:
        problems.append(f"RSS grew by {growth(phase, 'rss') / 2**20:.1f} MiB after warm-up")
    if "traced" in phase["after_calls"] and growth(phase, "traced") > traced_bound:
        problems.append(f"traced memory grew by {growth(phase, 'traced') / 2**20:.1f} MiB after warm-up")
    if phase["after_close"]["fds"] > phase["start"]["fds"] + fd_slack:
        problems.append(f"open fds: {phase['start']['fds']} at start, {phase['after_close']['fds']} after close")
    if phase["after_calls"]["fds"] > phase["checkpoints"][0]["fds"] + fd_slack + 16:
        problems.append("open fds grew during the run")
    if phase["after_close"]["threads"] > phase["start"]["threads"]:
        problems.append(f"threads: {phase['start']['threads']} at start, {phase['after_close']['threads']} after")
    if phase["after_close"].get("tasks", 1) > 1:
        problems.append(f"{phase['after_close']['tasks']} asyncio tasks left after close")
    return problems


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def run(
    async_calls: int,
    sync_calls: int,
    *,
    fault_rate: float = 0.01,
    seed: int = 1,
    concurrency: int = 16,
    threads: int = 4,
    trace: bool = True,
    delay: float = 3.0,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    if trace:
        tracemalloc.start()
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "fault_rate": fault_rate,
        "seed": seed,
        "tracemalloc": trace,
    }
    try:
        with server_process(fault_rate, seed, delay) as server:
            if async_calls:
                log(f"async soak: {async_calls} calls, {concurrency} tasks")
                phase = asyncio.run(async_soak(server, async_calls, concurrency))
                phase["server"] = check_server(phase, server.stats())
                report["async"] = phase
            if sync_calls:
                log(f"sync soak: {sync_calls} calls, {threads} threads")
                phase = sync_soak(server, sync_calls, threads)
                phase["server"] = check_server(phase, server.stats())
                report["sync"] = phase
            report["server_stats"] = {k: v for k, v in server.stats().items() if k != "duplicates"}
    finally:
        if trace:
            tracemalloc.stop()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--async-calls", type=int, default=100_000)
    parser.add_argument("--sync-calls", type=int, default=20_000)
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16, help="async tasks sharing the client")
    parser.add_argument("--threads", type=int, default=4, help="threads sharing the sync client")
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (faster)")
    parser.add_argument("--rss-bound-mib", type=float, default=32.0)
    parser.add_argument("--traced-bound-mib", type=float, default=8.0)
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    report = run(
        args.async_calls,
        args.sync_calls,
        fault_rate=args.fault_rate,
        seed=args.seed,
        concurrency=args.concurrency,
        threads=args.threads,
        trace=not args.no_tracemalloc,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    report["command"] = "python -m benchmarks.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    problems: dict[str, list[str]] = {}
    for name in ("async", "sync"):
        if name in report:
            found = verdict(report[name], int(args.rss_bound_mib * 2**20), int(args.traced_bound_mib * 2**20))
            report[name]["problems"] = found
            if found:
                problems[name] = found
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
