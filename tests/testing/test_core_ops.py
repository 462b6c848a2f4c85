"""Account, user and rates answers; the request log; ``client()``; determinism."""

from __future__ import annotations

from decimal import Decimal

from calypso_async import AsyncCalypso
from calypso_async.testing import FakeCalypso, RecordedRequest

TRON_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def test_identity_is_deterministic_from_seed() -> None:
    a, b, c = FakeCalypso(seed=7), FakeCalypso(seed=7), FakeCalypso(seed=8)
    assert (a.api_key, a.secret_key, a.accounts) == (b.api_key, b.secret_key, b.accounts)
    assert a.api_key != c.api_key and a.accounts != c.accounts
    for key in (a.api_key, a.secret_key):
        assert len(key) == 32 and key == key.lower() and int(key, 16) >= 0
    assert len(a.accounts) >= 3
    assert a.account_id == a.accounts[0]
    assert all(acc.startswith("0x") and len(acc) == 42 for acc in a.accounts)
    assert a.state.balance(a.account_id, "ETH") == b.state.balance(b.account_id, "ETH")


async def test_user_current(server: FakeCalypso, client: AsyncCalypso) -> None:
    user = await client.request("/api/v1/user/current", account=None)
    assert {acc["account"] for acc in user["availableAccounts"]} == set(server.accounts)
    assert {p["accountId"] for p in user["permissions"]} == set(server.accounts)
    assert user["userFullInfo"]["active"] is True


async def test_rates(client: AsyncCalypso) -> None:
    rates = await client.request(
        "/api/v1/rate", {"fromCurrencies": ["BTC", {"name": "ETH"}], "toCurrencies": ["USDT_TRX"]}, account=None
    )
    items = rates["currencyRates"]
    assert [(r["fromCurrency"], r["toCurrency"]) for r in items] == [("BTC", "USDT_TRX"), ("ETH", "USDT_TRX")]
    assert all(isinstance(r["rates"], Decimal) and r["rates"] > 0 for r in items)
    fiat = await client.request("/api/v1/rate/fiat", {"from": ["BTC"], "to": ["EUR", "USD"]}, account=None)
    assert fiat["ratesMap"]["BTC"]["USD"] > fiat["ratesMap"]["BTC"]["EUR"] > 0


async def test_balances_set_and_read(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("12.345678"))
    account = await client.account.get()
    usdt = next(b for b in account.balances if b.currency == "USDT_TRX")
    assert usdt.amount == Decimal("12.345678")
    other = server.accounts[1]
    other_view = await client.account.get(account=other)
    assert other_view.account == other


async def test_requests_are_recorded(server: FakeCalypso, client: AsyncCalypso) -> None:
    await client.request("/api/v1/rate", {"fromCurrencies": ["BTC"]}, account=None)
    record = server.requests[-1]
    assert isinstance(record, RecordedRequest)
    assert (record.method, record.path, record.status, record.operation) == ("POST", "/api/v1/rate", 200, "rates.get")
    assert record.headers["Key"] == server.api_key
    assert len(record.headers["Sign"]) == 128
    assert record.body.startswith(b'{"timestamp":')
    assert record.json["payload"] == {"fromCurrencies": ["BTC"]}


async def test_client_overrides(server: FakeCalypso) -> None:
    async with server.client(account=server.accounts[2], timeout=3.0) as client:
        assert client.account_id == server.accounts[2]
        assert client.timeout == 3.0
        assert client.base_url == server.base_url
        assert (await client.account.get()).account == server.accounts[2]


async def test_same_seed_same_calls_same_objects() -> None:
    async def run() -> list[object]:
        async with FakeCalypso(seed=3) as server, server.client() as client:
            invoice = await client.invoices.create_single(
                amount=Decimal("1"), currency="TRX", description="d", idempotency_key="k-1"
            )
            payout = await client.payouts.create(
                currency="TRX", amount=Decimal("1"), deposit_address=TRON_ADDRESS, idempotency_key="k-2"
            )
            customer = await client.customer_purse.create_customer(description="c")
            assert customer.id is not None
            address = await client.customer_purse.get_address(customer_id=customer.id, currency="BTC")
            return [invoice.id, invoice.invoice_address, payout.id, customer.id, address.address, server.accounts]

    assert await run() == await run()
