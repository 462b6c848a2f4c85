"""The call engine (AsyncCalypso._call) with the network replaced by a scripted transport."""

from __future__ import annotations

import hashlib
import hmac
import logging
from decimal import Decimal
from typing import Any

import attrs
import pytest

from calypso_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncCalypso,
    AuthenticationError,
    BadRequestError,
    DuplicateIdempotencyKeyError,
    InvalidResponseError,
    InvalidTimestampError,
    NotFoundError,
    OutcomeUnknownError,
    RetryPolicy,
    ServerError,
)
from calypso_async._operation import Lookup, Operation
from calypso_async.testing import MockTransport as StubTransport
from calypso_async.testing import error_response as error
from calypso_async.testing import json_response as ok

from ..conftest import ACCOUNT, API_KEY, SECRET


async def no_sleep(seconds: float) -> None:
    return None


def make(transport: StubTransport, **kw: Any) -> AsyncCalypso:
    kw.setdefault("retry_policy", RetryPolicy(max_retries=2, sleep=no_sleep))
    return AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=transport, **kw)


READ = Operation(name="things.get", method="POST", path="/api/v1/thing", account=True, payload="required")
CREATE = Operation(
    name="things.create",
    method="POST",
    path="/api/v1/thing/create",
    account=True,
    payload="required",
    idempotency_field="idempotencyKey",
    money_moving=True,
)
KEYED_WITH_LOOKUP = attrs.evolve(CREATE, lookup=Lookup(operation=READ, field="idempotencyKey"))
"""A keyed create whose object can be found again by its key (after a "duplicate key" answer)."""
UNKEYED = Operation(
    name="exchanges.create",
    method="POST",
    path="/api/v1/exchange/create",
    account=True,
    payload="required",
    money_moving=True,
)


def assert_signed(transport: StubTransport) -> None:
    for request in transport.requests:
        assert request.headers["Key"] == API_KEY
        assert request.headers["Sign"] == hmac.new(SECRET.encode(), request.body, hashlib.sha512).hexdigest()
        assert request.headers["Content-Type"] == "application/json"


async def test_envelope_bytes_are_compact_and_signed() -> None:
    transport = StubTransport(ok({"id": "1"}))
    client = make(transport)
    assert await client._call(READ, {"id": "1", "note": None, "amount": Decimal("0.123456789012345678")}) == {"id": "1"}
    body = transport.requests[0].body
    assert body.startswith(b'{"account":"' + ACCOUNT.encode() + b'","timestamp":')
    assert body.endswith(b',"payload":{"id":"1","amount":0.123456789012345678}}')
    assert_signed(transport)


@pytest.mark.parametrize(
    "failure",
    [
        error(503, None),
        error(502, None),
        error(429, None, headers={"Retry-After": "1"}),
        APIConnectionError("reset"),
        APITimeoutError("slow"),
    ],
)
async def test_transient_failures_are_retried_with_fresh_signatures(failure: Any) -> None:
    transport = StubTransport(failure, ok({"ok": True}))
    client = make(transport)
    assert await client._call(READ, {"id": "1"}) == {"ok": True}
    assert len(transport.requests) == 2
    assert_signed(transport)


async def test_every_attempt_gets_a_fresh_timestamp() -> None:
    ticks = iter(range(1_000, 100_000, 1_000))

    class Clock:
        def now_ms(self) -> int:
            return next(ticks)

        def monotonic(self) -> float:
            return 0.0

        def observe(self, *a: Any, **k: Any) -> bool:
            return False

    transport = StubTransport(error(503, None), error(503, None), ok({}))
    client = make(transport, clock=Clock())  # type: ignore[arg-type]
    await client._call(READ, {"id": "1"})
    assert [b["timestamp"] for b in transport.bodies()] == [1000, 2000, 3000]
    assert len({r.headers["Sign"] for r in transport.requests}) == 3


