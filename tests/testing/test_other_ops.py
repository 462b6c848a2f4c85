"""Settlement wallets and reports, fiat/onramp/offramp getters, webhooks; and every operation answers."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import AsyncCalypso, BadRequestError, DuplicateIdempotencyKeyError, NotFoundError
from calypso_async.testing import FakeCalypso
from calypso_async.testing._http import iso
from calypso_async.testing._validation import operations

from .conftest import RawSend, envelope

TRON_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


async def test_settlement_wallets(server: FakeCalypso, client: AsyncCalypso) -> None:
    address = next(iter(server.state.settlement_wallets))
    wallet = await client.request("/api/v1/settlement/wallet", {"address": address})
    assert wallet["address"] == address and wallet["balances"]
    page = await client.request(
        "/api/v1/settlement/wallet/transactions", {"walletAddress": address, "pageNumber": 0, "pageSize": 10}
    )
    assert (
        page["totalElements"] >= 30 and len(page["result"]) == 10 and page["total"] == -(-page["totalElements"] // 10)
    )
    withdrawals = await client.request(
        "/api/v1/settlement/wallet/transactions",
        {"walletAddress": address, "opcodes": ["WITHDRAWAL"], "pageSize": 1000},
    )
    assert {t["opCode"] for t in withdrawals["result"]} == {"WITHDRAWAL"}
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/settlement/wallet", {"address": "nope"})


async def test_reports(server: FakeCalypso, client: AsyncCalypso) -> None:
    await client.request(
        "/api/v1/payout/create",
        {
            "currency": "USDT_TRX",
            "amount": Decimal("1"),
            "depositAddress": TRON_ADDRESS,
            "idempotencyKey": str(uuid.uuid4()),
        },
    )
    period = {"firstDate": iso(server.now() - 3600), "lastDate": iso(server.now() + 3600), "zoneOffset": "+00:00"}
    payouts = await client.request("/api/v1/report/payout", period)
    assert len(payouts["data"]) == 1 and payouts["data"][0]["amount"] == Decimal("1")
    invoices = await client.request("/api/v1/report/invoice", period)
    assert invoices["data"] == []
    outgoing = await client.request("/api/v1/settlement/report/outgoing", {"blockchainList": "tron"})
    assert outgoing["data"] and {row["opCode"] for row in outgoing["data"]} == {"WITHDRAWAL"}
    incoming = await client.request("/api/v1/settlement/report/incoming", {})
    assert {row["opCode"] for row in incoming["data"]} == {"DEPOSIT"}
    with pytest.raises(BadRequestError, match="firstDate"):
        await client.request(
            "/api/v1/report/payout", {"firstDate": iso(server.now()), "lastDate": iso(server.now() - 10)}
        )
    with pytest.raises(BadRequestError):
        await client.request("/api/v1/report/payout", {"firstDate": "yesterday"})


async def test_fiat_getters(server: FakeCalypso, client: AsyncCalypso) -> None:
    state = server.state
    order_id = next(iter(state.fiat_withdrawal_orders))
    assert (await client.request("/api/v1/fiat/withdrawal/order", {"id": order_id}))["id"] == order_id
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/fiat/withdrawal/order", {"id": str(uuid.uuid4())})
    geos = await client.request("/api/v1/fiat/withdrawal/geo")
    assert geos == await client.request("/api/v1/fiat/geo")
    geo = next(g for g in geos if g["fiatCurrency"] == "EUR")
    methods = await client.request(
        "/api/v1/fiat/withdrawal/method", {"geoId": geo["id"], "cryptoAmount": Decimal("100"), "currency": "USDT_TRX"}
    )
    assert methods["methods"][0]["fiatCurrency"] == "EUR"
    assert methods["methods"][0]["fiatAmount"] == (Decimal("100") * state.rate("USDT_TRX", "EUR")).quantize(
        Decimal("0.01")
    )
    deposit_id = next(iter(state.fiat_deposit_orders))
    assert (await client.request("/api/v1/fiat/deposit/order", {"id": deposit_id}))["id"] == deposit_id
    quote = await client.request("/api/v1/fiat/deposit/method", {"fiatAmount": Decimal("50"), "currency": "BTC"})
    assert len(quote["methods"]) == len(geos)
    key = next(iter(state.fiat_orders))
    assert (await client.request("/api/v1/fiat/order", {"idempotencyKey": key}))["currency"] == "USDT_TRX"
    fiat_methods = await client.request("/api/v1/fiat/method", {"currency": "USDT_TRX", "geoId": geo["id"]})
    assert fiat_methods["method"][0]["fixedRate"] > 0
    with pytest.raises(BadRequestError, match="geoId"):
        await client.request("/api/v1/fiat/method", {"currency": "USDT_TRX", "geoId": str(uuid.uuid4())})


async def test_fiat_deposit_key_is_idempotent(client: AsyncCalypso) -> None:
    key = str(uuid.uuid4())
    generated = await client.request("/api/v1/fiat/deposit/key/generate", {"idempotencyKey": key})
    assert generated["key"] and generated["expiredAt"]
    with pytest.raises(DuplicateIdempotencyKeyError):
        await client.request("/api/v1/fiat/deposit/key/generate", {"idempotencyKey": key})
    assert (await client.request("/api/v1/fiat/deposit/key/generate"))["key"]  # payload is optional


async def test_crypto_to_fiat(server: FakeCalypso, client: AsyncCalypso) -> None:
    order_id = next(iter(server.state.c2f_orders))
    assert (await client.request("/api/v1/c2f/order", {"orderId": order_id}))["orderId"] == order_id
    rate = await client.request("/api/v1/c2f/order/CARD/rate", {"fiatCurrency": "EUR", "currency": "USDT_TRX"})
    assert rate["rate"] > 0 and rate["fiatCurrency"] == "EUR"
    card = await client.request("/api/v1/c2f/order/CARD/limit", {"fiatCurrency": "EUR"})
    sepa = await client.request("/api/v1/c2f/order/SEPA/limit", {"fiatCurrency": "EUR"})
    assert card["maxLimit"] < sepa["maxLimit"] and card["limitCurrency"] == "EUR"
    with pytest.raises(BadRequestError, match="CARD"):
        await client.request("/api/v1/c2f/order/CASH/limit", {"fiatCurrency": "EUR"})


async def test_webhook_subscriptions(server: FakeCalypso, client: AsyncCalypso) -> None:
    request_id = str(uuid.uuid4())
    created = await client.request(
        "/api/v1/subscription/webhook/create",
        {"requestId": request_id, "url": "http://127.0.0.1:9/hook", "notificationServiceTypes": ["INVOICE"]},
    )
    assert created["requestId"] == request_id and len(created["secretKey"]) == 32 and created["createdDate"]
    assert [s.request_id for s in server.webhooks.subscriptions()] == [request_id]
    listed = await client.request("/api/v1/subscription/webhook")
    assert listed["subscriptions"] == [created]
    with pytest.raises(DuplicateIdempotencyKeyError):
        await client.request(
            "/api/v1/subscription/webhook/create",
            {"requestId": request_id, "url": "http://127.0.0.1:9/hook", "notificationEventTypes": ["INVOICE_PAID"]},
        )
    with pytest.raises(BadRequestError, match="url"):
        await client.request(
            "/api/v1/subscription/webhook/create",
            {"requestId": str(uuid.uuid4()), "url": "ftp://x", "notificationServiceTypes": ["INVOICE"]},
        )
    assert await client.request("/api/v1/subscription/webhook", {"requestId": request_id}, method="DELETE") is None
    assert server.requests[-1].method == "DELETE" and server.requests[-1].status == 200
    assert server.webhooks.subscriptions() == []
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/subscription/webhook", {"requestId": request_id}, method="DELETE")


def _samples(server: FakeCalypso) -> dict[str, Any]:
    """A valid payload for every operation (None: no payload)."""
    state = server.state
    geo = state.geos[0]["id"] if state.geos else None
    settlement = next(iter(state.settlement_payouts.values())).data
    return {
        "account.get": None,
        "user.current": None,
        "rates.get": {"fromCurrencies": ["BTC"], "toCurrencies": ["USDT_TRX"]},
        "rates.fiat": {"from": ["BTC"], "to": ["USD"]},
        "invoices.create_single": {"amount": Decimal("0.1"), "currency": "ETH", "description": "d"},
        "invoices.create_single_fiat": {
            "fiatAmount": Decimal("10"),
            "fiatCurrency": "USD",
            "currency": "ETH",
            "description": "d",
        },
        "invoices.create_bound": {"lowerBound": Decimal("1"), "currency": "TRX", "description": "d"},
        "invoices.create_unlimited": {"currency": "TRX", "description": "d"},
        "invoices.get": {"id": "INVOICE"},
        "payment_widgets.create_unlimited_linked": {"idempotencyKey": "W1"},
        "payment_widgets.get_unlimited_linked": {"requestId": "W1"},
        "payment_widgets.create_single_fiat": {
            "idempotencyKey": "W2",
            "fiatAmount": Decimal("5"),
            "fiatCurrency": "USD",
        },
        "payment_widgets.get_single_fiat": {"requestId": "W2"},
        "payouts.create": {"currency": "TRX", "amount": Decimal("1"), "depositAddress": TRON_ADDRESS},
        "payouts.get": {"id": "PAYOUT"},
        "payouts.get_withdrawal": {"requestId": "PAYOUT"},
        "payouts.create_mass": {"currency": "TRX", "withdrawals": [{"depositAddress": TRON_ADDRESS, "amount": 1}]},
        "payouts.get_mass": {"id": "MASS"},
        "settlement_payouts.get": {"id": settlement["id"]},
        "settlement_payouts.get_withdrawal": {"requestId": settlement["id"]},
        "fiat_withdrawals.get": {"id": next(iter(state.fiat_withdrawal_orders))},
        "fiat_withdrawals.get_methods": {"currency": "USDT_TRX", "cryptoAmount": Decimal("10")},
        "fiat_withdrawals.list_geos": None,
        "exchanges.pre_calculate": {
            "sourceCurrency": "TRX",
            "destinationCurrency": "ETH",
            "amount": Decimal("10"),
            "direction": "SOURCE",
        },
        "exchanges.pairs": None,
        "exchanges.get_limit": {"sourceCurrency": "TRX", "destinationCurrency": "ETH"},
        "exchanges.create": {"sourceCurrency": "TRX", "destinationCurrency": "ETH", "amount": Decimal("10")},
        "exchanges.get": {"id": -1},
        "exchanges.get_average_rate": {"sourceCurrency": "TRX", "destinationCurrency": "ETH"},
        "crypto_to_fiat.get_order": {"orderId": next(iter(state.c2f_orders))},
        "crypto_to_fiat.fix_rate": {"fiatCurrency": "EUR", "currency": "ETH"},
        "crypto_to_fiat.get_limit": {"fiatCurrency": "EUR"},
        "fiat.get_order": {"idempotencyKey": next(iter(state.fiat_orders))},
        "fiat.get_methods": {"currency": "ETH", "geoId": geo},
        "fiat.list_geos": None,
        "fiat_deposits.get": {"id": next(iter(state.fiat_deposit_orders))},
        "fiat_deposits.get_methods": {"currency": "ETH", "fiatAmount": Decimal("100")},
        "fiat_deposits.generate_key": {"idempotencyKey": "K1"},
        "customer_purse.create_customer": {"description": "c"},
        "customer_purse.update_customer": {"id": "CUSTOMER", "description": "c2"},
        "customer_purse.block_customer": {"customerId": "CUSTOMER"},
        "customer_purse.unblock_customer": {"customerId": "CUSTOMER"},
        "customer_purse.get_address": {"customerId": "CUSTOMER", "currency": "TRX"},
        "customer_purse.list_purses": {},
        "customer_purse.get_transaction": {"transactionId": "TRANSACTION"},
        "customer_purse.find_transactions": {"pageSize": 5},
        "settlement_wallets.get": {"address": next(iter(state.settlement_wallets))},
        "settlement_wallets.find_transactions": {"pageSize": 5},
        "settlement_reports.outgoing": {},
        "settlement_reports.incoming": {},
        "reports.payouts": {},
        "reports.invoices": {},
        "webhooks.create": {"requestId": "H1", "url": "http://127.0.0.1:9/h", "notificationServiceTypes": ["PAYOUT"]},
        "webhooks.list": None,
        "webhooks.delete": {"requestId": "H1"},
    }


async def test_every_operation_answers(server: FakeCalypso, raw: RawSend) -> None:
    samples = _samples(server)
    ops = operations()
    assert len(ops) == 55 and set(samples) == {op.name for op in ops}
    created: dict[str, Any] = {}
    ordered = sorted(ops, key=lambda op: 0 if "create" in op.name else 2 if op.name == "webhooks.delete" else 1)
    for op in ordered:  # creates first, so the gets find what they look for
        payload = samples[op.name]
        if isinstance(payload, dict):
            payload = {k: created.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
            if op.idempotency_field and op.idempotency_field not in payload:
                payload[op.idempotency_field] = str(uuid.uuid4())
        if op.name == "exchanges.get":
            payload = {"id": created["EXCHANGE"]}
        if op.name == "customer_purse.get_transaction":
            customer = created["CUSTOMER"]
            created["TRANSACTION"] = server.add_purse_transactions(customer, 1)[0]["id"]
            payload = {"transactionId": created["TRANSACTION"]}
        path = op.path.replace("{type}", "CARD")
        body = envelope(server.account_id if op.account else None, payload)
        answer = await raw(path, body, method=op.method)
        assert answer.status == 200, (op.name, answer.body)
        data = answer.json if answer.body else None
        if op.name == "invoices.create_single":
            created["INVOICE"] = data["id"]
        elif op.name == "payouts.create":
            created["PAYOUT"] = data["id"]
        elif op.name == "payouts.create_mass":
            created["MASS"] = data["id"]
        elif op.name == "exchanges.create":
            created["EXCHANGE"] = data["id"]
        elif op.name == "customer_purse.create_customer":
            created["CUSTOMER"] = data["id"]
    for name in ("INVOICE", "PAYOUT", "MASS", "EXCHANGE", "CUSTOMER"):
        assert name in created
