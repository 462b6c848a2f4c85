"""Profile the hot path of ``account.get``: ``python -m benchmarks.profile_hot_path [--network] [--pyinstrument]``.

Without ``--network`` the call runs against :class:`~benchmarks._common.CannedTransport` (calypso's own CPU
only); with it, 64 concurrent tasks call the canned server (aiohttp included). cProfile prints the functions
with the most time of their own; ``--pyinstrument`` prints a call tree instead (``pip install pyinstrument``).
``--importtime`` lists what ``import calypso_async`` spends its time on.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._common import ACCOUNT, API_KEY, SECRET, CannedTransport, ServerProcess


async def _loop(call: Callable[[], Awaitable[Any]], calls: int, concurrency: int) -> None:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _profile(network: bool, calls: int, use_pyinstrument: bool, top: int) -> None:
    from calypso_async import AsyncCalypso

    server = ServerProcess().start() if network else None
    try:
        if server is not None:
            client = AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, base_url=server.base_url)
        else:
            client = AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=CannedTransport())
        concurrency = 64 if network else 1
        get = client.account.get
        await _loop(get, 500, concurrency)  # warm: connections, converter hooks, caches
        if use_pyinstrument:
            import pyinstrument

            profiler = pyinstrument.Profiler(async_mode="disabled")
            profiler.start()
            await _loop(get, calls, concurrency)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            prof = cProfile.Profile()
            prof.enable()
            await _loop(get, calls, concurrency)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(top)
        await client.aclose()
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_path", description=__doc__)
    parser.add_argument("--network", action="store_true", help="call the canned server (64 tasks)")
    parser.add_argument("--pyinstrument", action="store_true", help="call tree from pyinstrument")
    parser.add_argument("--importtime", action="store_true", help="what importing calypso_async costs")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    if args.importtime:
        from benchmarks.bench_import import importtime_top

        print(f"{'self ms':>8} {'cumulative ms':>14}  module")
        for self_us, cumulative_us, name in importtime_top("calypso_async", args.top):
            print(f"{self_us / 1000:8.1f} {cumulative_us / 1000:14.1f}  {name}")
        return
    asyncio.run(_profile(args.network, args.calls, args.pyinstrument, args.top))


if __name__ == "__main__":
    main()
