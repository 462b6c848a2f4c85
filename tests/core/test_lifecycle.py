"""One client across event loops, and what closing it means (issue 11, B6 and B7)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from calypso_async import (
    AsyncCalypso,
    ClientClosedError,
    EventLoopError,
    RetryPolicy,
)
from calypso_async.testing import FakeCalypso, Fault

ADDRESS = "TXyz9wqvRz1U7d7Q3d8yX1rXoKXbqvW8Ju"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(seed=3) as fake:
        yield fake


def make(server: FakeCalypso, **kw: Any) -> AsyncCalypso:
    return AsyncCalypso(server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url, **kw)


def sessions_of(client: AsyncCalypso) -> dict[Any, Any]:
    return client._transport._loops  # type: ignore[attr-defined,no-any-return]


def test_a_client_works_on_one_loop_after_another_and_leaves_no_open_session(server: FakeCalypso) -> None:
    client = make(server)
    seen: list[aiohttp.ClientSession] = []

    async def call() -> str | None:
        account = await client.account.get()
        seen.append(client._transport._session)  # type: ignore[attr-defined]
        return account.account

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):  # e.g. a notebook cell run three times, or three asyncio.run() in a script
            assert asyncio.run(call()) == server.account_id
        assert len({id(s) for s in seen}) == 3
        assert all(s.closed for s in seen)  # each loop's pool was closed as its loop shut down
        asyncio.run(client.aclose())
        seen.clear()
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_a_client_serves_two_live_loops_at_once(server: FakeCalypso) -> None:
    client = make(server)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    async def calls() -> list[str | None]:
        first = await client.account.get()
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait, 30)  # both loops are live now
        second = await client.account.get()
        return [first.account, second.account]

    def run() -> None:
        try:
            results.append(asyncio.run(calls()))
        except BaseException as exc:  # pragma: no cover - reported below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [[server.account_id] * 2] * 2
    asyncio.run(client.aclose())


def test_a_session_from_another_loop_is_a_calypso_error_that_says_what_to_do(server: FakeCalypso) -> None:
    async def make_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(make_session())
    try:
        client = make(server, session=session)
        with pytest.raises(EventLoopError, match="omit session="):
            asyncio.run(client.account.get())
    finally:
        loop.run_until_complete(session.close())
        loop.close()


async def test_a_closed_user_session_is_a_clear_calypso_error(server: FakeCalypso) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = make(server, session=session)
    before = len(server.requests)
    with pytest.raises(ClientClosedError, match="session= is closed"):
        await client.account.get()
    assert len(server.requests) == before


async def test_calls_after_aclose_raise_at_once_and_send_nothing(server: FakeCalypso) -> None:
    client = make(server)
    await client.account.get()
    await client.aclose()
    before = len(server.requests)
    for call in (client.account.get(), client.payouts.create(amount=1, currency="USDT_TRX", deposit_address=ADDRESS)):
        with pytest.raises(ClientClosedError, match="closed"):
            await call
    with pytest.raises(ClientClosedError):
        await client.request("/api/v1/account")
    assert len(server.requests) == before
    assert sessions_of(client) == {}  # no new pool was opened


async def test_a_retry_in_flight_during_aclose_stops_and_keeps_the_key(server: FakeCalypso) -> None:
    client: AsyncCalypso

    async def close_while_waiting(seconds: float) -> None:
        await client.aclose()

    client = make(server, retry_policy=RetryPolicy(max_retries=3, sleep=close_while_waiting))
    server.inject("/api/v1/payout/create", Fault.status(503))
    before = len(server.requests)
    with pytest.raises(ClientClosedError) as info:
        await client.payouts.create(amount=1, currency="USDT_TRX", deposit_address=ADDRESS)
    assert len(server.requests) == before + 1  # the first attempt only
    assert info.value.idempotency_key and info.value.operation == "payouts.create"
    server.clear_faults()


def test_aclose_on_one_loop_closes_the_pool_of_another_live_loop(server: FakeCalypso) -> None:
    client = make(server)
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(client.account.get(), other).result(30)
        (session,) = [s.pooled for s in sessions_of(client).values()]
        asyncio.run(client.aclose())
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), other).result(30)  # let the close run there
        for _ in range(100):
            if session.closed:
                break
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), other).result(30)
        assert session.closed
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(30)
        other.close()
