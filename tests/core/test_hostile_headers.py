"""Hostile ``Date`` and ``Retry-After`` headers: ignored, never an error; HTTP-date waits use the server's clock."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async import AsyncCalypso, OutcomeUnknownError, RateLimitError, Response, RetryPolicy, ServerError
from calypso_async._clock import ServerClock, parse_http_date, parse_retry_after
from calypso_async.testing import MockTransport as StubTransport

from .test_engine import ACCOUNT, API_KEY, CREATE, READ, SECRET, UNKEYED

HUGE_YEAR = "Sat, 05 Dec 9999999999999999999999 03:00:00 GMT"
HOSTILE_RETRY_AFTER = ["1e999", "inf", "-inf", "nan", "-5", "99999999999", "7 s", "", "  ", HUGE_YEAR, "Sat, 99 Foo"]


def answer(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(status, headers, body)


def make(transport: StubTransport, waits: list[float], **kw: Any) -> AsyncCalypso:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(max_retries=2, sleep=sleep, jitter=0.0)
    return AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=transport, retry_policy=policy, **kw)


def test_a_date_header_with_a_huge_year_is_ignored() -> None:
    assert parse_http_date(HUGE_YEAR) is None
    clock = ServerClock(wall=lambda: 1_700_000_000.0, monotonic=lambda: 5.0)
    assert clock.observe(HUGE_YEAR, 4.0, 5.0) is False
    assert not clock.synchronized and clock.now_ms() == 1_700_000_000_000


async def test_a_processed_create_answered_with_a_huge_date_returns_its_result() -> None:
    transport = StubTransport(answer(200, b'{"id":"p1"}', {"Date": HUGE_YEAR, "Retry-After": HUGE_YEAR}))
    client = make(transport, [])
    assert await client._call(CREATE, {"amount": 1}) == {"id": "p1"}
    assert client.clock_offset == 0.0


async def test_an_unkeyed_create_answered_503_with_a_huge_date_is_outcome_unknown() -> None:
    transport = StubTransport(answer(503, b"{}", {"Date": HUGE_YEAR, "Retry-After": HUGE_YEAR}))
    with pytest.raises(OutcomeUnknownError) as info:
        await make(transport, [])._call(UNKEYED, {"amount": 1})
    assert isinstance(info.value.__cause__, ServerError)


@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
async def test_a_malformed_or_huge_retry_after_means_the_default_backoff(value: str) -> None:
    waits: list[float] = []
    headers = {"Retry-After": value, "retry-after-ms": value, "Date": formatdate(usegmt=True)}
    transport = StubTransport(answer(429, b"{}", headers), answer(200, b"{}", {}))
    assert await make(transport, waits)._call(READ, {}) == {}
    assert waits == [0.5]


@given(st.text(max_size=60))
def test_no_retry_after_value_raises(value: str) -> None:
    for headers in ({"Retry-After": value}, {"retry-after-ms": value}, {"Retry-After": value, "Date": value}):
        seconds = parse_retry_after(headers, ServerClock())
        assert seconds is None or 0.0 <= seconds <= 86_400.0


@pytest.mark.parametrize("offset", [300, -300])
async def test_a_retry_after_date_is_measured_against_the_server_clock(offset: int) -> None:
    local = 1_800_000_000.0
    server = local + offset
    clock = ServerClock(wall=lambda: local, monotonic=lambda: 0.0)
    waits: list[float] = []
    # A first answer teaches the clock; the 429 then carries only a Retry-After date, 7 s after the server's now.
    transport = StubTransport(
        answer(200, b"{}", {"Date": formatdate(server, usegmt=True)}),
        answer(429, b"{}", {"Retry-After": formatdate(server + 7, usegmt=True)}),
        answer(200, b"{}", {}),
    )
    client = make(transport, waits, clock=clock)
    await client._call(READ, {})
    await client._call(READ, {})
    assert waits == [pytest.approx(7.0, abs=1.0)]  # the Date header's 1-second resolution


@pytest.mark.parametrize("offset", [300, -300])
async def test_a_retry_after_date_is_measured_against_the_same_answers_date(offset: int) -> None:
    server = 1_800_000_000.0 + offset
    waits: list[float] = []
    headers = {"Date": formatdate(server, usegmt=True), "Retry-After": formatdate(server + 7, usegmt=True)}
    transport = StubTransport(answer(429, b"{}", headers), answer(429, b"{}", headers), answer(429, b"{}", headers))
    with pytest.raises(RateLimitError) as info:
        await make(transport, waits)._call(READ, {})
    assert waits == [7.0, 7.0] and info.value.retry_after == 7.0
