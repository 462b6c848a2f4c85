"""The protocol checks, in order: key (002), signature (003), timestamp (011), envelope and schema (001/004)."""

from __future__ import annotations

import time
from decimal import Decimal
from email.utils import parsedate_to_datetime

import pytest

from calypso_async import AsyncCalypso, AuthenticationError, BadRequestError, NotFoundError
from calypso_async.testing import FakeCalypso

from .conftest import RawSend, envelope


def _date_seconds(headers: dict[str, str]) -> float:
    return parsedate_to_datetime(headers["Date"]).timestamp()


async def test_account_get_through_the_sdk(server: FakeCalypso, client: AsyncCalypso) -> None:
    account = await client.account.get()
    assert account.account == server.account_id
    assert account.balances
    btc = next(b for b in account.balances if b.currency == "BTC")
    assert btc.amount == server.balance(server.account_id, "BTC")
    assert isinstance(btc.amount, Decimal)


async def test_every_answer_has_a_date_header(server: FakeCalypso, raw: RawSend) -> None:
    ok = await raw("/api/v1/account", envelope(server.account_id))
    bad = await raw("/api/v1/account", envelope(server.account_id), key="0" * 32)
    for answer in (ok, bad):
        assert abs(_date_seconds(answer.headers) - time.time()) < 5
        assert answer.headers["Date"].endswith(" GMT")


async def test_wrong_key_is_401_002(server: FakeCalypso, raw: RawSend) -> None:
    answer = await raw("/api/v1/account", envelope(server.account_id), key="0" * 32)
    assert answer.status == 401
    assert answer.json["errorCode"] == "002"
    assert answer.json["traceId"]


async def test_wrong_signature_is_401_003(server: FakeCalypso, raw: RawSend) -> None:
    answer = await raw("/api/v1/account", envelope(server.account_id), secret="f" * 32)
    assert (answer.status, answer.json["errorCode"]) == (401, "003")
    assert answer.json["message"]


async def test_signature_compared_case_insensitively(server: FakeCalypso, raw: RawSend) -> None:
    import hashlib
    import hmac

    body = envelope(server.account_id)
    upper = hmac.new(server.secret_key.encode(), body, hashlib.sha512).hexdigest().upper()
    assert (await raw("/api/v1/account", body, sign=upper)).status == 200


async def test_key_is_checked_before_signature(server: FakeCalypso, raw: RawSend) -> None:
    answer = await raw("/api/v1/account", envelope(server.account_id), key="0" * 32, sign="nonsense")
    assert answer.json["errorCode"] == "002"


async def test_signature_covers_the_exact_bytes(server: FakeCalypso, raw: RawSend) -> None:
    body = envelope(server.account_id)
    import hashlib
    import hmac

    sign = hmac.new(server.secret_key.encode(), body, hashlib.sha512).hexdigest()
    spaced = body.replace(b",", b", ")
    assert (await raw("/api/v1/account", spaced, sign=sign)).json["errorCode"] == "003"


@pytest.mark.parametrize("offset_ms", [-180_001 - 5_000, 180_001 + 5_000])
async def test_timestamp_outside_window_is_011(server: FakeCalypso, raw: RawSend, offset_ms: int) -> None:
    stamp = int(time.time() * 1000) + offset_ms
    answer = await raw("/api/v1/account", envelope(server.account_id, timestamp=stamp))
    assert (answer.status, answer.json["errorCode"]) == (400, "011")
    assert "180000" in answer.json["message"]


async def test_timestamp_inside_window_is_accepted(server: FakeCalypso, raw: RawSend) -> None:
    stamp = int(time.time() * 1000) - 170_000
    assert (await raw("/api/v1/account", envelope(server.account_id, timestamp=stamp))).status == 200


@pytest.mark.parametrize("body", [b'{"account":"x"}', b'{"timestamp":"1"}', b'{"timestamp":1.5}'])
async def test_missing_or_non_integer_timestamp_is_011(raw: RawSend, body: bytes) -> None:
    answer = await raw("/api/v1/account", body)
    assert answer.json["errorCode"] == "011"


