"""Every operation against the fake server (``calypso_async.testing.FakeCalypso``).

For each of the 55 operations: the generated method is called with realistic arguments (objects it needs are
created first through the API), then the request the server recorded is checked (exact path, method, envelope
keys per ``x-envelope``, camelCase payload, Decimals as bare numbers) and the answer must come back typed (the
operation's response model, or decoded JSON where the reference documents none).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import AsyncCalypso, RetryPolicy
from calypso_async._model import Model
from calypso_async.models import (
    CustomerDTO,
    ExchangeDTO,
    InvoiceDTO,
    InvoiceState,
    InvoiceType,
    PaymentWidgetPGSingleFiatDTO,
    PaymentWidgetPGUnlimitedLinkedDTO,
    PayoutState,
    PublicDealResponseDTO,
)
from calypso_async.resources import OPERATIONS
from calypso_async.testing import FakeCalypso

Recipe = Callable[[FakeCalypso, AsyncCalypso], Awaitable[dict[str, Any]]]
KEY = "0b7e1e5c-6a0d-4c1e-9d4f-5e2a8c3b7f10"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=7) as srv:
        yield srv


@pytest.fixture
async def api(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    async with server.client(retry_policy=RetryPolicy(max_retries=0, sleep=_no_sleep), timeout=10.0) as client:
        yield client


def period(server: FakeCalypso) -> dict[str, Any]:
    now = datetime.fromtimestamp(server.now(), tz=timezone.utc).replace(microsecond=0)
    return {"first_date": now - timedelta(days=40), "last_date": now + timedelta(hours=1), "zone_offset": "+00:00"}


async def _payout(server: FakeCalypso, api: AsyncCalypso) -> PublicDealResponseDTO:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    return await api.payouts.create(
        deposit_address="TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N", amount=Decimal("12.50"), currency="USDT_TRX"
    )


async def _mass(server: FakeCalypso, api: AsyncCalypso) -> PublicDealResponseDTO:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    return await api.payouts.create_mass(
        currency="USDT_TRX",
        name="Payroll",
        idempotency_key=KEY,
        extra={"withdrawals": [{"depositAddress": "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N", "amount": Decimal("2.5")}]},
    )


async def _customer(api: AsyncCalypso) -> CustomerDTO:
    return await api.customer_purse.create_customer(description="Alice")


def _first(mapping: Any) -> Any:
    return next(iter(mapping))


RECIPES: dict[str, Recipe] = {}


def recipe(name: str) -> Callable[[Recipe], Recipe]:
    def register(fn: Recipe) -> Recipe:
        RECIPES[name] = fn
        return fn

    return register


def constant(name: str, kwargs: dict[str, Any]) -> None:
    async def fn(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
        return dict(kwargs)

    RECIPES[name] = fn


constant("account.get", {})
constant("user.current", {})
constant("rates.get", {"from_currencies": ["BTC", "ETH"], "to_currencies": ["USDT_TRX"]})
constant("rates.fiat", {"from_": ["BTC"], "to": ["USD"]})
constant("invoices.create_single", {"amount": Decimal("0.001"), "currency": "ETH", "description": "Order 1"})
constant(
    "invoices.create_single_fiat",
    {"fiat_amount": Decimal("10.50"), "fiat_currency": "USD", "currency": "ETH", "description": "Order 2"},
)
constant("invoices.create_bound", {"lower_bound": Decimal("5"), "currency": "TRX", "description": "Order 3"})
constant("invoices.create_unlimited", {"currency": "TRX", "description": "Deposits", "external_id": "user-9"})
constant("payment_widgets.create_unlimited_linked", {"crypto_currencies": ["USDT_TRX", "BTC"], "description": "W"})
constant(
    "payment_widgets.create_single_fiat",
    {"fiat_amount": Decimal("25.00"), "fiat_currency": "USD", "crypto_currencies": ["ETH"], "description": "W"},
)
constant("fiat_withdrawals.list_geos", {})
constant(
    "exchanges.pre_calculate",
    {"source_currency": "TRX", "destination_currency": "ETH", "amount": Decimal("100.5"), "direction": "SOURCE"},
)
constant("exchanges.pairs", {})
constant("exchanges.get_limit", {"source_currency": "TRX", "destination_currency": "ETH"})
constant("exchanges.get_average_rate", {"source_currency": "TRX", "destination_currency": "ETH"})
constant("crypto_to_fiat.fix_rate", {"type": "CARD", "fiat_currency": "EUR", "currency": "USDT_TRX"})
constant("crypto_to_fiat.get_limit", {"type": "SEPA", "fiat_currency": "EUR"})
constant("fiat.list_geos", {})
constant("fiat_deposits.get_methods", {"currency": "BTC", "fiat_amount": Decimal("50")})
constant("fiat_deposits.generate_key", {"merchant_external_id": "user-1", "return_url": "https://shop.example/back"})
constant("customer_purse.create_customer", {"description": "Alice", "email": "alice@example.com"})
constant("customer_purse.find_transactions", {"page_number": 0, "page_size": 5, "sort": "ASC"})
constant("settlement_wallets.find_transactions", {"page_number": 0, "page_size": 5})
constant("webhooks.list", {})


@recipe("exchanges.create")
async def _exchange_create(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    server.set_balance(server.account_id, "TRX", Decimal("1000"))
    return {"source_currency": "TRX", "destination_currency": "ETH", "amount": Decimal("10")}


@recipe("exchanges.get")
async def _exchange_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    created: ExchangeDTO = await api.exchanges.create(
        **await _exchange_create(server, api)  # type: ignore[arg-type]
    )
    return {"id": created.id}


@recipe("invoices.get")
async def _invoice_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    invoice = await api.invoices.create_single(amount=Decimal("0.5"), currency="ETH", description="x")
    return {"idempotency_key": invoice.idempotency_key}


@recipe("payment_widgets.get_unlimited_linked")
async def _widget_linked(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    widget = await api.payment_widgets.create_unlimited_linked(crypto_currencies=["BTC"], idempotency_key=KEY)
    return {"request_id": widget.idempotency_key or KEY}


@recipe("payment_widgets.get_single_fiat")
async def _widget_fiat(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    await api.payment_widgets.create_single_fiat(
        fiat_amount=Decimal("5"), fiat_currency="USD", crypto_currencies=["ETH"], idempotency_key=KEY
    )
    return {"request_id": KEY}


@recipe("payouts.create")
async def _payout_create(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    return {
        "deposit_address": "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N",
        "amount": Decimal("12.50"),
        "currency": "USDT_TRX",
        "comment": "salary",
        "idempotency_key": KEY,
    }


@recipe("payouts.get")
async def _payout_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"id": (await _payout(server, api)).id}


@recipe("payouts.get_withdrawal")
async def _payout_withdrawal(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"request_id": (await _payout(server, api)).id}


@recipe("payouts.create_mass")
async def _mass_create(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("1000"))
    return {
        "currency": "USDT_TRX",
        "name": "Payroll",
        "extra": {"withdrawals": [{"depositAddress": "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N", "amount": Decimal("2.5")}]},
    }


@recipe("payouts.get_mass")
async def _mass_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    await _mass(server, api)
    return {"idempotency_key": KEY}


@recipe("settlement_payouts.get")
async def _settlement_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"id": _first(server.state.settlement_payouts)}


@recipe("settlement_payouts.get_withdrawal")
async def _settlement_withdrawal(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"request_id": _first(server.state.settlement_payouts)}


@recipe("fiat_withdrawals.get")
async def _fw_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"id": _first(server.state.fiat_withdrawal_orders)}


@recipe("fiat_withdrawals.get_methods")
async def _fw_methods(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    geo = next(g for g in server.state.geos if g["fiatCurrency"] == "EUR")
    return {"geo_id": geo["id"], "crypto_amount": Decimal("100.00"), "currency": "USDT_TRX"}


@recipe("crypto_to_fiat.get_order")
async def _c2f_order(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"order_id": _first(server.state.c2f_orders)}


@recipe("fiat.get_order")
async def _fiat_order(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"idempotency_key": _first(server.state.fiat_orders)}


@recipe("fiat.get_methods")
async def _fiat_methods(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"currency": "USDT_TRX", "geo_id": server.state.geos[0]["id"]}


@recipe("fiat_deposits.get")
async def _fd_get(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"id": _first(server.state.fiat_deposit_orders)}


@recipe("customer_purse.get_transaction")
async def _purse_tx(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    customer = await _customer(api)
    assert customer.id is not None
    return {"transaction_id": server.add_purse_transactions(customer.id, 1)[0]["id"]}


@recipe("customer_purse.list_purses")
async def _purses(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    customer = await _customer(api)
    await api.customer_purse.get_address(customer_id=customer.id or "", currency="TRX")
    return {"customer_id": customer.id}


@recipe("customer_purse.update_customer")
async def _update(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"id": (await _customer(api)).id, "description": "Alice B."}


@recipe("customer_purse.block_customer")
async def _block(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"customer_id": (await _customer(api)).id}


@recipe("customer_purse.unblock_customer")
async def _unblock(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    customer = await _customer(api)
    await api.customer_purse.block_customer(customer_id=customer.id or "")
    return {"customer_id": customer.id}


@recipe("customer_purse.get_address")
async def _address(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"customer_id": (await _customer(api)).id, "currency": "USDT_TRX"}


@recipe("settlement_wallets.get")
async def _wallet(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"address": _first(server.state.settlement_wallets)}


for _name in ("settlement_reports.outgoing", "settlement_reports.incoming", "reports.payouts", "reports.invoices"):

    async def _report(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
        return period(server)

    RECIPES[_name] = _report


@recipe("webhooks.create")
async def _hook_create(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    return {"url": "http://127.0.0.1:9/hook", "notification_service_types": ["INVOICE", "PAYOUT"]}


@recipe("webhooks.delete")
async def _hook_delete(server: FakeCalypso, api: AsyncCalypso) -> dict[str, Any]:
    created = await api.webhooks.create(url="http://127.0.0.1:9/hook", notification_event_types=["INVOICE_PAID"])
    return {"request_id": created.request_id}


def test_every_operation_has_a_recipe() -> None:
    assert set(RECIPES) == set(OPERATIONS)


def expected_payload(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What the payload must be: the kwargs by wire name (from the model of the payload schema)."""
    from . import _spec

    wire = {arg.name: arg.wire for arg in _spec.args_of(name) if arg.kind != "path"}
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "extra":
            out.update(value)
        elif key in wire:
            out[wire[key]] = (
                value.isoformat() if isinstance(value, datetime) else list(value) if isinstance(value, tuple) else value
            )
    return out


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_operation_against_fake_server(name: str, server: FakeCalypso, api: AsyncCalypso) -> None:
    op = OPERATIONS[name]
    kwargs = await RECIPES[name](server, api)
    before = len(server.requests)
    resource, method = name.split(".")
    result = await getattr(getattr(api, resource), method)(**kwargs)

    assert len(server.requests) == before + 1, "exactly one request"
    recorded = server.requests[-1]
    assert recorded.status == 200
    assert recorded.operation == name
    assert recorded.method == op.method
    assert recorded.path == op.path.format(**{k: kwargs[k] for k in ("type",) if k in kwargs})
    body = recorded.json
    assert isinstance(body, dict)
    keys = (["account"] if op.account else []) + ["timestamp"]
    expected = expected_payload(name, kwargs)
    if op.idempotency_field is not None and op.idempotency_field not in expected:
        assert isinstance(body["payload"][op.idempotency_field], str)
        expected[op.idempotency_field] = body["payload"][op.idempotency_field]
    if op.payload != "none" and (expected or op.payload == "required"):
        keys.append("payload")
    assert list(body) == keys
    if op.account:
        assert body["account"] == server.account_id
    if "payload" in body:
        assert body["payload"] == expected
    for value in expected.values():
        if isinstance(value, Decimal):
            assert b":" + str(value).encode() in recorded.body  # bare number, digits as given

    if op.response is None:
        assert not isinstance(result, Model)
    else:
        assert isinstance(result, op.response)


