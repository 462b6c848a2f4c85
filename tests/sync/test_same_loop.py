"""A sync call to a fake server served by the caller's own event loop is refused at once, not left to time out."""

from __future__ import annotations

import pytest

from calypso_async.testing import FakeCalypso
from calypso_sync import SyncFacadeError
from calypso_sync._portal import Portal

from .conftest import make_client


async def test_sync_call_to_a_fake_server_on_the_callers_loop_fails_at_once(portal: Portal) -> None:
    async with FakeCalypso() as server:
        client = make_client(server, timeout=30.0)
        with pytest.raises(SyncFacadeError, match="served by the event loop running in this very thread"):
            client.account.get()
        assert server.requests == []  # refused before anything was sent
        client.close()


async def test_sync_iterator_to_a_fake_server_on_the_callers_loop_fails_at_once(portal: Portal) -> None:
    async with FakeCalypso() as server:
        client = make_client(server, timeout=30.0)
        with pytest.raises(SyncFacadeError, match="FakeCalypso"):
            client.customer_purse.iter_transactions(customer_id="c1")
        client.close()


async def test_sync_call_from_a_loop_to_a_fake_server_on_another_loop_works(portal: Portal) -> None:
    with FakeCalypso.run_in_thread() as server:
        client = make_client(server)
        assert client.account.get().account == server.account_id  # this thread runs a loop; the server's is elsewhere
        client.close()
