"""Every fault kind, how faults are queued and consumed, and what the SDK sees."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from calypso_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncCalypso,
    InvalidResponseError,
    RateLimitError,
    ServerError,
)
from calypso_async.testing import FakeCalypso, Fault

from .conftest import RawSend, envelope

ACCOUNT = "/api/v1/account"


async def test_status_fault_answers_error_json_without_processing(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.status(503))
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert answer.status == 503
    assert answer.json["errorCode"] == "000" and answer.json["traceId"]
    assert "Date" in answer.headers
    assert (await raw(ACCOUNT, envelope(server.account_id))).status == 200


async def test_status_fault_with_code_message_and_retry_after(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.status(429, error_code="429", message="slow down", retry_after=3))
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "3"
    assert answer.json["message"] == "slow down"


async def test_status_fault_with_raw_body(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.status(500, body="oops", content_type="text/plain"))
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert (answer.status, answer.body, answer.headers["Content-Type"]) == (500, b"oops", "text/plain")


async def test_html_fault(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.html(502))
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in answer.body


async def test_sdk_retries_through_transient_faults(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.inject(ACCOUNT, Fault.status(503, times=2))
    account = await client.account.get()
    assert account.account == server.account_id
    assert [r.status for r in server.requests] == [503, 503, 200]
    assert server.pending_faults == 0


async def test_sdk_gives_up_after_retries(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.inject("*", Fault.html(502, times=3))
    with pytest.raises(ServerError):
        await client.account.get()
    server.inject(ACCOUNT, Fault.status(429, retry_after=0))
    server.inject(ACCOUNT, Fault.status(429, retry_after=0))
    server.inject(ACCOUNT, Fault.status(429, retry_after=0))
    with pytest.raises(RateLimitError):
        await client.account.get()


async def test_faults_are_consumed_in_order_path_before_star(server: FakeCalypso, raw: RawSend) -> None:
    server.inject("*", Fault.status(500))
    server.inject(ACCOUNT, Fault.status(501))
    server.inject(ACCOUNT, Fault.status(502, times=2))
    statuses = [(await raw(ACCOUNT, envelope(server.account_id))).status for _ in range(5)]
    assert statuses == [501, 502, 502, 500, 200]


async def test_star_fault_hits_any_path(server: FakeCalypso, raw: RawSend) -> None:
    server.inject("*", Fault.status(503))
    assert (await raw("/api/v1/user/current", envelope())).status == 503
    server.inject("*", Fault.status(503))
    server.clear_faults()
    assert (await raw("/api/v1/user/current", envelope())).status == 200


async def test_delay_fault_triggers_client_timeout(server: FakeCalypso) -> None:
    server.inject(ACCOUNT, Fault.delay(30))
    async with server.client(timeout=0.3, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.account.get()
    # stop() cuts the pending delay short (the fixture stops the server at teardown, quickly).


async def test_delay_fault_then_retry_succeeds(server: FakeCalypso) -> None:
    server.inject(ACCOUNT, Fault.delay(30))
    async with server.client(timeout=0.3, max_retries=1) as client:
        assert (await client.account.get()).account == server.account_id


async def test_drop_closes_without_answer(server: FakeCalypso) -> None:
    server.inject(ACCOUNT, Fault.drop())
    async with server.client(max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.account.get()
    assert server.requests[-1].status is None


async def test_drop_after_processing_records_the_request(server: FakeCalypso) -> None:
    server.inject(ACCOUNT, Fault.drop_after_processing())
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(server.base_url + ACCOUNT, data=envelope(server.account_id))
    assert server.requests[-1].status is None
    assert server.requests[-1].operation == "account.get"


async def test_malformed_fault(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.malformed())
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert (answer.status, answer.body) == (200, b'{"trunc')
    server.inject(ACCOUNT, Fault.malformed(b"[1,2"))
    async with server.client(max_retries=0) as client:
        with pytest.raises(InvalidResponseError):
            await client.account.get()


async def test_empty_fault(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.empty())
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert (answer.status, answer.body) == (200, b"")
    server.inject(ACCOUNT, Fault.empty())
    async with server.client(max_retries=0) as client:
        with pytest.raises(InvalidResponseError):
            await client.account.get()


async def test_truncated_fault(server: FakeCalypso) -> None:
    server.inject(ACCOUNT, Fault.truncated())
    async with server.client(max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="cut off"):
            await client.account.get()


async def test_wrong_content_type_fault(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.wrong_content_type())
    answer = await raw(ACCOUNT, envelope(server.account_id))
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.json["account"] == server.account_id


async def test_skew_jump_moves_the_clock_from_that_request_on(server: FakeCalypso, raw: RawSend) -> None:
    server.inject(ACCOUNT, Fault.skew_jump(600))
    jumped = await raw(ACCOUNT, envelope(server.account_id))
    assert jumped.json["errorCode"] == "011"
    assert server.skew == 600
    later = await raw("/api/v1/user/current", envelope())
    assert later.json["errorCode"] == "011"
    date = parsedate_to_datetime(later.headers["Date"]).timestamp()
    assert date == pytest.approx(server.now(), abs=5)


async def test_sdk_recovers_from_a_skew_jump(server: FakeCalypso, client: AsyncCalypso) -> None:
    await client.account.get()
    server.inject(ACCOUNT, Fault.skew_jump(-900))
    assert (await client.account.get()).account == server.account_id
    assert client.clock_offset == pytest.approx(-900, abs=5)


def test_fault_times_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Fault.status(500, times=0)
    assert Fault.drop().before_processing and not Fault.drop_after_processing().before_processing


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"kind": "status", "code": 503, "retry_after": 2, "times": 2}, Fault.status(503, retry_after=2, times=2)),
        (
            {"kind": "status", "code": 400, "error_code": "007", "message": "no"},
            Fault.status(400, error_code="007", message="no"),
        ),
        ({"kind": "html"}, Fault.html()),
        ({"kind": "delay", "seconds": 1.5}, Fault.delay(1.5)),
        ({"kind": "drop", "times": 3}, Fault.drop(times=3)),
        ({"kind": "drop_after_processing"}, Fault.drop_after_processing()),
        ({"kind": "malformed", "body": "{x"}, Fault.malformed(b"{x")),
        ({"kind": "empty"}, Fault.empty()),
        ({"kind": "truncated"}, Fault.truncated()),
        ({"kind": "wrong_content_type", "content_type": "text/plain"}, Fault.wrong_content_type("text/plain")),
        ({"kind": "skew_jump", "seconds": -30}, Fault.skew_jump(-30)),
    ],
)
def test_fault_from_json_matches_the_class_methods(spec: dict[str, object], expected: Fault) -> None:
    assert Fault.from_json(spec) == expected


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({}, "kind"),
        ({"kind": "from_json"}, "kind"),
        ({"kind": "delay"}, "seconds"),
        ({"kind": "delay", "seconds": -1}, "seconds"),
        ({"kind": "delay", "seconds": "1"}, "seconds"),
        ({"kind": "delay", "seconds": 1e300}, "seconds"),
        ({"kind": "skew_jump", "seconds": -1e12}, "seconds"),
        ({"kind": "status", "code": 99}, "code"),
        ({"kind": "status", "code": True}, "code"),
        ({"kind": "drop", "times": 0}, "times"),
        ({"kind": "empty", "code": 500}, "code"),
        ({"kind": "status", "code": 500, "body": 5}, "body"),
    ],
)
def test_fault_from_json_refuses_bad_specs_naming_the_problem(spec: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Fault.from_json(spec)
