"""Async throughput of ``account.get`` against the canned server, vs a raw ``aiohttp.ClientSession``.

The baseline is a fair hand-rolled client: per call it builds the envelope with a fresh timestamp, signs it
with ``hmac``, posts it through one shared ``aiohttp.ClientSession`` (default connector: 100 connections, like
calypso's pool), checks the status and ``json.loads`` the answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from benchmarks._common import (
    ACCOUNT,
    API_KEY,
    SECRET,
    Result,
    Sample,
    ServerProcess,
    Settings,
    arotate,
    compare,
    hand_signed,
)

GROUP = "async"


async def throughput(call: Callable[[], Awaitable[Any]], concurrency: int, duration: float) -> Sample:
    """Calls per second with ``concurrency`` tasks calling back to back for ``duration`` seconds (and the
    client process's CPU time per call meanwhile)."""
    clock = time.perf_counter
    deadline = clock() + duration
    count = 0

    async def worker() -> None:
        nonlocal count
        while clock() < deadline:
            await call()
            count += 1

    cpu = time.process_time()
    start = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - start
    return Sample(count / elapsed, (time.process_time() - cpu) / max(count, 1))


def raw_aiohttp_call(session: aiohttp.ClientSession, url: str) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        body, headers = hand_signed()
        async with session.post(url, data=body, headers=headers) as resp:
            data = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"baseline got HTTP {resp.status}")
        return json.loads(data)

    return call


async def _run(settings: Settings, server: ServerProcess) -> list[Result]:
    from calypso_async import AsyncCalypso

    results: list[Result] = []
    client = AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, base_url=server.base_url)
    session = aiohttp.ClientSession()
    try:
        subject = client.account.get
        baseline = raw_aiohttp_call(session, server.url)
        # Both sides give the same answer (and the connections exist) before anything is timed.
        answer = await subject()
        assert answer.account == ACCOUNT and answer.balances and len(answer.balances) == 8, answer
        raw = await baseline()
        assert raw["account"] == ACCOUNT and len(raw["balances"]) == 8, raw
        for concurrency in settings.concurrencies:
            warm = min(0.2, settings.duration)
            await throughput(subject, concurrency, warm)
            await throughput(baseline, concurrency, warm)
            samples = await arotate(
                {
                    "calypso": lambda c=concurrency: throughput(subject, c, settings.duration),  # type: ignore[misc]
                    "raw": lambda c=concurrency: throughput(baseline, c, settings.duration),  # type: ignore[misc]
                },
                settings.rounds,
            )
            results.append(
                compare(
                    GROUP,
                    f"async account.get, concurrency {concurrency}",
                    samples["calypso"],
                    samples["raw"],
                    unit="calls/s",
                    baseline_name="raw aiohttp, hand-signed",
                    higher_is_better=True,
                    target=0.90 if concurrency == 64 else None,
                )
            )
    finally:
        await client.aclose()
        await session.close()
        await asyncio.sleep(0)
    return results


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    assert server is not None, "the async benchmark needs the canned server"
    return asyncio.run(_run(settings, server))