async def test_retry_after_is_used_as_the_wait() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    transport = StubTransport(error(429, None, headers={"Retry-After": "7"}), ok({}))
    await make(transport, retry_policy=RetryPolicy(sleep=sleep))._call(READ, {})
    assert waits == [7.0]


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(400, "001", BadRequestError), (401, "002", AuthenticationError), (404, "004", NotFoundError)],
)
async def test_4xx_is_raised_at_once_with_code_and_message(status: int, code: str, cls: type) -> None:
    transport = StubTransport(error(status, code, "it is wrong"))
    with pytest.raises(cls) as info:
        await make(transport)._call(READ, {"id": "x"})
    assert len(transport.requests) == 1
    assert info.value.error_code == code
    assert info.value.message == "it is wrong"
    assert info.value.status_code == status
    assert info.value.operation == "things.get"


async def test_trace_id_comes_from_the_body() -> None:
    transport = StubTransport(ok({"errorCode": "004", "message": "gone", "traceId": "t-1"}, 400))
    with pytest.raises(NotFoundError) as info:
        await make(transport)._call(READ, {})
    assert info.value.trace_id == "t-1"


async def test_retries_exhausted_raise_the_last_error() -> None:
    transport = StubTransport(default=error(503, "000", "down"))
    with pytest.raises(ServerError):
        await make(transport)._call(READ, {}, max_retries=3)
    assert len(transport.requests) == 4


async def test_timestamp_rejection_is_re_signed_once() -> None:
    transport = StubTransport(error(400, "011", "Invalid timestamp"), ok({"fine": 1}))
    client = make(transport, retry_policy=RetryPolicy(max_retries=0))
    assert await client._call(READ, {}) == {"fine": 1}
    assert len(transport.requests) == 2


async def test_persistent_timestamp_rejection_explains_the_clock() -> None:
    transport = StubTransport(default=error(400, "011", "Invalid timestamp"))
    with pytest.raises(InvalidTimestampError) as info:
        await make(transport, retry_policy=RetryPolicy(max_retries=0))._call(READ, {})
    assert len(transport.requests) == 2
    assert "local clock" in str(info.value)


async def test_idempotency_key_generated_once_and_reused() -> None:
    transport = StubTransport(error(503, None), APIConnectionError("reset"), ok({"id": "p1"}))
    await make(transport)._call(CREATE, {"amount": Decimal("10")})
    keys = {b["payload"]["idempotencyKey"] for b in transport.bodies()}
    assert len(keys) == 1 and len(keys.pop()) == 36


async def test_idempotency_key_is_on_the_error() -> None:
    transport = StubTransport(default=error(503, None))
    with pytest.raises(ServerError) as info:
        await make(transport)._call(CREATE, {"idempotencyKey": "my-key"})
    assert info.value.idempotency_key == "my-key"
    assert {b["payload"]["idempotencyKey"] for b in transport.bodies()} == {"my-key"}


async def test_unkeyed_money_moving_call_is_not_retried_after_ambiguous_failure() -> None:
    transport = StubTransport(APITimeoutError("slow"), ok({}))
    with pytest.raises(OutcomeUnknownError) as info:
        await make(transport)._call(UNKEYED, {"amount": Decimal("1")})
    assert len(transport.requests) == 1
    assert isinstance(info.value.__cause__, APITimeoutError)
    assert "exchanges.get" in str(info.value)


async def test_unkeyed_money_moving_call_is_retried_when_provably_unsent() -> None:
    transport = StubTransport(APIConnectionError("refused", request_sent=False), error(429, None), ok({"id": "e"}))
    assert await make(transport)._call(UNKEYED, {}) == {"id": "e"}
    assert len(transport.requests) == 3


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b'{"trunc', b""])
async def test_unreadable_success_is_invalid_response(body: bytes) -> None:
    transport = StubTransport(default=ok(body))
    op = Operation(name="x.get", method="POST", path="/x", account=True, payload="none", response=dict)
    with pytest.raises(InvalidResponseError):
        await make(transport, retry_policy=RetryPolicy(max_retries=0))._call(op)


async def test_an_operation_answering_bytes_gets_the_body_as_sent_and_errors_as_usual() -> None:
    body = b'{"balances": [{"currency": "BTC", "amount": 1.50}]}  '
    transport = StubTransport(ok(body), ok(b""), error(404, "004", "not found"))
    client = make(transport, retry_policy=RetryPolicy(max_retries=0))
    op: Operation[bytes] = Operation(
        name="x.get", method="POST", path="/x", account=True, payload="none", response=bytes
    )
    assert await client._call(op) == body  # not decoded: no reformatting, no Decimal
    assert await client._call(op) == b""
    with pytest.raises(NotFoundError):
        await client._call(op)


