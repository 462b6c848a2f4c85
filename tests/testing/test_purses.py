"""Customers, purses and deposit history: CRUD-ish calls, paging through 1,000 transactions, filters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, BadRequestError, NotFoundError
from calypso_async.testing import FakeCalypso

from .conftest import Event

FIND = "/api/v1/customer-purse/transaction/find"


async def _customer(client: AsyncCalypso) -> dict:
    return await client.request("/api/v1/customer-purse/customer/create", {"email": "a@b.c", "description": "VIP"})


async def test_customer_lifecycle(client: AsyncCalypso) -> None:
    customer = await _customer(client)
    assert customer["blocked"] is False and customer["email"] == "a@b.c"
    updated = await client.request(
        "/api/v1/customer-purse/customer/update", {"id": customer["id"], "description": "VVIP"}
    )
    assert updated["description"] == "VVIP" and updated["email"] == "a@b.c"
    blocked = await client.request("/api/v1/customer-purse/customer/block", {"customerId": customer["id"]})
    assert blocked["blocked"] is True
    unblocked = await client.request("/api/v1/customer-purse/customer/unblock", {"customerId": customer["id"]})
    assert unblocked["blocked"] is False
    with pytest.raises(NotFoundError):
        await client.request(
            "/api/v1/customer-purse/customer/block", {"customerId": "00000000-0000-4000-8000-000000000000"}
        )


async def test_addresses_are_stable_per_currency(client: AsyncCalypso) -> None:
    customer = await _customer(client)
    first = await client.request(
        "/api/v1/customer-purse/address/get", {"customerId": customer["id"], "currency": "USDT_TRX"}
    )
    again = await client.request(
        "/api/v1/customer-purse/address/get", {"customerId": customer["id"], "currency": "USDT_TRX"}
    )
    eth = await client.request("/api/v1/customer-purse/address/get", {"customerId": customer["id"], "currency": "ETH"})
    assert first == again and first["address"].startswith("T") and eth["address"].startswith("0x")
    purses = await client.request("/api/v1/customer-purse/purse/get-all", {"customerId": customer["id"]})
    assert {p["currency"] for p in purses} == {"USDT_TRX", "ETH"}


async def test_paging_through_1000_transactions(server: FakeCalypso, client: AsyncCalypso) -> None:
    customer = await _customer(client)
    other = await _customer(client)
    seeded = server.add_purse_transactions(customer["id"], 1000)
    server.add_purse_transactions(other["id"], 7)
    seen: list[str] = []
    number = 0
    while True:
        page = await client.request(FIND, {"customerId": customer["id"], "pageNumber": number, "pageSize": 100})
        assert (page["page"], page["size"], page["total"], page["totalElements"]) == (number, 100, 10, 1000)
        seen.extend(item["id"] for item in page["result"])
        if number + 1 >= page["total"]:
            break
        number += 1
    assert seen == [t["id"] for t in seeded]  # ASC by createdDate = creation order
    last = await client.request(FIND, {"customerId": customer["id"], "pageNumber": 10, "pageSize": 100})
    assert last["result"] == []
    desc = await client.request(FIND, {"customerId": customer["id"], "pageSize": 3, "sort": "DESC"})
    assert [item["id"] for item in desc["result"]] == [t["id"] for t in seeded[::-1][:3]]
    everyone = await client.request(FIND, {"pageSize": 1})
    assert everyone["totalElements"] == 1007 and everyone["total"] == 1007


async def test_filters_and_get_transaction(server: FakeCalypso, client: AsyncCalypso) -> None:
    customer = await _customer(client)
    server.add_purse_transactions(customer["id"], 5, currency="ETH")
    declined = server.add_purse_transactions(customer["id"], 2, state="DECLINED")
    eth = await client.request(FIND, {"currencyFilter": {"equals": "ETH"}})
    assert eth["totalElements"] == 5
    not_eth = await client.request(FIND, {"currencyFilter": {"notIn": ["ETH"]}})
    assert not_eth["totalElements"] == 2
    bad = await client.request(FIND, {"transactionStateFilter": {"in": ["DECLINED"]}})
    assert [t["id"] for t in bad["result"]] == [t["id"] for t in declined]
    assert bad["result"][0]["complianceState"] == "DECLINE"
    one = await client.request("/api/v1/customer-purse/transaction/get", {"transactionId": declined[0]["id"]})
    assert one["id"] == declined[0]["id"] and one["translationToAccountCompleted"] is False
    with pytest.raises(NotFoundError):
        await client.request("/api/v1/customer-purse/transaction/get", {"transactionId": "missing"})
    with pytest.raises(BadRequestError, match="pageSize"):
        await client.request(FIND, {"pageSize": 0})
    with pytest.raises(LookupError):
        server.add_purse_transactions("nobody", 1)


async def test_live_deposit(server: FakeCalypso, client: AsyncCalypso, events: list[Event]) -> None:
    customer = await _customer(client)
    before = server.balance(server.account_id, "USDT_TRX")
    deposit = server.deposit_to_purse(customer["id"], "USDT_TRX", Decimal("200"))
    assert deposit["transactionState"] == "CONFIRMED" and deposit["translationToAccountCompleted"] is True
    assert server.balance(server.account_id, "USDT_TRX") == before + Decimal("199")
    assert [e[0] for e in events] == [
        "CUSTOMER_PURSE_MEM_POOL_FOUND",
        "CUSTOMER_PURSE_PENDING_COMPLIANCE",
        "CUSTOMER_PURSE_FUNDS_RECEIVED_FOR_PURSE",
        "CUSTOMER_PURSE_TRANSLATION_TO_ACCOUNT_COMPLETED",
    ]
