"""Invoices (four kinds), idempotency (016), lookup, the simulated payer, expiry; payment widgets."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, BadRequestError, DuplicateIdempotencyKeyError, NotFoundError
from calypso_async.testing import FakeCalypso

from .conftest import Event, RawSend, envelope

SINGLE = "/api/v1/invoice/single/create"


async def _single(client: AsyncCalypso, amount: str = "0.01", currency: str = "ETH", **extra: object) -> dict:
    payload = {
        "amount": Decimal(amount),
        "currency": currency,
        "description": "Order 1",
        "idempotencyKey": str(uuid.uuid4()),
        **extra,
    }
    return await client.request(SINGLE, payload)


async def test_create_single_and_get_by_id_or_key(server: FakeCalypso, client: AsyncCalypso) -> None:
    created = await _single(client, externalId="order-1")
    assert created["type"] == "SINGLE" and created["state"] == "PENDING_PAYMENT"
    assert created["amount"] == Decimal("0.01") and created["currency"] == "ETH"
    assert created["invoiceAddress"].startswith("0x")
    assert created["paymentLink"] == f"https://pay.calypso.finance/invoice/{created['idempotencyKey']}"
    by_id = await client.request("/api/v1/invoice", {"id": created["id"]})
    by_key = await client.request("/api/v1/invoice", {"idempotencyKey": created["idempotencyKey"]})
    assert by_id == by_key == created


async def test_reused_key_is_016(client: AsyncCalypso) -> None:
    created = await _single(client)
    with pytest.raises(DuplicateIdempotencyKeyError) as info:
        await client.request(
            SINGLE,
            {
                "amount": Decimal("1"),
                "currency": "ETH",
                "description": "x",
                "idempotencyKey": created["idempotencyKey"],
            },
        )
    assert info.value.error_code == "016"
    assert "already exists" in info.value.message


async def test_get_needs_exactly_one_selector_and_unknown_is_004(client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError):
        await client.request("/api/v1/invoice", {})
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/invoice", {"id": "999999"})


async def test_invoice_of_another_account_is_not_found(server: FakeCalypso, client: AsyncCalypso) -> None:
    created = await _single(client)
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/invoice", {"id": created["id"]}, account=server.accounts[1])


@pytest.mark.parametrize(
    ("amount_text", "fragment"),
    [(b"0.1000000000000000055511151231257827", b"decimal places"), (b"1e-3", b"exponent"), (b"1E2", b"exponent")],
)
async def test_float_mangled_amounts_are_rejected(
    server: FakeCalypso, raw: RawSend, amount_text: bytes, fragment: bytes
) -> None:
    body = envelope(server.account_id, {"amount": "AMOUNT", "currency": "ETH", "description": "d"})
    answer = await raw(SINGLE, body.replace(b'"AMOUNT"', amount_text))
    assert answer.json["errorCode"] == "001"
    assert b"payload.amount" in answer.body and fragment in answer.body
    assert not server.state.invoices


async def test_amount_beyond_currency_scale_and_non_positive(client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError, match="decimal places"):
        await _single(client, amount="0.123456789", currency="BTC")
    with pytest.raises(BadRequestError, match="positive"):
        await _single(client, amount="0")
    with pytest.raises(BadRequestError, match="currency"):
        await _single(client, currency="DOGE")


async def test_missing_required_field_names_it(client: AsyncCalypso) -> None:
    with pytest.raises(BadRequestError, match=r"payload\.description"):
        await client.request(SINGLE, {"amount": Decimal("1"), "currency": "ETH"})


async def test_expiration_rules(client: AsyncCalypso, server: FakeCalypso) -> None:
    from calypso_async.testing._http import iso

    with pytest.raises(BadRequestError, match="24 hours"):
        await _single(client, expiration=iso(server.now() + 25 * 3600))
    with pytest.raises(BadRequestError, match="future"):
        await _single(client, expiration=iso(server.now() - 60))
    tron = await _single(client, currency="USDT_TRX", amount="10")
    eth = await _single(client)
    assert tron["expiration"] < eth["expiration"]  # 3 h for TRON currencies, 1 day otherwise


async def test_full_payment_flow(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    before = server.balance(server.account_id, "ETH")
    created = await _single(client, amount="0.5")
    paid = server.pay_invoice(created["id"])
    assert paid["state"] == "COMPLETED" and paid["lastDepositHash"]
    fetched = await client.request("/api/v1/invoice", {"id": created["id"]})
    assert fetched["state"] == "COMPLETED"
    fee = Decimal("0.0025")
    assert server.balance(server.account_id, "ETH") == before + Decimal("0.5") - fee
    assert [e[0] for e in events] == [
        "INVOICE_CREATE_INVOICE",
        "INVOICE_MEMPOOL_FOUND",
        "INVOICE_FUNDS_RECEIVED_FOR_INVOICE",
        "INVOICE_PAID",
        "INVOICE_TRANSLATION_TO_ACCOUNT_COMPLETED",
    ]
    assert all(service == "INVOICE" for _, service, _ in events)
    assert events[-1][2]["parentExternalId"] == int(created["id"])
    assert events[-1][2]["idempotencyKey"] == created["idempotencyKey"]
    with pytest.raises(ValueError):
        server.pay_invoice(created["id"])


async def test_underpay_then_top_up(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    created = await _single(client, amount="100", currency="USDT_TRX")
    before = server.balance(server.account_id, "USDT_TRX")
    under = server.pay_invoice(created["idempotencyKey"], Decimal("90"))
    assert (under["state"], under["interventionType"]) == ("PENDING_INTERVENTION", "UNDERPAY")
    assert server.balance(server.account_id, "USDT_TRX") == before
    assert events[-1][0] == "INVOICE_PENDING_INTERVENTION"
    done = server.pay_invoice(created["id"], Decimal("9.6"), currency="USDT_TRX")  # 99.6 % >= 99.5 %
    assert done["state"] == "COMPLETED" and "interventionType" not in done
    assert server.balance(server.account_id, "USDT_TRX") == before + Decimal("99.6") - Decimal("0.498")


async def test_overpay_goes_to_intervention(server: FakeCalypso, client: AsyncCalypso) -> None:
    created = await _single(client, amount="10", currency="USDT_TRX")
    over = server.pay_invoice(created["id"], Decimal("12"))
    assert (over["state"], over["interventionType"]) == ("PENDING_INTERVENTION", "OVERPAY")
    with pytest.raises(ValueError):
        server.pay_invoice(created["id"], Decimal("1"), currency="BTC")
    with pytest.raises(LookupError):
        server.pay_invoice("no-such-invoice")


async def test_single_fiat_bound_and_unlimited(server: FakeCalypso, client: AsyncCalypso) -> None:
    fiat = await client.request(
        "/api/v1/invoice/single-fiat/create",
        {
            "fiatAmount": Decimal("100"),
            "fiatCurrency": "EUR",
            "currency": "USDT_TRX",
            "description": "Fiat",
            "idempotencyKey": str(uuid.uuid4()),
        },
    )
    rate = server.state.rate("USDT_TRX", "EUR")
    assert fiat["type"] == "SINGLE_FIAT" and fiat["fiatAmount"] == Decimal("100")
    assert fiat["amount"] == server.state.quantize(Decimal("100") / rate, "USDT_TRX")
    bound = await client.request(
        "/api/v1/invoice/bound/create",
        {
            "lowerBound": Decimal("0.001"),
            "currency": "BTC",
            "description": "Bound",
            "idempotencyKey": str(uuid.uuid4()),
        },
    )
    assert bound["type"] == "BOUND" and bound["lowerBound"] == Decimal("0.001") and "amount" not in bound
    assert server.pay_invoice(bound["id"], Decimal("0.002"))["state"] == "COMPLETED"
    unlimited = await client.request(
        "/api/v1/invoice/unlimited/create",
        {"currency": "TRX", "description": "Deposit", "idempotencyKey": str(uuid.uuid4())},
    )
    assert unlimited["type"] == "UNLIMITED" and unlimited["invoiceAddress"].startswith("T")
    before = server.balance(server.account_id, "TRX")
    for _ in range(3):
        assert server.pay_invoice(unlimited["id"], Decimal("100"))["state"] == "PENDING_PAYMENT"
    assert server.balance(server.account_id, "TRX") == before + 3 * (Decimal("100") - Decimal("0.5"))
    with pytest.raises(ValueError):
        server.pay_invoice(unlimited["id"])


async def test_unpaid_invoice_expires_when_read(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    created = await _single(client)
    server.set_skew(2 * 86_400)  # two days later; the SDK re-learns the clock from the 011 answer
    fetched = await client.request("/api/v1/invoice", {"id": created["id"]})
    assert fetched["state"] == "ARCHIVED"
    assert events[-1][0] == "INVOICE_EXPIRED"
    with pytest.raises(ValueError):
        server.pay_invoice(created["id"])


async def test_payment_widgets(server: FakeCalypso, client: AsyncCalypso) -> None:
    key = str(uuid.uuid4())
    linked = await client.request(
        "/api/v1/payment-widget/unlimited-linked/create",
        {"cryptoCurrencies": ["USDT_TRX", "ETH"], "description": "Top up", "idempotencyKey": key},
    )
    assert (linked["widgetType"], linked["widgetState"]) == ("UNLIMITED_LINKED", "IN_PROGRESS")
    assert await client.request("/api/v1/payment-widget/unlimited-linked/find", {"requestId": key}) == linked
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/payment-widget/single-fiat/find", {"requestId": key})
    with pytest.raises(DuplicateIdempotencyKeyError):
        await client.request("/api/v1/payment-widget/unlimited-linked/create", {"idempotencyKey": key})
    fiat_key = str(uuid.uuid4())
    fiat = await client.request(
        "/api/v1/payment-widget/single-fiat/create",
        {
            "fiatAmount": Decimal("25"),
            "fiatCurrency": "USD",
            "cryptoCurrencies": ["BTC", {"name": "USDT_TRX"}],
            "description": "Basket",
            "idempotencyKey": fiat_key,
        },
    )
    assert fiat["cryptoCurrencies"] == ["BTC", "USDT_TRX"] and fiat["fiatAmount"] == Decimal("25")
    invoice = server.select_widget_currency(fiat_key, "USDT_TRX")
    assert invoice["type"] == "SINGLE_FIAT" and invoice["fiatAmount"] == Decimal("25")
    server.pay_invoice(invoice["id"])
    found = await client.request("/api/v1/payment-widget/single-fiat/find", {"requestId": fiat_key})
    assert found["widgetState"] == "COMPLETED"
    assert found["invoices"][0]["invoiceId"] == invoice["id"]
    linked_invoice = server.select_widget_currency(key, "ETH")
    assert linked_invoice["type"] == "UNLIMITED_LINKED"
