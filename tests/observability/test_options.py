"""``with_options``: light copies with other defaults that share the pool, clock, keys and hooks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from calypso_async import APITimeoutError, SyncFacadeError
from calypso_sync import Calypso

from .support import ACCOUNT, ACCOUNT_BODY, StubTransport, make, make_sync, ok

OTHER = "0x" + "ab" * 20


def answers() -> StubTransport:
    return StubTransport(default=ok(ACCOUNT_BODY))


async def test_async_copy_uses_its_own_defaults_and_shares_the_rest() -> None:
    transport = answers()
    client = make(transport, event_hooks={"request": [lambda e: None]})
    copy = client.with_options(timeout=3, max_retries=0, account=OTHER)
    assert type(copy) is type(client)
    assert (copy.timeout, copy.max_retries, copy.account_id) == (3.0, 0, OTHER)
    assert (client.timeout, client.max_retries, client.account_id) == (30.0, 2, ACCOUNT)
    assert copy._transport is client._transport
    assert copy.clock is client.clock
    assert copy._signer is client._signer
    assert copy._observer is client._observer
    await copy.account.get()
    await client.account.get()
    first, second = transport.requests
    assert (first.timeout, json.loads(first.body)["account"]) == (3.0, OTHER)
    assert (second.timeout, json.loads(second.body)["account"]) == (30.0, ACCOUNT)
    assert copy.account._client is copy and client.account._client is client


async def test_async_copy_max_retries_applies_to_its_calls_only() -> None:
    transport = StubTransport(APITimeoutError("slow"), APITimeoutError("slow"), ok(ACCOUNT_BODY))
    client = make(transport)
    with pytest.raises(APITimeoutError):
        await client.with_options(max_retries=0).account.get()
    assert len(transport.requests) == 1
    await client.account.get()  # the client still retries
    assert len(transport.requests) == 3


async def test_async_closing_a_copy_leaves_the_pool_open_and_closing_the_client_closes_it() -> None:
    transport = answers()
    client = make(transport)
    async with client.with_options(timeout=1) as copy:
        await copy.account.get()
    assert not transport.closed
    await client.account.get()
    await client.aclose()
    assert transport.closed


async def test_async_copy_of_a_copy_keeps_earlier_options() -> None:
    client = make(answers())
    copy = client.with_options(timeout=2).with_options(account=None)
    assert (copy.timeout, copy.account_id, copy._shares_pool) == (2.0, None, True)


@pytest.mark.parametrize(("kwargs", "message"), [({"timeout": 0}, "timeout"), ({"max_retries": -1}, "max_retries")])
def test_bad_options_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(answers()).with_options(**kwargs)
    with make_sync(answers()) as client, pytest.raises(ValueError, match=message):
        client.with_options(**kwargs)


def test_sync_copy_uses_its_own_defaults_and_shares_the_pool() -> None:
    transport = answers()
    with make_sync(transport) as client:
        copy = client.with_options(timeout=3, max_retries=0, account=OTHER)
        assert type(copy) is Calypso
        assert (copy.timeout, copy.max_retries, copy.account_id) == (3.0, 0, OTHER)
        assert (client.timeout, client.max_retries, client.account_id) == (30.0, 2, ACCOUNT)
        copy.account.get()
        client.account.get()
        assert copy._inner()._transport is client._inner()._transport
        assert copy._inner().clock is client._inner().clock
        copy.close()
        assert copy.closed and not client.closed and not transport.closed
        client.account.get()  # the pool is still open
        with pytest.raises(SyncFacadeError, match="closed"):
            copy.account.get()
    assert transport.closed
    first, second, _ = transport.requests
    assert (first.timeout, json.loads(first.body)["account"]) == (3.0, OTHER)
    assert (second.timeout, json.loads(second.body)["account"]) == (30.0, ACCOUNT)


def test_sync_copy_fails_cleanly_once_its_client_is_closed() -> None:
    client = make_sync(answers())
    copy = client.with_options(timeout=1)
    client.close()
    with pytest.raises(SyncFacadeError, match="closed"):
        copy.account.get()


def test_sync_copy_setting_an_option_leaves_the_client_alone() -> None:
    with make_sync(answers()) as client:
        copy = client.with_options(max_retries=1)
        copy.timeout = 4
        copy.account.get()
        assert (copy.timeout, client.timeout, copy.max_retries) == (4.0, 30.0, 1)
        nested = copy.with_options(account=OTHER)
        assert (nested.timeout, nested.max_retries, nested.account_id) == (4.0, 1, OTHER)


def test_sync_raw_response_through_a_copy() -> None:
    transport = answers()
    with make_sync(transport) as client:
        raw = client.with_options(timeout=2).with_raw_response.account.get()
    assert raw.status_code == 200 and transport.requests[0].timeout == 2.0


async def test_async_copy_has_its_own_raw_wrappers() -> None:
    transport = answers()
    client = make(transport)
    assert client.with_raw_response is client.with_raw_response  # built once
    await client.with_raw_response.account.get()
    copy = client.with_options(timeout=2)
    await copy.with_raw_response.account.get()
    assert [r.timeout for r in transport.requests] == [30.0, 2.0]


def test_sync_copy_has_its_own_raw_wrappers() -> None:
    transport = answers()
    with make_sync(transport) as client:
        client.with_raw_response.account.get()
        client.with_options(timeout=2).with_raw_response.account.get()
    assert [r.timeout for r in transport.requests] == [30.0, 2.0]
