"""Cancelled keyed creates keep their key reachable; stale pooled connections never make an outcome unknown.

Issue 11, A4 and A5.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from calypso_async import AiohttpTransport, APIConnectionError, AsyncCalypso, Request, RetryPolicy
from calypso_async.testing import FakeCalypso

from ..conftest import API_KEY, SECRET
from ._servers import ACCOUNT_JSON, date_header, serve
from ._support import ADDRESS, no_sleep

ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"
EXCHANGE_JSON = b'{"id":41,"sourceCurrency":"TRX","destinationCurrency":"ETH","amount":10}'


# ----------------------------------------------------------------------------------------------- A4: cancel


@pytest.fixture
async def hanging() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server that receives every request and never answers; the event is set when one arrived."""
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        arrived.set()
        await release.wait()
        return web.Response(status=503)

    async with serve(handler) as url:
        yield url, arrived
        release.set()


def client_for(url: str, **kw: Any) -> AsyncCalypso:
    return AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, base_url=url, timeout=60, **kw)


async def test_a_cancelled_keyed_create_carries_its_key_and_logs_how_to_recover(
    hanging: tuple[str, asyncio.Event], caplog: pytest.LogCaptureFixture
) -> None:
    url, arrived = hanging
    async with client_for(url) as client:
        task = asyncio.ensure_future(
            client.payouts.create(amount=Decimal("5"), currency="USDT_TRX", deposit_address=ADDRESS)
        )
        await arrived.wait()
        task.cancel()
        with caplog.at_level(logging.WARNING, logger="calypso"), pytest.raises(asyncio.CancelledError) as info:
            await task
    # Python 3.10 hands the awaiting side a new CancelledError whose __context__ is the one calypso marked
    marked = info.value if sys.version_info >= (3, 11) else info.value.__context__
    key = marked.idempotency_key  # type: ignore[union-attr]
    assert isinstance(key, str) and len(key) == 36
    assert marked.operation == "payouts.create"  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "calypso"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "payouts.create" in message and key in message and "idempotency_key=" in message


@pytest.mark.skipif(not hasattr(asyncio, "timeout"), reason="asyncio.timeout is new in Python 3.11")
async def test_a_timed_out_keyed_create_keeps_its_key_on_the_timeout_chain(
    hanging: tuple[str, asyncio.Event], caplog: pytest.LogCaptureFixture
) -> None:
    url, arrived = hanging
    key = "7d3c2b1a-0f9e-4d8c-b7a6-958473625140"
    async with client_for(url) as client:
        with caplog.at_level(logging.WARNING, logger="calypso"), pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(None) as scope:
                # the deadline passes as soon as the request has reached the server
                watcher = asyncio.ensure_future(arrived.wait())
                watcher.add_done_callback(lambda _: scope.reschedule(asyncio.get_running_loop().time()))
                await client.payouts.create(
                    amount=Decimal("5"), currency="USDT_TRX", deposit_address=ADDRESS, idempotency_key=key
                )
    # asyncio.timeout raises a new TimeoutError from the CancelledError that went through calypso
    assert info.value.__cause__ is not None and info.value.__cause__.idempotency_key == key  # type: ignore[attr-defined]
    assert any(key in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# ----------------------------------------------------------------------------------------- A5: stale pools


@pytest.fixture
async def one_request_per_connection() -> AsyncIterator[tuple[str, list[tuple[int, str]]]]:
    """Answers the first request of every connection (keep-alive) and drops any later one unanswered.

    That is what a request written into a pooled connection the server has already closed meets. Yields the
    base URL and ``(connection number, path)`` of every request that arrived.
    """
    seen: list[tuple[int, str]] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        try:
            for index in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(
                    (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
                )
                await reader.readexactly(length)
                seen.append((number, path))
                if index == 1:
                    break  # the server had closed this connection: nothing comes back
                body = ACCOUNT_JSON if path.endswith("/account") else EXCHANGE_JSON
                date = date_header()["Date"]
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: " + date.encode() + b"\r\n"
                    b"Connection: keep-alive\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


async def test_an_unkeyed_money_moving_call_never_uses_a_pooled_connection(
    one_request_per_connection: tuple[str, list[tuple[int, str]]],
) -> None:
    url, seen = one_request_per_connection
    async with client_for(url, retry_policy=RetryPolicy(max_retries=2, sleep=no_sleep)) as client:
        for _ in range(5):
            await client.account.get()  # leaves a kept-alive connection in the pool
            exchange = await client.exchanges.create(
                source_currency="TRX", destination_currency="ETH", amount=Decimal("10")
            )
            assert exchange.id == 41
    exchanges = [number for number, path in seen if path.endswith("/exchange/create")]
    assert len(exchanges) == 5  # each sent once, on a connection of its own
    assert len(set(exchanges)) == 5 and not {n for n, p in seen if p.endswith("/account")} & set(exchanges)


async def test_a_failure_to_write_the_request_counts_as_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unwritable:
        closed = False

        def request(self, *args: Any, **kwargs: Any) -> Any:
            raise aiohttp.ClientOSError(32, "Can not write request body for http://127.0.0.1:9/api/v1/exchange")

    monkeypatch.setattr(AiohttpTransport, "_get_session", lambda self, **kw: Unwritable())
    transport = AiohttpTransport()
    with pytest.raises(APIConnectionError) as info:
        await transport.send(Request("POST", "http://127.0.0.1:9/api/v1/exchange", {}, b"{}", 5.0))
    assert info.value.request_sent is False


async def test_an_unkeyed_create_that_could_not_be_written_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeCalypso(seed=4) as server:
        server.set_balance(server.account_id, "TRX", Decimal("1000"))
        original = AiohttpTransport.send
        failures = [aiohttp.ClientOSError(32, "Can not write request body for " + server.base_url)]

        async def flaky(self: AiohttpTransport, request: Request) -> Any:
            if failures and request.url.endswith("/exchange/create"):
                session = self._get_session(fresh=True)
                monkeypatch.setattr(session, "request", _raiser(failures.pop()))
                try:
                    return await original(self, request)
                finally:
                    monkeypatch.undo()
            return await original(self, request)

        monkeypatch.setattr(AiohttpTransport, "send", flaky)
        async with server.client(retry_policy=RetryPolicy(max_retries=2, sleep=no_sleep)) as client:
            exchange = await client.exchanges.create(
                source_currency="TRX", destination_currency="ETH", amount=Decimal("10")
            )
        assert exchange.id is not None and len(server.state.exchanges) == 1


def _raiser(exc: BaseException) -> Any:
    def request(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return request


def test_the_timeout_cache_stays_bounded() -> None:
    transport = AiohttpTransport()
    for i in range(10_000):
        transport._timeout(1.0 + i / 1000.0)
    assert len(transport._timeouts) <= 64
