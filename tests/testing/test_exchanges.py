"""Exchanges: pairs, Decimal quote math in both directions, limits, create (debit) and get (completion)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, BadRequestError, NotFoundError
from calypso_async.testing import FakeCalypso


async def test_pairs_rate_and_limit(server: FakeCalypso, client: AsyncCalypso) -> None:
    pairs = (await client.request("/api/v1/exchange/pairs"))["currencyPairs"]
    assert "USDT_TRX" in pairs["BTC"] and "BTC" not in pairs["BTC"]
    rate = await client.request(
        "/api/v1/exchange/average-rate", {"sourceCurrency": "BTC", "destinationCurrency": "USDT_TRX"}
    )
    assert rate["rate"] == server.state.rate("BTC", "USDT_TRX")
    limit = await client.request("/api/v1/exchange/limit", {"sourceCurrency": "USDT_TRX", "destinationCurrency": "BTC"})
    assert limit["amount"] == server.state.quantize(Decimal("100000") / server.state.usd["USDT_TRX"], "USDT_TRX")
    with pytest.raises(BadRequestError, match="differ"):
        await client.request("/api/v1/exchange/limit", {"sourceCurrency": "BTC", "destinationCurrency": "BTC"})


async def test_pre_calculate_both_directions(server: FakeCalypso, client: AsyncCalypso) -> None:
    state = server.state
    forward = await client.request(
        "/api/v1/exchange/pre-calculate",
        {"sourceCurrency": "USDT_TRX", "destinationCurrency": "ETH", "amount": Decimal("1000"), "direction": "SOURCE"},
    )
    expected = state.quantize(Decimal("1000") * state.rate("USDT_TRX", "ETH") * Decimal("0.995"), "ETH")
    assert forward["amount"] == expected
    backward = await client.request(
        "/api/v1/exchange/pre-calculate",
        {"sourceCurrency": "USDT_TRX", "destinationCurrency": "ETH", "amount": expected, "direction": "DESTINATION"},
    )
    assert abs(backward["amount"] - Decimal("1000")) < Decimal("0.01")
    with pytest.raises(BadRequestError, match="direction"):
        await client.request(
            "/api/v1/exchange/pre-calculate",
            {"sourceCurrency": "USDT_TRX", "destinationCurrency": "ETH", "amount": Decimal("1")},
        )


async def test_create_moves_money_and_completes_on_read(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("5000"))
    eth_before = server.balance(server.account_id, "ETH")
    created = await client.request(
        "/api/v1/exchange/create",
        {"sourceCurrency": "USDT_TRX", "destinationCurrency": "ETH", "amount": Decimal("1000")},
    )
    assert created["state"] == "IN_PROGRESS" and isinstance(created["id"], int)
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("4000")
    assert server.balance(server.account_id, "ETH") == eth_before
    done = await client.request("/api/v1/exchange/get", {"id": created["id"]})
    assert done["state"] == "COMPLETED"
    assert server.balance(server.account_id, "ETH") == eth_before + created["destinationAmount"]
    assert (await client.request("/api/v1/exchange/get", {"id": created["id"]})) == done


async def test_create_rejections(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "BTC", Decimal("0.01"))
    with pytest.raises(BadRequestError, match="Insufficient"):
        await client.request(
            "/api/v1/exchange/create", {"sourceCurrency": "BTC", "destinationCurrency": "ETH", "amount": Decimal("1")}
        )
    with pytest.raises(BadRequestError, match="limit"):
        await client.request(
            "/api/v1/exchange/create", {"sourceCurrency": "BTC", "destinationCurrency": "ETH", "amount": Decimal("100")}
        )
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/exchange/get", {"id": 1})
    assert server.balance(server.account_id, "BTC") == Decimal("0.01")
