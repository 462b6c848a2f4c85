"""Auto-paging iterators: lazy, page by page, every item once and in order, for 0- and 1-based servers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import Request
from calypso_async._json import loads
from calypso_async._paging import paginate
from calypso_async.models import PGTransactionDTO, SettlementWalletTransaction
from calypso_async.testing import MockTransport as RecordingTransport

from ..conftest import client

ITEMS = [{"id": f"tx-{i:04d}", "amount": Decimal(i) / 100, "currency": "USDT_TRX"} for i in range(1000)]


def pager(
    items: list[dict[str, Any]], *, base: int = 0, counters: bool = True, clamp: bool = False
) -> Callable[[Request], Any]:
    """A server holding ``items``, paging them with first page ``base``."""

    def answer(request: Request) -> Any:
        payload = loads(request.body)["payload"]
        number, size = payload["pageNumber"], payload["pageSize"]
        start = (number - base) * size
        chunk = items[start : start + size] if start >= 0 else []
        body: dict[str, Any] = {"result": chunk}
        if counters:
            body |= {"page": number, "size": size, "total": -(-len(items) // size), "totalElements": len(items)}
        return body

    return answer


def page_numbers(transport: RecordingTransport) -> list[int]:
    return [body["payload"]["pageNumber"] for body in transport.bodies]


async def test_iterators_are_async_generator_functions() -> None:
    api = client(RecordingTransport())
    assert inspect.isasyncgenfunction(type(api.customer_purse).iter_transactions)
    assert inspect.isasyncgenfunction(type(api.settlement_wallets).iter_transactions)
    await api.aclose()


async def test_walks_all_pages_lazily_each_item_once_in_order() -> None:
    transport = RecordingTransport(pager(ITEMS))
    async with client(transport) as api:
        iterator = api.customer_purse.iter_transactions(customer_id="c-1", page_size=100)
        assert transport.requests == []  # nothing until the first item is asked for
        first = await iterator.__anext__()
        assert isinstance(first, PGTransactionDTO) and first.id == "tx-0000"
        assert len(transport.requests) == 1
        seen = [first.id]
        for _ in range(99):
            seen.append((await iterator.__anext__()).id)
        assert len(transport.requests) == 1  # page 0 used up, page 1 not fetched yet
        seen.append((await iterator.__anext__()).id)
        assert len(transport.requests) == 2
        seen += [item.id async for item in iterator]
    assert seen == [item["id"] for item in ITEMS]
    assert page_numbers(transport) == list(range(10))  # total=10 pages: no eleventh request
    payloads = [body["payload"] for body in transport.bodies]
    assert all(p["pageSize"] == 100 and p["customerId"] == "c-1" for p in payloads)
    assert sum(item.amount for item in [PGTransactionDTO.from_dict(i) for i in ITEMS]) == Decimal("4995")


async def test_one_based_server() -> None:
    transport = RecordingTransport(pager(ITEMS, base=1))
    async with client(transport) as api:
        ids = [tx.id async for tx in api.customer_purse.iter_transactions(page_size=100, first_page=1)]
    assert ids == [item["id"] for item in ITEMS]
    assert page_numbers(transport) == list(range(1, 11))


@pytest.mark.parametrize(("count", "requests"), [(1000, 11), (950, 10), (0, 1), (99, 1), (100, 2)])
async def test_without_counters_stops_at_short_or_empty_page(count: int, requests: int) -> None:
    items = [{"amount": Decimal(i), "transactionHash": f"h{i}", "opCode": "WITHDRAWAL"} for i in range(count)]
    transport = RecordingTransport(pager(items, counters=False))
    async with client(transport) as api:
        got = [tx async for tx in api.settlement_wallets.iter_transactions(wallet_address="W", page_size=100)]
    assert [tx.transaction_hash for tx in got] == [f"h{i}" for i in range(count)]
    assert all(isinstance(tx, SettlementWalletTransaction) for tx in got)
    assert len(transport.requests) == requests
    assert all(body["payload"]["walletAddress"] == "W" for body in transport.bodies)


async def test_total_elements_stops_a_full_last_page() -> None:
    def answer(request: Request) -> Any:
        number = loads(request.body)["payload"]["pageNumber"]
        return {"result": ITEMS[number * 500 : (number + 1) * 500], "totalElements": 1000}

    transport = RecordingTransport(answer)
    async with client(transport) as api:
        got = [tx async for tx in api.customer_purse.iter_transactions(page_size=500)]
    assert len(got) == 1000
    assert page_numbers(transport) == [0, 1]


async def test_breaking_out_fetches_nothing_more() -> None:
    transport = RecordingTransport(pager(ITEMS))
    async with client(transport) as api:
        async for tx in api.customer_purse.iter_transactions(page_size=250):
            if tx.id == "tx-0260":
                break
    assert page_numbers(transport) == [0, 1]


async def test_default_page_size_and_filters_are_forwarded() -> None:
    transport = RecordingTransport(pager(ITEMS[:5]))
    async with client(transport) as api:
        got = [
            tx
            async for tx in api.customer_purse.iter_transactions(
                transaction_state_filter={"in": ["CONFIRMED"]}, sort="ASC", properties="createdDate", account="0xabc"
            )
        ]
    assert len(got) == 5
    body = transport.bodies[0]
    assert body["account"] == "0xabc"
    assert body["payload"] == {
        "transactionStateFilter": {"in": ["CONFIRMED"]},
        "pageNumber": 0,
        "pageSize": 100,
        "sort": "ASC",
        "properties": "createdDate",
    }


async def test_paginate_directly() -> None:
    class Page:
        def __init__(self, result: list[int], total: int | None) -> None:
            self.result = result
            self.total = total
            self.total_elements: int | None = None

    calls: list[tuple[int, int]] = []

    async def fetch(number: int, size: int) -> Page:
        calls.append((number, size))
        return Page(list(range(number * size, number * size + size)), total=3)

    assert [i async for i in paginate(fetch, page_size=2)] == [0, 1, 2, 3, 4, 5]
    assert calls == [(0, 2), (1, 2), (2, 2)]


async def test_server_ignoring_page_number_is_detected() -> None:
    from calypso_async import InvalidResponseError

    transport = RecordingTransport({"result": ITEMS[:10]})  # always the same full page, no counters
    async with client(transport) as api:
        seen = []
        with pytest.raises(InvalidResponseError, match="page number"):
            async for tx in api.customer_purse.iter_transactions(page_size=10):
                seen.append(tx.id)
    assert len(seen) == 10 and len(transport.requests) == 2