async def test_non_json_body_is_001(raw: RawSend) -> None:
    answer = await raw("/api/v1/account", b"not json")
    assert (answer.status, answer.json["errorCode"]) == (400, "001")


async def test_skewed_server_rejects_local_clock_and_dates_follow_skew() -> None:
    async with FakeCalypso(skew=600.0) as server:
        async with server.client() as client:
            # The SDK learns the offset from the first 011 answer's Date header and re-signs.
            account = await client.account.get()
            assert account.account == server.account_id
            assert client.clock_offset == pytest.approx(600.0, abs=5.0)
        assert [r.status for r in server.requests] == [400, 200]
        assert server.requests[0].json["timestamp"] < server.requests[1].json["timestamp"] - 500_000


async def test_set_skew_moves_the_date_header(server: FakeCalypso, raw: RawSend) -> None:
    server.set_skew(-3600)
    assert server.skew == -3600
    answer = await raw("/api/v1/account", envelope(server.account_id))
    assert answer.json["errorCode"] == "011"
    assert _date_seconds(answer.headers) == pytest.approx(time.time() - 3600, abs=5)


async def test_missing_account_is_001(raw: RawSend) -> None:
    answer = await raw("/api/v1/account", envelope())
    assert answer.json["errorCode"] == "001"
    assert "account" in answer.json["message"]


async def test_unknown_account_is_004(raw: RawSend) -> None:
    answer = await raw("/api/v1/account", envelope("0x" + "1" * 40))
    assert (answer.status, answer.json["errorCode"]) == (400, "004")


async def test_unknown_account_through_the_sdk(client: AsyncCalypso) -> None:
    with pytest.raises(NotFoundError):
        await client.account.get(account="0x" + "2" * 40)


async def test_account_forbidden_where_the_envelope_has_none(server: FakeCalypso, raw: RawSend) -> None:
    answer = await raw("/api/v1/user/current", envelope(server.account_id))
    assert answer.json["errorCode"] == "001"


async def test_payload_required_and_forbidden(server: FakeCalypso, raw: RawSend) -> None:
    missing = await raw("/api/v1/rate", envelope())
    assert missing.json["errorCode"] == "001" and "payload" in missing.json["message"]
    extra = await raw("/api/v1/account", envelope(server.account_id, {"x": 1}))
    assert extra.json["errorCode"] == "001"
    optional = await raw("/api/v1/rate/fiat", envelope())
    assert optional.status == 200


async def test_schema_type_error_names_the_field(raw: RawSend) -> None:
    answer = await raw("/api/v1/rate", envelope(payload={"fromCurrencies": "BTC"}))
    assert answer.json["errorCode"] == "001"
    assert "payload.fromCurrencies" in answer.json["message"]


async def test_schema_errors_through_the_sdk(client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError) as info:
        await client.request("/api/v1/invoice", {"id": "1", "idempotencyKey": "k"})
    assert "exactly one" in info.value.message


async def test_unknown_fields_are_accepted(raw: RawSend) -> None:
    answer = await raw("/api/v1/rate", envelope(payload={"fromCurrencies": ["BTC"], "somethingNew": True}))
    assert answer.status == 200


async def test_unknown_path_and_wrong_method(server: FakeCalypso, raw: RawSend) -> None:
    missing = await raw("/api/v1/nothing-here", envelope(server.account_id))
    assert (missing.status, missing.json["errorCode"]) == (404, "004")
    wrong = await raw("/api/v1/account", envelope(server.account_id), method="PUT")
    assert wrong.status == 405 and wrong.json["errorCode"] == "001"


async def test_auth_error_through_the_sdk(server: FakeCalypso) -> None:
    async with server.client(secret_key="a" * 32) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.account.get()
    assert info.value.error_code == "003"
    assert info.value.trace_id
