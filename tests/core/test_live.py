"""The client against the fake server over real loopback HTTP: the foundation's must-show behaviours."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import (
    AsyncCalypso,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RetryPolicy,
    ServerClock,
)
from calypso_async.testing import FakeCalypso, Fault


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=1) as fake:
        yield fake


class CountingClock(ServerClock):
    def __init__(self) -> None:
        super().__init__()
        self.stamps = 0

    def now_ms(self) -> int:
        self.stamps += 1
        return super().now_ms()


def client_for(server: FakeCalypso, **kw: Any) -> AsyncCalypso:
    kw.setdefault("retry_policy", RetryPolicy(max_retries=3, sleep=no_sleep))
    return server.client(**kw)


def assert_every_request_validly_signed(server: FakeCalypso) -> None:
    for recorded in server.requests:
        expected = hmac.new(server.secret_key.encode(), recorded.body, hashlib.sha512).hexdigest()
        assert recorded.headers["Sign"] == expected


async def test_sign_header_is_hmac_of_the_exact_bytes_received(server: FakeCalypso) -> None:
    async with client_for(server) as client:
        account = await client.account.get()
    assert account.account == server.account_id
    assert len(server.requests) == 1
    assert_every_request_validly_signed(server)
    assert server.requests[0].status == 200


async def test_server_four_minutes_ahead_is_corrected_after_one_rejection() -> None:
    async with FakeCalypso(seed=1, skew=240.0) as server, client_for(server) as client:
        await client.account.get()
        assert [r.status for r in server.requests] == [400, 200]
        assert server.requests[0].json is not None
        assert abs(client.clock_offset - 240.0) < 2.0
        await client.account.get()
        assert [r.status for r in server.requests] == [400, 200, 200]


async def test_two_minute_skew_never_produces_a_rejection() -> None:
    async with FakeCalypso(seed=1, skew=-120.0) as server, client_for(server) as client:
        for _ in range(5):
            await client.account.get()
        assert all(r.status == 200 for r in server.requests)
        assert abs(client.clock_offset + 120.0) < 2.0


async def test_local_clock_step_after_sync_does_not_cause_rejections() -> None:
    wall = {"offset": 0.0}
    clock = ServerClock(wall=lambda: time.time() + wall["offset"])
    async with FakeCalypso(seed=1) as server, client_for(server, clock=clock) as client:
        await client.account.get()
        wall["offset"] = 600.0  # the machine's clock jumps 10 minutes forward
        await client.account.get()
        assert [r.status for r in server.requests] == [200, 200]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(503),
        Fault.html(502),
        Fault.status(429, retry_after=1),
        Fault.drop(),
    ],
    ids=["503", "502-html", "429-retry-after", "dropped-connection"],
)
async def test_transient_failures_are_retried_then_succeed(server: FakeCalypso, fault: Fault) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    server.inject("/api/v1/account", fault)
    clock = CountingClock()
    async with client_for(server, retry_policy=RetryPolicy(sleep=sleep), clock=clock) as client:
        account = await client.account.get()
    assert account.balances
    assert len(server.requests) == 2
    assert clock.stamps == 2  # every attempt was stamped (and so signed) afresh
    timestamps = [r.json["timestamp"] for r in server.requests if r.json is not None]
    assert timestamps == sorted(timestamps)
    assert_every_request_validly_signed(server)
    if fault.retry_after is not None:
        assert waits == [1.0]


async def test_read_timeout_is_retried_then_succeeds(server: FakeCalypso) -> None:
    server.inject("/api/v1/account", Fault.delay(5.0))
    async with client_for(server, timeout=0.3) as client:
        await client.account.get()
    assert len(server.requests) == 2
    assert_every_request_validly_signed(server)


async def test_400_401_404_are_raised_at_once(server: FakeCalypso) -> None:
    async with client_for(server) as client:
        server.inject("/api/v1/account", Fault.status(404, error_code="004", message="Account not found"))
        with pytest.raises(NotFoundError) as not_found:
            await client.account.get()
        assert (not_found.value.error_code, not_found.value.message) == ("004", "Account not found")
        server.inject("/api/v1/account", Fault.status(400, error_code="001", message="Bad request"))
        with pytest.raises(BadRequestError) as bad:
            await client.account.get()
        assert bad.value.error_code == "001"
        assert bad.value.trace_id
    async with client_for(server, api_key="0" * 32) as wrong_key:
        with pytest.raises(AuthenticationError) as auth:
            await wrong_key.account.get()
        assert auth.value.error_code == "002" and auth.value.status_code == 401
    assert len(server.requests) == 3


async def test_raw_request_returns_decimal_json(server: FakeCalypso) -> None:
    async with client_for(server) as client:
        data = await client.request("/api/v1/account")
    assert data["account"] == server.account_id
    assert all(isinstance(b["amount"], Decimal) for b in data["balances"])


async def test_no_secret_at_debug_level(server: FakeCalypso, caplog: pytest.LogCaptureFixture) -> None:
    server.inject("/api/v1/account", Fault.status(503))
    with caplog.at_level(logging.DEBUG):
        async with client_for(server) as client:
            await client.account.get()
            text = repr(client)
    records = [r.getMessage() for r in caplog.records]
    assert records
    for line in [*records, text]:
        assert server.secret_key not in line
        assert server.api_key not in line
