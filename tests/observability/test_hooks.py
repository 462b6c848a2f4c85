"""Event hooks see every attempt (request, response, retry) of both clients, never a secret, and never break a call."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from calypso_async import APITimeoutError, AsyncCalypso, HookEvent, OutcomeUnknownError, RetryPolicy, ServerError

from .support import ACCOUNT_BODY, StubTransport, assert_no_secret, error, make, make_sync, ok, options


class Recorder:
    def __init__(self) -> None:
        self.events: list[HookEvent] = []

    def __call__(self, event: HookEvent) -> None:
        self.events.append(event)

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self], "response": [self], "retry": [self]}

    def kinds(self) -> list[tuple[str, int]]:
        return [(e.kind, e.attempt) for e in self.events]


def retry_script() -> StubTransport:
    return StubTransport(
        error(503, None, trace_id="t-1"), APITimeoutError("slow"), ok(ACCOUNT_BODY, headers={"X-Trace-Id": "t-3"})
    )


def check_retry_events(recorder: Recorder, transport: StubTransport) -> None:
    assert recorder.kinds() == [
        ("request", 1),
        ("response", 1),
        ("retry", 1),
        ("request", 2),
        ("response", 2),
        ("retry", 2),
        ("request", 3),
        ("response", 3),
    ]
    first, second, third = (e for e in recorder.events if e.kind == "response")
    assert (first.status, first.error, first.trace_id) == (503, "ServerError", "t-1")
    assert (second.status, second.error) == (None, "APITimeoutError")
    assert (third.status, third.error, third.trace_id) == (200, None, "t-3")
    for event in recorder.events:
        assert event.operation == "account.get"
        assert (event.method, event.path) == ("POST", "/api/v1/account")
        assert event.account is not None and "…" in event.account
        if event.kind != "request":
            assert event.duration is not None and event.duration >= 0
    retries = [e for e in recorder.events if e.kind == "retry"]
    assert all(e.retry_delay is not None and e.retry_delay > 0 for e in retries)
    assert_no_secret(repr(recorder.events), transport)


async def test_async_hooks_see_each_attempt_and_retry_decision() -> None:
    recorder = Recorder()
    transport = retry_script()
    client = make(transport, event_hooks=recorder.hooks())
    account = await client.account.get()
    assert account.account == ACCOUNT_BODY["account"]
    check_retry_events(recorder, transport)


def test_sync_hooks_see_each_attempt_and_retry_decision() -> None:
    recorder = Recorder()
    transport = retry_script()
    with make_sync(transport, event_hooks=recorder.hooks()) as client:
        client.account.get()
    check_retry_events(recorder, transport)


async def test_async_coroutine_hooks_are_awaited() -> None:
    seen: list[str] = []

    async def hook(event: HookEvent) -> None:
        seen.append(f"{event.kind}:{event.status}")

    client = make(StubTransport(ok(ACCOUNT_BODY)), event_hooks={"request": [hook], "response": [hook]})
    await client.account.get()
    assert seen == ["request:None", "response:200"]


def test_sync_client_runs_coroutine_hooks_too() -> None:
    seen: list[str] = []

    async def hook(event: HookEvent) -> None:
        seen.append(event.kind)

    with make_sync(StubTransport(ok(ACCOUNT_BODY)), event_hooks={"response": [hook]}) as client:
        client.account.get()
    assert seen == ["response"]


async def test_final_failure_is_reported_as_the_last_response() -> None:
    recorder = Recorder()
    transport = StubTransport(default=error(503, "000", trace_id="t-9"))
    client = make(transport, event_hooks=recorder.hooks())
    with pytest.raises(ServerError):
        await client.account.get()
    assert recorder.kinds()[-2:] == [("request", 3), ("response", 3)]
    last = recorder.events[-1]
    assert (last.status, last.error, last.error_code, last.trace_id) == (503, "ServerError", "000", "t-9")


async def test_money_moving_event_carries_the_idempotency_key_not_the_body() -> None:
    recorder = Recorder()
    transport = StubTransport(ok({"id": "p-1", "idempotencyKey": "k-1"}))
    client = make(transport, event_hooks=recorder.hooks())
    await client.payouts.create(deposit_address="Tabc", amount=1, currency="TRX", idempotency_key="k-1")
    assert {e.idempotency_key for e in recorder.events} == {"k-1"}
    assert recorder.events[0].operation == "payouts.create"
    assert_no_secret(repr(recorder.events), transport)


def broken(event: HookEvent) -> None:
    raise RuntimeError("hook bug")


async def test_async_hook_that_raises_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    async def broken_async(event: HookEvent) -> None:
        raise ValueError("async hook bug")

    recorder = Recorder()
    hooks = {"request": [broken, recorder], "response": [broken_async, recorder]}
    client = make(StubTransport(ok(ACCOUNT_BODY)), event_hooks=hooks)
    with caplog.at_level(logging.WARNING, logger="calypso"):
        await client.account.get()
    assert recorder.kinds() == [("request", 1), ("response", 1)]  # later hooks still ran
    messages = [r.getMessage() for r in caplog.records]
    assert any("broken raised RuntimeError" in m for m in messages)
    assert any("broken_async raised ValueError" in m for m in messages)


def test_sync_hook_that_raises_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="calypso"):
        with make_sync(StubTransport(ok(ACCOUNT_BODY)), event_hooks={"response": [broken]}) as client:
            assert client.account.get().account == ACCOUNT_BODY["account"]
    assert any("raised RuntimeError" in r.getMessage() for r in caplog.records)


def test_sync_hooks_run_on_the_loop_thread_not_the_callers() -> None:
    threads: list[int] = []
    hooks = {"request": [lambda e: threads.append(threading.get_ident())]}
    with make_sync(StubTransport(ok(ACCOUNT_BODY)), event_hooks=hooks) as client:
        client.account.get()
    assert threads and threads[0] != threading.get_ident()


async def test_calls_made_by_a_hook_are_not_part_of_the_observed_call() -> None:
    other = make(StubTransport(ok({"nested": True})))

    async def hook(event: HookEvent) -> None:
        await other.request("/api/v1/other")

    client = make(StubTransport(ok(ACCOUNT_BODY, headers={"X-Trace-Id": "mine"})), event_hooks={"response": [hook]})
    raw = await client.with_raw_response.account.get()
    assert (raw.trace_id, raw.attempts) == ("mine", 1)


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"reqest": []}, "unknown event hook kind 'reqest'"),
        ({"request": [42]}, "not callable"),
        ({"request": 42}, "list of callables"),
        (["request"], "mapping"),
    ],
)
def test_bad_event_hooks_are_refused_at_construction(hooks: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AsyncCalypso(**options(StubTransport(), event_hooks=hooks))
    with pytest.raises(ValueError, match=message):
        make_sync(StubTransport(), event_hooks=hooks)


async def test_a_single_callable_is_accepted_for_a_kind() -> None:
    recorder = Recorder()
    client = make(StubTransport(ok(ACCOUNT_BODY)), event_hooks={"response": recorder})
    await client.account.get()
    assert recorder.kinds() == [("response", 1)]


async def test_last_attempt_of_an_unknown_outcome_reports_its_own_failure() -> None:
    recorder = Recorder()
    client = make(StubTransport(error(503, "000")), event_hooks={"response": [recorder]})
    with pytest.raises(OutcomeUnknownError):
        await client.exchanges.create(source_currency="BTC", destination_currency="ETH", amount=1)
    (event,) = recorder.events
    assert (event.status, event.error, event.error_code) == (503, "ServerError", "000")


async def test_retry_is_announced_before_its_wait() -> None:
    timeline: list[str] = []

    async def sleep(seconds: float) -> None:
        timeline.append("wait")

    def hook(event: HookEvent) -> None:
        timeline.append(f"{event.kind}{event.attempt}")

    hooks = {"request": [hook], "response": [hook], "retry": [hook]}
    transport = StubTransport(error(503, None), ok(ACCOUNT_BODY))
    client = make(transport, event_hooks=hooks, retry_policy=RetryPolicy(max_retries=2, sleep=sleep))
    await client.account.get()
    assert timeline == ["request1", "response1", "retry1", "wait", "request2", "response2"]
