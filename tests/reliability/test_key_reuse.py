"""An object found under an idempotency key is returned only when it is what the call asked for.

Item by item (issue 11, A1-A3): a reused key plus one transient failure must not return another payout as this
call's result; the same key with the same arguments returns the first object on any attempt; the lookup after
"duplicate key" shares the call's retry budget, never re-sends the create, and its failure is raised under the
create's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from calypso_async import AsyncCalypso, DuplicateIdempotencyKeyError, NotFoundError
from calypso_async.resources import OPERATIONS
from calypso_async.testing import FakeCalypso, Fault

from ._support import BY_NAME, fund, objects, policy, requests_to

KEY = "0b6f1c1e-3b1d-4f6e-9a59-0c1e2d3f4a5b"

WEBHOOK = {
    1: {"url": "https://shop.example/hook-1", "notification_service_types": ["INVOICE"]},
    2: {"url": "https://shop.example/hook-2", "notification_service_types": ["INVOICE"]},
}
LOOKUP_CREATES = sorted(name for name, op in OPERATIONS.items() if op.lookup is not None)
FIRST_FAILURES: dict[str, Callable[[], Fault]] = {
    "503": lambda: Fault.status(503),
    "html-502": lambda: Fault.html(502),
    "dropped": lambda: Fault.drop(),
}


def kwargs(name: str, tag: int) -> dict[str, Any]:
    if name == "webhooks.create":
        return dict(WEBHOOK[tag])
    return BY_NAME[name].kwargs(tag)


def method(client: AsyncCalypso, name: str) -> Any:
    resource, attribute = name.split(".")
    return getattr(getattr(client, resource), attribute)


def identity(obj: Any) -> tuple[Any, ...]:
    data = obj.to_dict()
    return (data.get("id"), data.get("requestId"), data.get("idempotencyKey"))


def stored(server: FakeCalypso) -> int:
    return objects(server) + len(server.webhooks.subscriptions())


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=11) as fake:
        fund(fake)
        yield fake


@pytest.fixture
async def client(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    async with server.client(retry_policy=policy(max_retries=2)) as c:
        yield c


def test_every_keyed_create_with_a_lookup_is_covered() -> None:
    assert set(LOOKUP_CREATES) == {n for n, c in BY_NAME.items() if c.kind == "keyed"} | {"webhooks.create"}


@pytest.mark.parametrize("failure", sorted(FIRST_FAILURES))
@pytest.mark.parametrize("name", LOOKUP_CREATES)
async def test_a_reused_key_with_other_arguments_after_a_transient_failure_raises_with_the_existing_object(
    server: FakeCalypso, client: AsyncCalypso, name: str, failure: str
) -> None:
    key_field = OPERATIONS[name].idempotency_field
    assert key_field is not None
    key_argument = "request_id" if key_field == "requestId" else "idempotency_key"
    first = await method(client, name)(**kwargs(name, 1), **{key_argument: KEY})
    before = stored(server)
    server.inject(OPERATIONS[name].path, FIRST_FAILURES[failure]())
    with pytest.raises(DuplicateIdempotencyKeyError) as info:
        await method(client, name)(**kwargs(name, 2), **{key_argument: KEY})
    err = info.value
    assert err.idempotency_key == KEY and err.operation == name
    assert err.existing is not None and identity(err.existing) == identity(first)
    assert stored(server) == before


@pytest.mark.parametrize("failure", [None, *sorted(FIRST_FAILURES)])
@pytest.mark.parametrize("name", LOOKUP_CREATES)
async def test_the_same_key_and_arguments_return_the_first_object_on_any_attempt(
    server: FakeCalypso, client: AsyncCalypso, name: str, failure: str | None
) -> None:
    key_field = OPERATIONS[name].idempotency_field
    key_argument = "request_id" if key_field == "requestId" else "idempotency_key"
    first = await method(client, name)(**kwargs(name, 1), **{key_argument: KEY})
    before = stored(server)
    if failure is not None:
        server.inject(OPERATIONS[name].path, FIRST_FAILURES[failure]())
    again = await method(client, name)(**kwargs(name, 1), **{key_argument: KEY})
    assert identity(again) == identity(first)
    assert stored(server) == before


async def test_a_lookup_404_is_retried_within_the_budget_and_never_resends_the_create(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    # The create was processed but its answer lost; the lookup then lags behind twice (404), then finds it.
    server.inject("/api/v1/payout/create", Fault.drop_after_processing())
    server.inject("/api/v1/payout", Fault.status(400, error_code="004", times=1))
    payout = await client.payouts.create(**kwargs("payouts.create", 1))
    assert len(server.state.payouts) == 1
    assert len(requests_to(server, "/api/v1/payout/create")) == 2
    assert len(requests_to(server, "/api/v1/payout")) == 2
    assert payout.idempotency_key == next(iter(server.state.payouts.values())).data["idempotencyKey"]


async def test_a_lookup_that_keeps_failing_uses_only_the_calls_budget_and_names_the_create(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    server.inject("/api/v1/payout/create", Fault.drop_after_processing())
    server.inject("/api/v1/payout", Fault.status(400, error_code="004", times=50))
    with pytest.raises(DuplicateIdempotencyKeyError) as info:
        await client.payouts.create(**kwargs("payouts.create", 1))
    err = info.value
    assert err.operation == "payouts.create" and err.idempotency_key
    assert isinstance(err.__cause__, NotFoundError) and err.__cause__.operation == "payouts.get"
    assert err.existing is None
    # max_retries=2: three attempts in all, the first a create, the second a create meeting "duplicate key" and
    # its lookup, the third a lookup only.
    assert len(requests_to(server, "/api/v1/payout/create")) == 2
    assert len(requests_to(server, "/api/v1/payout")) == 2
    assert len(server.state.payouts) == 1
