"""Shared pieces of the reliability suite: the calls under test, object counting, clients, guards.

The calls are the read call ``account.get`` and every money-moving call, each described once (:data:`CALLS`)
with arguments that can be made unique per caller (``tag``), so that concurrency tests can check that what a
caller gets back is its own.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs
import pytest

from calypso_async import AsyncCalypso, RetryPolicy
from calypso_async.resources import OPERATIONS
from calypso_async.testing import FakeCalypso

T = TypeVar("T")

Kind = Literal["read", "keyed", "keyed-no-lookup", "unkeyed"]
"""How the engine treats a call after an ambiguous failure:

* ``read``: retried;
* ``keyed``: retried with the same idempotency key; a duplicate-key answer on a retry fetches the object;
* ``keyed-no-lookup``: retried with the same key; a duplicate-key answer is raised (no way to fetch it);
* ``unkeyed``: not retried after an ambiguous failure: ``OutcomeUnknownError``.
"""

ADDRESS = "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N"


async def no_sleep(_: float) -> None:
    return None


class SleepLog:
    """A no-op ``sleep`` for :class:`RetryPolicy` that records the waits it was asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@attrs.frozen
class CallSpec:
    name: str
    kind: Kind
    kwargs: Callable[[int], dict[str, Any]]
    """Arguments for caller number ``tag`` (unique amounts / external ids where the call has them)."""
    check: Callable[[Any, int], bool] = attrs.field(default=lambda result, tag: True)
    """Does ``result`` belong to caller ``tag``?"""

    @property
    def path(self) -> str:
        return OPERATIONS[self.name].path

    @property
    def response(self) -> Any:
        return OPERATIONS[self.name].response

    @property
    def money_moving(self) -> bool:
        return self.kind != "read"

    def method(self, client: Any) -> Callable[..., Any]:
        resource, method = self.name.split(".")
        return getattr(getattr(client, resource), method)  # type: ignore[no-any-return]


def _amount(tag: int) -> Decimal:
    return Decimal("1") + Decimal(tag) / Decimal(1000)


def _ext(tag: int) -> str:
    return f"caller-{tag}"


def _ext_is(result: Any, tag: int) -> bool:
    return getattr(result, "external_id", None) == _ext(tag)


CALLS: list[CallSpec] = [
    CallSpec("account.get", "read", lambda tag: {}),
    CallSpec(
        "payouts.create",
        "keyed",
        lambda tag: {
            "deposit_address": ADDRESS,
            "amount": _amount(tag),
            "currency": "USDT_TRX",
            "external_id": _ext(tag),
        },
        lambda result, tag: result.amount == _amount(tag),
    ),
    CallSpec(
        "payouts.create_mass",
        "keyed",
        lambda tag: {
            "currency": "USDT_TRX",
            "name": _ext(tag),
            "extra": {"withdrawals": [{"depositAddress": ADDRESS, "amount": _amount(tag)}]},
        },
    ),
    CallSpec(
        "invoices.create_single",
        "keyed",
        lambda tag: {"amount": _amount(tag), "currency": "ETH", "description": "order", "external_id": _ext(tag)},
        lambda result, tag: result.amount == _amount(tag) and _ext_is(result, tag),
    ),
    CallSpec(
        "invoices.create_single_fiat",
        "keyed",
        lambda tag: {
            "fiat_amount": Decimal("10") + _amount(tag),
            "fiat_currency": "USD",
            "currency": "ETH",
            "description": "order",
            "external_id": _ext(tag),
        },
        lambda result, tag: _ext_is(result, tag),
    ),
    CallSpec(
        "invoices.create_bound",
        "keyed",
        lambda tag: {"lower_bound": _amount(tag), "currency": "TRX", "description": "order", "external_id": _ext(tag)},
        lambda result, tag: _ext_is(result, tag),
    ),
    CallSpec(
        "invoices.create_unlimited",
        "keyed",
        lambda tag: {"currency": "TRX", "description": "deposits", "external_id": _ext(tag)},
        lambda result, tag: _ext_is(result, tag),
    ),
    CallSpec(
        "payment_widgets.create_unlimited_linked",
        "keyed",
        lambda tag: {"crypto_currencies": ["USDT_TRX", "BTC"], "description": "widget", "external_id": _ext(tag)},
    ),
    CallSpec(
        "payment_widgets.create_single_fiat",
        "keyed",
        lambda tag: {
            "fiat_amount": Decimal("25") + _amount(tag),
            "fiat_currency": "USD",
            "crypto_currencies": ["ETH"],
            "external_id": _ext(tag),
        },
    ),
    CallSpec(
        "fiat_deposits.generate_key",
        "keyed-no-lookup",
        lambda tag: {"merchant_external_id": _ext(tag), "return_url": "https://shop.example/back"},
    ),
    CallSpec(
        "exchanges.create",
        "unkeyed",
        lambda tag: {"source_currency": "TRX", "destination_currency": "ETH", "amount": Decimal("10") + _amount(tag)},
    ),
    CallSpec(
        "customer_purse.create_customer",
        "unkeyed",
        lambda tag: {"description": _ext(tag), "email": f"{_ext(tag)}@example.com"},
        lambda result, tag: result.description == _ext(tag),
    ),
]
CALL_IDS = [c.name for c in CALLS]
BY_NAME = {c.name: c for c in CALLS}


def fund(server: FakeCalypso) -> None:
    """Enough balance for any number of payouts and exchanges."""
    for currency in ("USDT_TRX", "TRX", "ETH", "BTC"):
        server.set_balance(server.account_id, currency, Decimal("100000000"))


def objects(server: FakeCalypso) -> int:
    """How many objects money-moving calls have created on the server, all kinds together."""
    s = server.state
    return sum(
        len(store) for store in (s.invoices, s.widgets, s.payouts, s.exchanges, s.customers, s.fiat_deposit_keys)
    )


def requests_to(server: FakeCalypso, path: str) -> list[Any]:
    return [r for r in list(server.requests) if r.path == path]


def policy(max_retries: int = 3, sleep: Callable[[float], Awaitable[None]] = no_sleep, **kw: Any) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, sleep=sleep, **kw)


def client_options(server: FakeCalypso, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_key": server.api_key,
        "secret_key": server.secret_key,
        "account": server.account_id,
        "base_url": server.base_url,
        "retry_policy": policy(),
        "timeout": 5.0,
    }
    options.update(overrides)
    return options


def async_client(server: FakeCalypso, **overrides: Any) -> AsyncCalypso:
    return AsyncCalypso(**client_options(server, **overrides))


def sync_class() -> Any:
    """``calypso_sync.Calypso``; the test is skipped while the sync facade does not exist."""
    try:
        import calypso_sync
    except ImportError:  # pragma: no cover
        pytest.skip("calypso_sync is not importable")
    cls = getattr(calypso_sync, "Calypso", None)
    if cls is None:
        pytest.skip("calypso_sync.Calypso does not exist yet (the sync facade is being written)")
    return cls


def sync_client(server: FakeCalypso, **overrides: Any) -> Any:
    return sync_class()(**client_options(server, **overrides))


async def guarded(awaitable: Awaitable[T], seconds: float) -> T:
    """Await with a hard bound: a hang fails the test instead of freezing the suite."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        pytest.fail(f"call did not finish within {seconds} s (hang)")


def in_thread(fn: Callable[[], T], seconds: float) -> T:
    """Run a blocking call in a helper thread joined with a timeout: a hang fails the test."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="guarded-sync-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"sync call did not finish within {seconds} s (hang)")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def threaded_server(**kwargs: Any) -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(**kwargs) as server:
        yield server
