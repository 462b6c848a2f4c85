"""The soak's server process: ``FakeCalypso`` with a steady rate of random faults, plus a control endpoint.

Run by :mod:`benchmarks.soak.soak` as ``python -m benchmarks.soak.server --fault-rate 0.01 --seed 1``. It prints one
JSON line (base URL, control URL, keys, accounts) and serves until stdin closes. The server lives in its own
process so that the soak's memory, socket and thread figures are the client's alone.

Faults: on every path (``"*"``), a random fault once every ``1 / rate`` requests on average (gaps are spacer
faults that do nothing: a zero clock jump). The mix is the fault matrix's recoverable kinds plus server clock
jumps of ±250 s (beyond the ±180 s window; a jump out is later followed by the jump back).

Control: ``GET /stats`` answers the request count, HTTP statuses, faults served, objects stored, and the
external ids held by more than one object (duplicates; must be none).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sys
from decimal import Decimal
from typing import Any

from aiohttp import web

from calypso_async.testing import FakeCalypso, Fault

FAULT_MIX: list[tuple[str, int]] = [
    ("drop", 10),
    ("drop_after_processing", 10),
    ("truncated", 10),
    ("malformed", 10),
    ("empty", 10),
    ("status503", 10),
    ("status429", 10),
    ("html502", 10),
    ("delay", 3),
    ("skew", 5),
]


class FaultFeeder:
    """Keeps the server's ``"*"`` fault queue topped up with spacers and random faults."""

    def __init__(self, server: FakeCalypso, rate: float, seed: int, delay: float) -> None:
        self.server = server
        self.rate = rate
        self.rng = random.Random(seed)
        self.delay = delay
        self.skewed = False
        self.queued_hits = 0
        self.schedule: list[tuple[int, str]] = []  # (request number at which the fault acts, kind)
        kinds, weights = zip(*FAULT_MIX, strict=True)
        self.kinds: list[str] = list(kinds)
        self.weights: list[int] = list(weights)

    def fault(self, kind: str) -> Fault:
        if kind == "drop":
            return Fault.drop()
        if kind == "drop_after_processing":
            return Fault.drop_after_processing()
        if kind == "truncated":
            return Fault.truncated()
        if kind == "malformed":
            return Fault.malformed(b'{"trunc')
        if kind == "empty":
            return Fault.empty()
        if kind == "status503":
            return Fault.status(503)
        if kind == "status429":
            return Fault.status(429, retry_after=0)
        if kind == "html502":
            return Fault.html(502)
        if kind == "delay":
            return Fault.delay(self.delay)
        if kind == "skew":
            self.skewed = not self.skewed
            return Fault.skew_jump(250.0 if self.skewed else -250.0)
        raise ValueError(kind)

    def top_up(self, target: int = 20_000) -> None:
        while self.server.pending_faults < target:
            gap = max(0, round(self.rng.expovariate(self.rate) - 1))
            if gap:
                self.server.inject("*", Fault.skew_jump(0.0, times=gap))
            kind = self.rng.choices(self.kinds, self.weights)[0]
            self.queued_hits += gap + 1
            self.schedule.append((self.queued_hits, kind))
            self.server.inject("*", self.fault(kind))

    def served(self) -> dict[str, int]:
        """Faults that have acted so far, by kind."""
        consumed = self.queued_hits - self.server.pending_faults
        return dict(collections.Counter(kind for at, kind in self.schedule if at <= consumed))

    async def run(self) -> None:
        while True:
            self.top_up()
            await asyncio.sleep(0.2)


def stats(server: FakeCalypso, feeder: FaultFeeder) -> dict[str, Any]:
    state = server.state
    by_external: collections.Counter[str] = collections.Counter()
    for store in (state.invoices, state.payouts, state.customers):
        for record in store.values():
            ext = record.data.get("externalId")
            if ext:
                by_external[str(ext)] += 1
    statuses = collections.Counter(str(r.status) for r in server.requests)
    return {
        "requests": len(server.requests),
        "statuses": dict(statuses),
        "faults_served": feeder.served(),
        "invoices": len(state.invoices),
        "payouts": len(state.payouts),
        "objects_with_external_id": len(by_external),
        "duplicates": {ext: n for ext, n in by_external.items() if n > 1},
    }


async def serve(args: argparse.Namespace) -> None:
    server = FakeCalypso(seed=args.seed)
    await server.start()
    for account in server.accounts:
        for currency in ("USDT_TRX", "ETH", "TRX", "BTC"):
            server.set_balance(account, currency, Decimal("1000000000"))
    feeder = FaultFeeder(server, args.fault_rate, args.seed, args.delay)
    feeder.top_up()
    feeding = asyncio.create_task(feeder.run())

    async def handle_stats(request: web.Request) -> web.Response:
        return web.json_response(stats(server, feeder))

    control = web.Application()
    control.router.add_get("/stats", handle_stats)
    runner = web.AppRunner(control, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hello = {
        "base_url": server.base_url,
        "control_url": f"http://{host}:{port}",
        "api_key": server.api_key,
        "secret_key": server.secret_key,
        "accounts": server.accounts,
    }
    print(json.dumps(hello), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the driver closes our stdin
    feeding.cancel()
    await runner.cleanup()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak.server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds a 'delay' fault holds the answer")
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