async def test_invoice_life_cycle_typed(server: FakeCalypso, api: AsyncCalypso) -> None:
    invoice = await api.invoices.create_single(amount=Decimal("0.001"), currency="ETH", description="Order 1")
    assert isinstance(invoice, InvoiceDTO)
    assert invoice.type == InvoiceType.SINGLE and invoice.state == InvoiceState.PENDING_PAYMENT
    assert invoice.amount == Decimal("0.001") and invoice.idempotency_key
    assert invoice.created_date is not None and invoice.created_date.tzinfo is not None
    server.pay_invoice(invoice.id or "")
    paid = await api.invoices.get(id=invoice.id)
    assert paid.state in (InvoiceState.PAID, InvoiceState.COMPLETED)
    by_key = await api.invoices.get(idempotency_key=invoice.idempotency_key)
    assert by_key.id == invoice.id


async def test_payout_typed(server: FakeCalypso, api: AsyncCalypso) -> None:
    payout = await _payout(server, api)
    assert payout.state == PayoutState.CREATED and payout.amount == Decimal("12.50")
    server.advance_payouts()
    done = await api.payouts.get(idempotency_key=payout.idempotency_key)
    assert done.state == PayoutState.COMPLETED and done.id == payout.id


async def test_widgets_typed(server: FakeCalypso, api: AsyncCalypso) -> None:
    linked = await api.payment_widgets.create_unlimited_linked(crypto_currencies=["BTC", "ETH"], description="W")
    single = await api.payment_widgets.create_single_fiat(fiat_amount=Decimal("5"), fiat_currency="USD")
    assert isinstance(linked, PaymentWidgetPGUnlimitedLinkedDTO) and isinstance(single, PaymentWidgetPGSingleFiatDTO)
    assert linked.crypto_currencies == ["BTC", "ETH"]


async def test_auto_paging_against_fake_server(server: FakeCalypso, api: AsyncCalypso) -> None:
    customer = await _customer(api)
    assert customer.id is not None
    seeded = server.add_purse_transactions(customer.id, 1000)
    before = len(server.requests)
    ids = [tx.id async for tx in api.customer_purse.iter_transactions(customer_id=customer.id, page_size=100)]
    assert sorted(ids) == sorted(t["id"] for t in seeded) and len(set(ids)) == 1000
    assert len(server.requests) - before == 10
    wallet = _first(server.state.settlement_wallets)
    txs = [tx async for tx in api.settlement_wallets.iter_transactions(wallet_address=wallet, page_size=7)]
    assert txs and all(tx.transaction_hash for tx in txs)
    assert len({tx.transaction_hash for tx in txs}) == len(txs)
