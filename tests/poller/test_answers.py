"""Answers the poller cannot read are a PollError for that account: no change event, the snapshot keeps its last
good value, and the next good answer that matches it reports nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, InvalidResponseError, Response
from calypso_async.poller import BalancePoller, ManualClock

from .conftest import Recorder, ScriptedTransport

GOOD = b'{"account":"0xa","balances":[{"currency":"BTC","amount":"1.5"},{"currency":"ETH","amount":"100"}]}'
BAD = {
    "balances null": b'{"account":"0xa","balances":null}',
    "balances missing": b'{"account":"0xa"}',
    "an object instead of a list": b'{"account":"0xa","balances":{"BTC":"1.5","ETH":"100"}}',
    "an unreadable amount": b'{"account":"0xa","balances":[{"currency":"BTC","amount":"1.5x"},'
    b'{"currency":"ETH","amount":"100"}]}',
    "an amount that is null": b'{"account":"0xa","balances":[{"currency":"BTC","amount":null}]}',
    "an entry without a currency": b'{"account":"0xa","balances":[{"amount":"1.5"}]}',
    "an entry that is not an object": b'{"account":"0xa","balances":["BTC"]}',
}


@pytest.mark.parametrize("kind", list(BAD))
async def test_an_unreadable_answer_is_a_poll_error_and_no_change(kind: str) -> None:
    answers = [GOOD, BAD[kind], GOOD, BAD[kind], GOOD]
    canned = ScriptedTransport(lambda request: Response(200, {}, answers.pop(0)))
    recorder = Recorder()
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=canned)
    poller = BalancePoller(
        client, ["0xa"], interval=10, jitter=0.0, clock=ManualClock(), on_change=recorder, on_error=recorder
    )
    try:
        async with poller:
            await poller.advance(10)  # good: the baseline
            await poller.advance(20)  # bad: failure 1, backoff 20 s
            snapshot = poller.snapshot("0xa")
            assert snapshot is not None and dict(snapshot.balances) == {"BTC": Decimal("1.5"), "ETH": Decimal(100)}
            assert poller.failures("0xa") == 1
            await poller.advance(10)  # good again: same balances
            await poller.advance(20)  # bad again
            await poller.advance(10)  # good
    finally:
        await client.aclose()
    assert answers == []
    assert recorder.changes == []
    assert [type(e.error) for e in recorder.errors] == [InvalidResponseError, InvalidResponseError]
    assert all("account.get for 0xa answered" in str(e.error) for e in recorder.errors)
    assert recorder.errors[0].dedup_key != recorder.errors[1].dedup_key  # two failures, told apart
    stats = poller.stats()
    assert stats.errors == 2 and stats.changes == 0 and stats.polls == 5


async def test_an_empty_list_is_a_readable_answer() -> None:
    answers = [GOOD, b'{"account":"0xa","balances":[]}']
    canned = ScriptedTransport(lambda request: Response(200, {}, answers.pop(0)))
    recorder = Recorder()
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=canned)
    poller = BalancePoller(client, ["0xa"], interval=10, jitter=0.0, clock=ManualClock(), on_change=recorder)
    try:
        async with poller:
            await poller.advance(20)
    finally:
        await client.aclose()
    assert sorted((c.currency, c.new) for c in recorder.changes) == [("BTC", None), ("ETH", None)]


async def test_amounts_as_strings_and_integers_are_read_like_the_model_reads_them() -> None:
    answers = [
        b'{"balances":[{"currency":"BTC","amount":"1.50"},{"currency":"ETH","amount":100}]}',
        b'{"balances":[{"currency":"BTC","amount":1.5},{"currency":"ETH","amount":"100.0"}]}',
        b'{"balances":[{"currency":"BTC","amount":1.5},{"currency":"ETH","amount":1e9999}]}',
    ]
    canned = ScriptedTransport(lambda request: Response(200, {}, answers.pop(0)))
    recorder = Recorder()
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=canned)
    poller = BalancePoller(
        client, ["0xa"], interval=10, jitter=0.0, clock=ManualClock(), on_change=recorder, on_error=recorder
    )
    try:
        async with poller:
            await poller.advance(10)
            await poller.advance(10)  # numerically the same: no change
            await poller.advance(10)  # an absurd exponent: refused, not expanded
    finally:
        await client.aclose()
    assert recorder.changes == []
    assert [type(e.error) for e in recorder.errors] == [InvalidResponseError]


async def test_errors_name_the_account_get_operation() -> None:
    canned = ScriptedTransport(lambda request: Response(404, {}, b'{"errorCode":"004","message":"not found"}'))
    recorder = Recorder()
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=canned)
    poller = BalancePoller(client, ["0xa"], interval=10, clock=ManualClock(), on_error=recorder)
    try:
        async with poller:
            await poller.advance(10)
    finally:
        await client.aclose()
    assert [e.error.operation for e in recorder.errors] == ["account.get"]  # type: ignore[attr-defined]
