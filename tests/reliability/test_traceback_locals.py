"""No replayable secret in a traceback or an object graph (issue 11, D20).

Error reporters record frame locals (Sentry by default, ``traceback.TracebackException(capture_locals=True)``,
rich's ``show_locals``). From an exception calypso raises, no frame of its traceback or of its cause/context
chain may hold the API key, the secret key, a ``Sign`` value or a signed body; and the secret key must not be
reachable through ``vars()`` from either client.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

import calypso_sync
from calypso_async import AsyncCalypso, CalypsoError, OutcomeUnknownError
from calypso_async.testing import FakeCalypso, Fault

from ._support import ADDRESS, closed_port, fund, policy

Case = Callable[[FakeCalypso, AsyncCalypso], Awaitable[Any]]


async def refused(server: FakeCalypso, client: AsyncCalypso) -> Any:
    client.base_url = f"http://127.0.0.1:{closed_port()}"
    return await client.payouts.create(amount=Decimal("1"), currency="USDT_TRX", deposit_address=ADDRESS)


async def reset(server: FakeCalypso, client: AsyncCalypso) -> Any:
    server.inject("/api/v1/payout/create", Fault.drop(times=9))
    return await client.payouts.create(amount=Decimal("1"), currency="USDT_TRX", deposit_address=ADDRESS)


async def timeout(server: FakeCalypso, client: AsyncCalypso) -> Any:
    server.inject("/api/v1/account", Fault.delay(30, times=9))
    return await client.account.get(timeout=0.3)


async def client_error(server: FakeCalypso, client: AsyncCalypso) -> Any:
    return await client.invoices.get(id="no-such-invoice")


async def server_error(server: FakeCalypso, client: AsyncCalypso) -> Any:
    server.inject("/api/v1/payout/create", Fault.status(503, times=9))
    return await client.payouts.create(amount=Decimal("1"), currency="USDT_TRX", deposit_address=ADDRESS)


async def outcome_unknown(server: FakeCalypso, client: AsyncCalypso) -> Any:
    server.inject("/api/v1/exchange/create", Fault.drop_after_processing())
    return await client.exchanges.create(source_currency="TRX", destination_currency="ETH", amount=Decimal("10"))


async def invalid_answer(server: FakeCalypso, client: AsyncCalypso) -> Any:
    server.inject("/api/v1/account", Fault.malformed(times=9))
    return await client.account.get()


CASES: dict[str, Case] = {
    "connection refused": refused,
    "connection reset": reset,
    "timeout": timeout,
    "4xx": client_error,
    "5xx": server_error,
    "outcome unknown": outcome_unknown,
    "invalid answer": invalid_answer,
}


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=20) as fake:
        fund(fake)
        yield fake


def secrets_of(server: FakeCalypso) -> list[str]:
    found = [server.api_key, server.secret_key]
    for request in server.requests:
        sign = request.headers.get("Sign")
        if sign:
            found.append(sign)
        if request.body:
            found.append(request.body.decode("utf-8", "replace"))
            found.append(repr(request.body))
    return found


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_a_failed_calls_traceback_with_locals_holds_no_key_signature_or_body(
    server: FakeCalypso, kind: str
) -> None:
    async with server.client(retry_policy=policy(max_retries=1)) as client:
        with pytest.raises(CalypsoError) as info:
            await CASES[kind](server, client)
    if kind == "outcome unknown":
        assert isinstance(info.value, OutcomeUnknownError)
    rendered = "".join(traceback.TracebackException.from_exception(info.value, capture_locals=True).format())
    assert "Traceback" in rendered
    secrets = secrets_of(server)
    assert len(secrets) >= (2 if kind == "connection refused" else 4)  # the keys, each request's Sign and body
    leaked = [secret[:16] for secret in secrets if secret in rendered]
    assert leaked == []


def walk_values(root: object) -> list[object]:
    """Everything reachable from ``root`` through ``vars()``, ``__slots__``, containers and closures."""
    seen: set[int] = set()
    todo: list[object] = [root]
    found: list[object] = []
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type) or (callable(obj) and not hasattr(obj, "__dict__")):
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, (str, bytes, bytearray, int, float, Decimal)) or obj is None:
            continue
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
            continue
        try:
            todo.extend(vars(obj).values())
        except TypeError:
            pass
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(obj, slot):
                    todo.append(getattr(obj, slot))
    return found


def assert_no_secret(root: object, secret: str) -> None:
    for value in walk_values(root):
        if isinstance(value, str):
            assert secret not in value
        elif isinstance(value, (bytes, bytearray)):
            assert secret.encode() not in value


async def test_the_secret_key_is_not_reachable_from_the_async_client(server: FakeCalypso) -> None:
    async with server.client() as client:
        await client.account.get()
        assert_no_secret(client, server.secret_key)


def test_the_secret_key_is_not_reachable_from_the_sync_client() -> None:
    with FakeCalypso.run_in_thread(seed=21) as server:
        client = calypso_sync.Calypso(
            server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url
        )
        with client:
            client.account.get()
            assert_no_secret(client, server.secret_key)
