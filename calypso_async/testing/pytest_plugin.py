"""pytest fixtures for testing code that uses calypso against the fake server.

Enable in a ``conftest.py`` with ``pytest_plugins = ["calypso_async.testing.pytest_plugin"]`` (async fixtures
need pytest-asyncio). Each test gets a fresh server (seed 0), so tests never see each other's data.

* ``fake_calypso``: a started :class:`~calypso_async.testing.FakeCalypso`, stopped after the test;
* ``fake_calypso_client``: an ``AsyncCalypso`` bound to it, closed after the test;
* ``fake_calypso_thread``: a server running in its own thread (``FakeCalypso.run_in_thread``) for sync tests.

The async fixtures run on the same event loop as the test that uses them, whatever its loop scope
(``@pytest.mark.asyncio(loop_scope="module")``, ``asyncio_default_test_loop_scope = session``...): a server
started on another loop than the test's would never answer. An async fixture of yours that uses them must run on
that same loop (give it the test's ``loop_scope``).

>>> async def test_balance(fake_calypso_client):  # doctest: +SKIP
...     assert (await fake_calypso_client.account.get()).balances
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pytest
import pytest_asyncio

from .._client import AsyncCalypso
from ._server import FakeCalypso

__all__ = ["fake_calypso", "fake_calypso_client", "fake_calypso_thread"]

LoopScope = Literal["function", "class", "module", "package", "session"]
_LOOP_SCOPES: tuple[LoopScope, ...] = ("function", "class", "module", "package", "session")


def _test_loop_scope(request: pytest.FixtureRequest) -> str:
    """The loop scope pytest-asyncio runs the requesting test in: its closest ``asyncio`` mark, else the ini."""
    marker = request.node.get_closest_marker("asyncio")
    scope = None
    if marker is not None:
        scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    if not scope:
        try:
            scope = request.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # pytest-asyncio too old to know the option: tests run in a function loop
            scope = None
    return scope if scope in _LOOP_SCOPES else "function"


async def _serve() -> AsyncIterator[FakeCalypso]:
    server = FakeCalypso()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _connect(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    client = server.client()
    try:
        yield client
    finally:
        await client.aclose()


# One private fixture per loop scope (function-scoped: a fresh server per test, on the test's loop); the public
# fixtures pick the one matching the test. The loop scope of an async fixture is fixed when it is declared, hence five.
for _scope in _LOOP_SCOPES:

    @pytest_asyncio.fixture(name=f"_fake_calypso_on_{_scope}_loop", loop_scope=_scope)
    async def _server_fixture() -> AsyncIterator[FakeCalypso]:
        async for server in _serve():
            yield server

    @pytest_asyncio.fixture(name=f"_fake_calypso_client_on_{_scope}_loop", loop_scope=_scope)
    async def _client_fixture(fake_calypso: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
        async for client in _connect(fake_calypso):
            yield client

    globals()[f"_fake_calypso_on_{_scope}_loop"] = _server_fixture
    globals()[f"_fake_calypso_client_on_{_scope}_loop"] = _client_fixture

del _scope, _server_fixture, _client_fixture


@pytest.fixture
def fake_calypso(request: pytest.FixtureRequest) -> FakeCalypso:
    """A started fake Calypso server on a random loopback port, on the test's event loop."""
    server: FakeCalypso = request.getfixturevalue(f"_fake_calypso_on_{_test_loop_scope(request)}_loop")
    return server


@pytest.fixture
def fake_calypso_client(request: pytest.FixtureRequest, fake_calypso: FakeCalypso) -> AsyncCalypso:
    """An ``AsyncCalypso`` configured for ``fake_calypso`` (its keys, default account and base URL)."""
    client: AsyncCalypso = request.getfixturevalue(f"_fake_calypso_client_on_{_test_loop_scope(request)}_loop")
    return client


@pytest.fixture
def fake_calypso_thread() -> Iterator[FakeCalypso]:
    """A fake server on its own event loop in a daemon thread, for synchronous tests."""
    with FakeCalypso.run_in_thread() as server:
        yield server
