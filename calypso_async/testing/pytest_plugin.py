"""pytest fixtures for testing code that uses calypso against the fake server.

Enable in a ``conftest.py`` with ``pytest_plugins = ["calypso_async.testing.pytest_plugin"]`` (async fixtures
need pytest-asyncio). Each test gets a fresh server (seed 0), so tests never see each other's data.

* ``fake_calypso``: a started :class:`~calypso_async.testing.FakeCalypso`, stopped after the test;
* ``fake_calypso_client``: an ``AsyncCalypso`` bound to it, closed after the test;
* ``fake_calypso_thread``: a server running in its own thread (``FakeCalypso.run_in_thread``) for sync tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from .._client import AsyncCalypso
from ._server import FakeCalypso

__all__ = ["fake_calypso", "fake_calypso_client", "fake_calypso_thread"]


@pytest_asyncio.fixture
async def fake_calypso() -> AsyncIterator[FakeCalypso]:
    """A started fake Calypso server on a random loopback port."""
    server = FakeCalypso()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def fake_calypso_client(fake_calypso: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    """An ``AsyncCalypso`` configured for ``fake_calypso`` (its keys, default account and base URL)."""
    client = fake_calypso.client()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def fake_calypso_thread() -> Iterator[FakeCalypso]:
    """A fake server on its own event loop in a daemon thread, for synchronous tests."""
    with FakeCalypso.run_in_thread() as server:
        yield server
