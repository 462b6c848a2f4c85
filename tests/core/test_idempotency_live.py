"""Money never moves twice because of a retry: the reference's recipe, end to end on the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from calypso_async import (
    AsyncCalypso,
    DuplicateIdempotencyKeyError,
    OutcomeUnknownError,
    RetryPolicy,
    ServerError,
)
from calypso_async.testing import FakeCalypso, Fault

ADDRESS = "TXyz9wqvRz1U7d7Q3d8yX1rXoKXbqvW8Ju"


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=5) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    async with server.client(retry_policy=RetryPolicy(max_retries=3, sleep=no_sleep)) as c:
        yield c


async def test_payout_dropped_after_storing_exists_exactly_once(server: FakeCalypso, client: AsyncCalypso) -> None:
    before = server.balance(server.account_id, "USDT_TRX")
    server.inject("/api/v1/payout/create", Fault.drop_after_processing())
    payout = await client.payouts.create(amount=Decimal("10.25"), currency="USDT_TRX", deposit_address=ADDRESS)
    assert len(server.state.payouts) == 1
    (stored,) = server.state.payouts.values()
    assert payout.id == stored.data["id"]
    assert payout.amount == Decimal("10.25")
    assert payout.idempotency_key and payout.idempotency_key == stored.data["idempotencyKey"]
    creates = [r for r in server.requests if r.path == "/api/v1/payout/create"]
    assert len(creates) == 2
    assert {r.json["payload"]["idempotencyKey"] for r in creates if r.json} == {payout.idempotency_key}
    debited = before - server.balance(server.account_id, "USDT_TRX")
    assert Decimal("10.25") <= debited < Decimal("20.5")  # amount plus a fee, once


async def test_invoice_create_with_5xx_after_storing_is_not_duplicated(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    server.inject("/api/v1/invoice/single/create", Fault.drop_after_processing())
    invoice = await client.invoices.create_single(amount=Decimal("0.5"), currency="ETH", description="x")
    assert len(server.state.invoices) == 1
    assert invoice.id in server.state.invoices


async def test_caller_key_is_kept_and_a_repeated_call_returns_the_first_object(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    key = "5b0f6a4e-2a8c-4a57-9d43-8f3f6b3e2d10"
    payout = await client.payouts.create(
        amount=Decimal("1"), currency="USDT_TRX", deposit_address=ADDRESS, idempotency_key=key
    )
    assert payout.idempotency_key == key
    again = await client.payouts.create(
        amount=Decimal("1.00"), currency="usdt_trx", deposit_address=ADDRESS, idempotency_key=key
    )
    assert again.id == payout.id and again.idempotency_key == key
    with pytest.raises(DuplicateIdempotencyKeyError) as info:
        await client.payouts.create(
            amount=Decimal("2"), currency="USDT_TRX", deposit_address=ADDRESS, idempotency_key=key
        )
    assert info.value.idempotency_key == key
    assert info.value.existing is not None and info.value.existing.id == payout.id
    assert len(server.state.payouts) == 1


async def test_key_is_returned_on_errors(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.inject("/api/v1/payout/create", Fault.status(503, times=4))
    with pytest.raises(ServerError) as info:
        await client.payouts.create(amount=Decimal("1"), currency="USDT_TRX", deposit_address=ADDRESS)
    assert info.value.idempotency_key
    assert not server.state.payouts


async def test_exchange_is_not_retried_after_an_ambiguous_failure(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.inject("/api/v1/exchange/create", Fault.drop_after_processing())
    with pytest.raises(OutcomeUnknownError) as info:
        await client.exchanges.create(source_currency="USDT_TRX", destination_currency="BTC", amount=Decimal("5"))
    assert "exchanges.get" in str(info.value)
    assert len([r for r in server.requests if r.path == "/api/v1/exchange/create"]) == 1
    assert len(server.state.exchanges) == 1  # it did happen; the caller was told to check, not retried


async def test_exchange_is_retried_when_the_request_never_arrived(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.inject("/api/v1/exchange/create", Fault.status(429, retry_after=0))
    exchange = await client.exchanges.create(
        source_currency="USDT_TRX", destination_currency="BTC", amount=Decimal("5")
    )
    assert exchange.id is not None
    assert len(server.state.exchanges) == 1


async def test_eighteen_decimals_round_trip_through_request_and_response(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    amount = Decimal("0.123456789012345678")
    invoice = await client.invoices.create_single(amount=amount, currency="ETH", description="precise")
    sent = next(r for r in server.requests if r.path == "/api/v1/invoice/single/create")
    assert b'"amount":0.123456789012345678' in sent.body
    assert invoice.amount == amount
    again = await client.invoices.get(id=invoice.id)
    assert again.amount == amount


async def test_webhook_subscription_dropped_after_storing_is_found_in_the_list(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    server.inject("/api/v1/subscription/webhook/create", Fault.drop_after_processing())
    created = await client.webhooks.create(url="https://example.com/hook", notification_service_types=["INVOICE"])
    assert created.request_id
    assert [s.request_id for s in server.webhooks.subscriptions()] == [created.request_id]
    assert created.secret_key and created.secret_key not in repr(created)
