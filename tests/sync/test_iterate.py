"""Auto-paging: async generators driven one ``__anext__`` at a time on the loop, closed there."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator

import pytest

from calypso_async.testing import FakeCalypso
from calypso_sync import SyncFacadeError, SyncIterator
from calypso_sync._portal import Portal

from .conftest import make_client


class Recorder:
    def __init__(self) -> None:
        self.produced: list[int] = []
        self.closed = threading.Event()
        self.closed_on: list[int] = []

    async def numbers(self, n: int = 100) -> AsyncIterator[int]:
        try:
            for i in range(n):
                self.produced.append(i)
                await asyncio.sleep(0)
                yield i
        finally:
            self.closed_on.append(threading.get_ident())
            self.closed.set()


def test_iteration_is_lazy_and_runs_on_the_loop(portal: Portal) -> None:
    rec = Recorder()
    pages = portal.iterate(rec.numbers())
    assert rec.produced == []  # nothing runs before the first next()
    assert next(pages) == 0
    assert next(pages) == 1
    assert rec.produced == [0, 1]
    pages.close()
    assert rec.closed_on == [portal._thread_ident]


def test_exhausted_iterator_stops(portal: Portal) -> None:
    rec = Recorder()
    assert list(portal.iterate(rec.numbers(3))) == [0, 1, 2]
    assert rec.closed.is_set()


def test_abandoned_iterator_is_closed_on_the_loop(portal: Portal) -> None:
    rec = Recorder()
    pages = portal.iterate(rec.numbers())
    next(pages)
    del pages
    gc.collect()
    assert rec.closed.wait(30)  # aclose() was scheduled on the loop by the finalizer
    assert rec.closed_on == [portal._thread_ident]
    assert rec.produced == [0]


def test_close_and_with_block_close_the_generator_at_once(portal: Portal) -> None:
    rec = Recorder()
    with portal.iterate(rec.numbers()) as pages:
        for item in pages:
            if item == 2:
                break
    assert rec.closed.is_set()  # synchronously, no waiting
    assert rec.produced == [0, 1, 2]
    pages.close()  # idempotent
    with pytest.raises(StopIteration):
        next(pages)


def test_generator_errors_propagate_and_end_iteration(portal: Portal) -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise LookupError("page 2 failed")

    pages = portal.iterate(failing())
    assert next(pages) == 1
    with pytest.raises(LookupError, match="page 2"):
        next(pages)
    with pytest.raises(StopIteration):
        next(pages)


def test_never_started_iterator_needs_no_loop(portal: Portal) -> None:
    rec = Recorder()
    pages = portal.iterate(rec.numbers())
    pages.close()
    del pages
    gc.collect()
    assert not portal.running


def test_next_on_the_private_loop_raises(portal: Portal) -> None:
    rec = Recorder()
    pages = portal.iterate(rec.numbers())

    async def on_the_loop() -> int:
        return next(pages)

    with pytest.raises(SyncFacadeError):
        portal.run(on_the_loop())
    assert rec.produced == []


def test_iter_transactions_fetches_pages_lazily(server: FakeCalypso) -> None:
    with make_client(server) as client:
        customer = client.customer_purse.create_customer(description="Alice")
        assert customer.id
        server.add_purse_transactions(customer.id, 250)

        def finds() -> int:
            return sum(1 for r in server.requests if r.operation == "customer_purse.find_transactions")

        pages = client.customer_purse.iter_transactions(customer_id=customer.id, page_size=100)
        assert isinstance(pages, SyncIterator)
        assert finds() == 0
        first = next(pages)
        assert first.id and finds() == 1
        rest = [next(pages) for _ in range(99)]
        assert finds() == 1  # the first page is used up, the second not yet asked for
        rest.append(next(pages))
        assert finds() == 2
        remaining = list(pages)
        assert len([first, *rest, *remaining]) == 250
        assert len({tx.id for tx in [first, *rest, *remaining]}) == 250
        assert finds() == 3