async def test_raw_request() -> None:
    transport = StubTransport(ok({"n": 1.5}), ok({}), ok({}))
    client = make(transport)
    assert await client.request("/api/v1/account") == {"n": Decimal("1.5")}
    await client.request("rate", {"a": 1}, account=None)
    await client.request("/api/v1/account", account="0xother")
    bodies = transport.bodies()
    assert set(bodies[0]) == {"account", "timestamp"}
    assert set(bodies[1]) == {"timestamp", "payload"}
    assert transport.requests[1].url.endswith("/api/v1/rate")
    assert bodies[2]["account"] == "0xother"


async def test_account_required_for_account_scoped_calls() -> None:
    client = AsyncCalypso(API_KEY, SECRET, transport=StubTransport())
    with pytest.raises(ValueError, match="account"):
        await client._call(READ, {})


def test_missing_keys_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALYPSO_API_KEY", raising=False)
    monkeypatch.delenv("CALYPSO_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="CALYPSO_SECRET_KEY"):
        AsyncCalypso(API_KEY)


def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_API_KEY", API_KEY)
    monkeypatch.setenv("CALYPSO_SECRET_KEY", SECRET)
    monkeypatch.setenv("CALYPSO_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("CALYPSO_BASE_URL", "https://api.calypso.money/")
    client = AsyncCalypso()
    assert (client.api_key, client.account_id, client.base_url) == (API_KEY, ACCOUNT, "https://api.calypso.money")


def test_plain_http_refused_except_loopback() -> None:
    with pytest.raises(ValueError, match="http"):
        AsyncCalypso(API_KEY, SECRET, base_url="http://api.calypso.finance")
    AsyncCalypso(API_KEY, SECRET, base_url="http://127.0.0.1:8080")
    AsyncCalypso(API_KEY, SECRET, base_url="http://example.com", allow_insecure_http=True)


async def test_no_secret_in_repr_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    transport = StubTransport(error(503, None), error(401, "003", "wrong signature"))
    client = make(transport)
    with caplog.at_level(logging.DEBUG, logger="calypso"), pytest.raises(AuthenticationError) as info:
        await client._call(READ, {"id": "1"})
    texts = [repr(client), str(info.value), repr(info.value)] + [r.getMessage() for r in caplog.records]
    assert caplog.records, "DEBUG logging should have produced records"
    for text in texts:
        assert SECRET not in text
        assert API_KEY not in text


async def test_calls_share_one_retry_log_callback_instead_of_building_one_each(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    original = RetryPolicy.run

    async def spy(self: RetryPolicy, attempt: Any, **kw: Any) -> Any:
        seen.append(kw.get("before_retry"))
        return await original(self, attempt, **kw)

    monkeypatch.setattr(RetryPolicy, "run", spy)
    client = make(StubTransport(ok({}), ok({}), ok({})))
    for _ in range(3):
        await client._call(READ, {"id": "1"})
    assert len(seen) == 3 and seen[0] is seen[1] is seen[2]


async def test_a_validation_error_that_mentions_the_key_is_raised_without_a_lookup() -> None:
    transport = StubTransport(error(400, "001", "idempotencyKey must be a UUID"))
    with pytest.raises(BadRequestError):
        await make(transport)._call(KEYED_WITH_LOOKUP, {"amount": 1, "idempotencyKey": "not-a-uuid"})
    assert len(transport.requests) == 1


async def test_a_duplicate_key_message_from_an_older_api_fetches_and_compares() -> None:
    found = {"id": "t-1", "amount": 5, "idempotencyKey": "k-1"}
    transport = StubTransport(error(409, None, "IdempotencyKey k-1 already exists"), ok(found))
    assert await make(transport)._call(KEYED_WITH_LOOKUP, {"amount": Decimal("5.0"), "idempotencyKey": "k-1"}) == found
    transport = StubTransport(error(409, None, "IdempotencyKey k-1 already exists"), ok(found))
    with pytest.raises(DuplicateIdempotencyKeyError) as info:
        await make(transport)._call(KEYED_WITH_LOOKUP, {"amount": Decimal("6"), "idempotencyKey": "k-1"})
    assert info.value.existing == found and "amount" in info.value.message
