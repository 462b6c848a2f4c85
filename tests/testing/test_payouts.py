"""Payouts: debit of amount + fee, duplicate keys, insufficient balance, progression, mass payouts,
the ambiguous drop-after-processing case, settlement payouts."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, BadRequestError, DuplicateIdempotencyKeyError, NotFoundError
from calypso_async.testing import FakeCalypso, Fault

from .conftest import Event, RawSend, envelope

CREATE = "/api/v1/payout/create"
ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def _payload(amount: str = "100", key: str | None = None, **extra: object) -> dict:
    return {
        "currency": "USDT_TRX",
        "amount": Decimal(amount),
        "depositAddress": ADDRESS,
        "idempotencyKey": key or str(uuid.uuid4()),
        **extra,
    }


async def test_create_debits_amount_plus_fee(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    payout = await client.request(CREATE, _payload("100", comment="salary"))
    assert payout["state"] == "CREATED" and payout["fee"] == Decimal("0.5")
    assert payout["amount"] == Decimal("100") and payout["account"] == server.account_id
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("899.5")
    assert await client.request("/api/v1/payout", {"id": payout["id"]}) == payout
    assert await client.request("/api/v1/payout", {"idempotencyKey": payout["idempotencyKey"]}) == payout
    withdrawal = await client.request("/api/v1/payout/withdrawal", {"requestId": payout["id"]})
    assert withdrawal["amount"] == Decimal("100") and withdrawal["depositAddress"] == ADDRESS
    assert await client.request("/api/v1/payout/withdrawal", {"requestId": withdrawal["id"]}) == withdrawal


async def test_duplicate_key_is_016_and_debits_once(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    key = str(uuid.uuid4())
    await client.request(CREATE, _payload("10", key))
    with pytest.raises(DuplicateIdempotencyKeyError, match=key):
        await client.request(CREATE, _payload("10", key))
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("989.95")


async def test_insufficient_balance_is_001_and_stores_nothing(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("100"))
    with pytest.raises(BadRequestError) as info:
        await client.request(CREATE, _payload("100"))  # 100 + 0.5 fee > 100
    assert info.value.error_code == "001"
    assert "Insufficient balance" in info.value.message and "100.5" in info.value.message
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("100")
    assert not server.state.payouts


async def test_bad_address_and_unknown_payout(client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError, match="depositAddress"):
        await client.request(CREATE, dict(_payload(), depositAddress="has space"))
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/payout", {"id": "1"})
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/payout/withdrawal", {"requestId": "nope"})


async def test_state_progression_and_events(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    payout = await client.request(CREATE, _payload("5"))
    assert server.advance_payouts(steps=1) == 1
    assert (await client.request("/api/v1/payout", {"id": payout["id"]}))["state"] == "IN_PROGRESS"
    assert server.advance_payouts() == 1
    done = await client.request("/api/v1/payout", {"id": payout["id"]})
    assert done["state"] == "COMPLETED" and done["transactionHash"]
    assert server.advance_payouts() == 0
    statuses = [data["payoutStatus"] for kind, _, data in events if kind == "PAYOUT_CHANGE_STATUS"]
    assert statuses == ["IN_PROGRESS", "COMPLETED"]
    assert all(data["parentExternalId"] == int(payout["id"]) for _, _, data in events)
    withdrawal = await client.request("/api/v1/payout/withdrawal", {"requestId": payout["idempotencyKey"]})
    assert withdrawal["state"] == "COMPLETED" and withdrawal["transactionHash"] == done["transactionHash"]


async def test_scheduled_payout_waits_for_execution_date(server: FakeCalypso, client: AsyncCalypso) -> None:
    from calypso_async.testing._http import iso

    payout = await client.request(CREATE, _payload("5", executionDate=iso(server.now() + 3600)))
    assert server.advance_payouts() == 0
    server.set_skew(7200)
    assert server.advance_payouts() == 2
    assert server.state.payouts[payout["id"]].data["state"] == "COMPLETED"


async def test_fail_payout_refunds(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("50"))
    payout = await client.request(CREATE, _payload("20"))
    failed = server.fail_payout(payout["idempotencyKey"], "address is blacklisted")
    assert failed["state"] == "FAILED"
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("50")
    assert [e[0] for e in events][-2:] == ["PAYOUT_VALIDATION_ERROR", "PAYOUT_CHANGE_STATUS"]
    with pytest.raises(ValueError):
        server.fail_payout(payout["id"])


async def test_drop_after_processing_is_the_ambiguous_case(server: FakeCalypso, raw: RawSend) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    key = str(uuid.uuid4())
    server.inject(CREATE, Fault.drop_after_processing())
    import aiohttp

    with pytest.raises(aiohttp.ClientError):
        await raw(CREATE, envelope(server.account_id, _payload("10", key)))
    # The payout exists although nobody heard the answer ...
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("989.95")
    # ... so a retry with the same key meets 016, and the payout is found by its key.
    again = await raw(CREATE, envelope(server.account_id, _payload("10", key)))
    assert again.json["errorCode"] == "016"
    found = await raw("/api/v1/payout", envelope(server.account_id, {"idempotencyKey": key}))
    assert found.json["state"] == "CREATED"
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("989.95")


async def test_drop_before_processing_changes_nothing(server: FakeCalypso, raw: RawSend) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    server.inject(CREATE, Fault.drop())
    import aiohttp

    with pytest.raises(aiohttp.ClientError):
        await raw(CREATE, envelope(server.account_id, _payload("10")))
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("1000")
    assert not server.state.payouts


async def test_sdk_recipe_after_ambiguous_drop(server: FakeCalypso, client: AsyncCalypso) -> None:
    from calypso_async._operation import Operation
    from calypso_async.resources import OPERATIONS

    if "payouts.get" not in OPERATIONS:
        pytest.skip("generated resources not present yet (placeholder package)")
    op = OPERATIONS["payouts.create"]
    assert isinstance(op, Operation)
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    server.inject(CREATE, Fault.drop_after_processing())
    payout = await client._call(op, _payload("10"))
    assert payout.state == "CREATED"
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("989.95")


async def test_mass_payout_with_bad_items(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    key = str(uuid.uuid4())
    mass = await client.request(
        "/api/v1/payout/mass/create",
        {
            "currency": "USDT_TRX",
            "name": "Payroll",
            "idempotencyKey": key,
            "withdrawals": [
                {"depositAddress": ADDRESS, "amount": Decimal("100")},
                {"depositAddress": "", "amount": Decimal("5")},
                {"depositAddress": ADDRESS, "amount": Decimal("-1")},
                {"depositAddress": ADDRESS, "amount": Decimal("50"), "comment": "bonus"},
            ],
        },
    )
    assert mass["state"] == "CREATION_IN_PROGRESS" and mass["amount"] == Decimal("150")
    errors = mass["errors"]["withdrawalErrors"]
    assert len(errors) == 2
    assert "depositAddress" in errors[0]["errors"][0]["errorMessage"]
    assert "positive" in errors[1]["errors"][0]["errorMessage"]
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("1000") - Decimal("150.75")
    assert [e[0] for e in events] == ["PAYOUT_VALIDATION_ERROR"] * 2
    server.advance_payouts()
    fetched = await client.request("/api/v1/payout/mass", {"idempotencyKey": key})
    assert fetched["state"] == "PARTIAL"
    states = sorted(w["state"] for w in fetched["withdrawals"])
    assert states == ["COMPLETED", "COMPLETED", "FAILED", "FAILED"]
    failed = await client.request("/api/v1/payout/withdrawal", {"requestId": errors[0]["withdrawalId"]})
    assert failed["withdrawalErrors"][0]["status"] == "VALIDATION_ERROR"
    with pytest.raises(DuplicateIdempotencyKeyError):
        await client.request(
            "/api/v1/payout/mass/create",
            {"currency": "USDT_TRX", "idempotencyKey": key, "withdrawals": [{"address": ADDRESS, "amount": 1}]},
        )


async def test_mass_payout_rejections(server: FakeCalypso, client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError, match="withdrawals"):
        await client.request(
            "/api/v1/payout/mass/create", {"currency": "USDT_TRX", "idempotencyKey": str(uuid.uuid4())}
        )
    server.set_balance(server.account_id, "BTC", Decimal("0.1"))
    with pytest.raises(BadRequestError, match="Insufficient"):
        await client.request(
            "/api/v1/payout/mass/create",
            {
                "currency": "BTC",
                "idempotencyKey": str(uuid.uuid4()),
                "recipients": [{"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "amount": Decimal("0.1")}],
            },
        )
    single = await client.request(CREATE, _payload("1"))
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/payout/mass", {"id": single["id"]})


async def test_settlement_payouts(server: FakeCalypso, client: AsyncCalypso) -> None:
    record = next(iter(server.state.settlement_payouts.values()))
    by_id = await client.request("/api/v1/settlement/payout", {"id": record.data["id"]})
    by_key = await client.request("/api/v1/settlement/payout", {"idempotencyKey": record.data["idempotencyKey"]})
    assert by_id == by_key and by_id["state"] == "COMPLETED" and "blockchainFee" in by_id
    withdrawal = await client.request("/api/v1/settlement/payout/withdrawals", {"requestId": record.data["id"]})
    assert withdrawal["amount"] == by_id["amount"]
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/settlement/payout", {"id": "missing"})
