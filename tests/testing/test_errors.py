"""What the fake server's helpers raise is a ``CalypsoError`` that keeps its built-in base, pickles, and names
the problem; what it logs and shows never carries credentials."""

from __future__ import annotations

import logging
import pickle
from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, CalypsoError
from calypso_async.testing import (
    FakeArgumentError,
    FakeCalypso,
    FakeServerError,
    FakeServerStateError,
    Fault,
    UnknownObjectError,
)
from calypso_async.testing._webhooks import _shown_url


def test_not_started_and_started_twice_are_state_errors() -> None:
    server = FakeCalypso()
    with pytest.raises(FakeServerStateError, match="not started") as caught:
        _ = server.base_url
    assert isinstance(caught.value, (CalypsoError, RuntimeError))


async def test_starting_twice_is_a_state_error(server: FakeCalypso) -> None:
    with pytest.raises(FakeServerStateError, match="already started"):
        await server.start()


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.pay_invoice("nope"),
        lambda s: s.fail_payout("nope"),
        lambda s: s.select_widget_currency("nope", "ETH"),
        lambda s: s.deposit_to_purse("nope", "ETH", Decimal(1)),
        lambda s: s.add_purse_transactions("nope", 1),
        lambda s: s.balance("0xnope", "ETH"),
        lambda s: s.set_balance("0xnope", "ETH", Decimal(1)),
        lambda s: s.webhooks.unblock("nope"),
    ],
)
def test_unknown_ids_are_unknown_object_errors(call) -> None:  # type: ignore[no-untyped-def]
    server = FakeCalypso()
    with pytest.raises(UnknownObjectError, match="nope") as caught:
        call(server)
    error = caught.value
    assert isinstance(error, (CalypsoError, LookupError, KeyError)) and not str(error).startswith("'")


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.set_balance(s.account_id, "ETH", 1.5),
        lambda s: s.inject("*", "503"),
    ],
)
def test_wrong_argument_types_are_argument_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FakeArgumentError) as caught:
        call(FakeCalypso())
    assert isinstance(caught.value, (CalypsoError, ValueError, TypeError))


def test_bad_values_are_value_errors() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault.drop(times=0)


@pytest.mark.parametrize(
    "error",
    [
        FakeServerError("x"),
        FakeServerStateError("not started"),
        UnknownObjectError("no invoice '1'"),
        FakeArgumentError("amount"),
    ],
)
def test_errors_pickle(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


async def test_recorded_requests_never_show_the_credentials(server: FakeCalypso, client: AsyncCalypso) -> None:
    await client.account.get()
    shown = repr(server.requests) + repr(server) + repr(client)
    assert server.api_key not in shown and server.secret_key not in shown
    assert server.requests[0].headers["Key"] == server.api_key  # the data itself stays exact


def test_webhook_urls_in_logs_lose_user_info_and_query() -> None:
    assert _shown_url("https://user:pw@example.com:8443/h?token=abc") == "https://example.com:8443/h"
    assert _shown_url("http://[::1]:8080/hook") == "http://[::1]:8080/hook"
    assert _shown_url("http://[bad/x") == "<unparsable url>"


async def test_the_server_logs_no_credentials(
    server: FakeCalypso, client: AsyncCalypso, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.inject("*", Fault.status(500))
    await client.account.get()
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert server.api_key not in text and server.secret_key not in text
