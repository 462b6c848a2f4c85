"""Answers the poller cannot read are a PollError for that account: no change event, the snapshot keeps its last
good value, and the next good answer that matches it reports nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from calypso_async import AsyncCalypso, InvalidResponseError, Request, Response
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
    "not JSON": b"<html>502 Bad Gateway</html>",
    "an empty body": b"",
}


def _scripted(answer: Callable[[Request], Response]) -> tuple[AsyncCalypso, BalancePoller, Recorder]:
    """A client whose every request ``answer`` answers, and a poller of ``0xa`` every 10 s on a manual clock."""
    recorder = Recorder()
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=ScriptedTransport(answer))
    poller = BalancePoller(
        client, ["0xa"], interval=10, jitter=0.0, clock=ManualClock(), on_change=recorder, on_error=recorder
    )
    return client, poller, recorder


@pytest.mark.parametrize("kind", list(BAD))
async def test_an_unreadable_answer_is_a_poll_error_and_no_change(kind: str) -> None:
    answers = [GOOD, BAD[kind], GOOD, BAD[kind], GOOD]
    client, poller, recorder = _scripted(lambda request: Response(200, {}, answers.pop(0)))
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
    client, poller, recorder = _scripted(lambda request: Response(200, {}, answers.pop(0)))
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
    client, poller, recorder = _scripted(lambda request: Response(200, {}, answers.pop(0)))
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
    client, poller, recorder = _scripted(
        lambda request: Response(404, {}, b'{"errorCode":"004","message":"not found"}')
    )
    try:
        async with poller:
            await poller.advance(10)
    finally:
        await client.aclose()
    assert [e.error.operation for e in recorder.errors] == ["account.get"]  # type: ignore[attr-defined]


async def _poll_answers(answers: list[bytes], monkeypatch: pytest.MonkeyPatch) -> tuple[Recorder, list[bytes]]:
    """Poll ``0xa`` for 300 s (every 10 s, backing off after failures), answering ``answers`` in turn and then the last
    one again; returns the events and the bodies the poller decoded."""
    from calypso_async.poller import _poller

    decoded: list[bytes] = []
    decode = _poller._decode

    def spy(body: bytes) -> object:
        decoded.append(body)
        return decode(body)

    monkeypatch.setattr(_poller, "_decode", spy)
    client, poller, recorder = _scripted(
        lambda request: Response(200, {}, answers.pop(0) if len(answers) > 1 else answers[0])
    )
    try:
        async with poller:
            await poller.advance(300)
    finally:
        await client.aclose()
    assert len(answers) == 1
    return recorder, decoded


RENAMED = GOOD.replace(b'"account":"0xa"', b'"account":"0xa","name":"Treasury"')
CHANGED = GOOD.replace(b'"amount":"1.5"', b'"amount":"2.5"')


async def test_an_answer_identical_to_the_last_one_read_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, decoded = await _poll_answers([GOOD, GOOD, GOOD, RENAMED, RENAMED, GOOD], monkeypatch)
    assert decoded == [GOOD, RENAMED, GOOD]  # other bytes are decoded and compared: same balances, no change
    assert recorder.changes == [] and recorder.errors == []


async def test_a_change_is_seen_after_identical_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, decoded = await _poll_answers([GOOD, GOOD, CHANGED, CHANGED, GOOD], monkeypatch)
    assert decoded == [GOOD, CHANGED, GOOD]
    assert [(c.currency, c.previous, c.new) for c in recorder.changes] == [
        ("BTC", Decimal("1.5"), Decimal("2.5")),
        ("BTC", Decimal("2.5"), Decimal("1.5")),
    ]


async def test_an_unreadable_answer_is_read_again_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = BAD["an unreadable amount"]
    recorder, decoded = await _poll_answers([GOOD, bad, bad, GOOD], monkeypatch)
    assert decoded == [GOOD, bad, bad]  # the last GOOD is the answer the snapshot came from
    assert len(recorder.errors) == 2 and recorder.changes == []
