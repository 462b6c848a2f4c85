"""The fake server's dispatcher end to end on loopback: signed envelopes reach an aiohttp receiver built with
``webhook_handler``; failures are redelivered on the documented schedule; blocking and unblocking."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from aiohttp import web

from calypso_async import _json
from calypso_async.testing._webhooks import (
    BLOCK_AFTER_ERRORS,
    RETRY_DELAYS,
    DeliveryAttempt,
    Subscription,
    WebhookDispatcher,
    build_delivery,
)
from calypso_async.webhooks import (
    InvoiceCreateInvoiceData,
    InvoicePaidData,
    WebhookEvent,
    construct_event,
    dedup_key,
    verify_signature,
    webhook_handler,
)

from .conftest import serve

FAST = 1e9  # the 91-hour schedule in well under a millisecond


class Recorder:
    """Records sleeps without sleeping (still yields to the loop)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def dispatcher() -> AsyncIterator[WebhookDispatcher]:
    d = WebhookDispatcher(time_scale=FAST)
    yield d
    await d.aclose()


def secret_for(d: WebhookDispatcher) -> Callable[[str | None], str | None]:
    """The receiver's key store: the secret of the subscription whose publicKey is in the Key header."""

    def lookup(key: str | None) -> str | None:
        return next((s.secret_key for s in d.subscriptions() if s.public_key == key), None)

    return lookup


def status_app(statuses: list[int]) -> tuple[Callable[[web.Request], Awaitable[web.Response]], list[bytes]]:
    """A raw receiver answering the given statuses in turn (then 200), recording bodies."""
    bodies: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        status = statuses[len(bodies) - 1] if len(bodies) <= len(statuses) else 200
        return web.Response(status=status)

    return handle, bodies


def invoice_data(n: int) -> dict[str, object]:
    return {"parentExternalId": n, "amount": Decimal("0.0100"), "currency": "ETH", "idempotencyKey": f"key-{n}"}


# ---------------------------------------------------------------------------------------- delivery


async def test_emitted_invoice_events_reach_the_aiohttp_handler_signed(dispatcher: WebhookDispatcher) -> None:
    received: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    async with serve(webhook_handler(secret_for(dispatcher), on_event=on_event)) as url:
        sub = dispatcher.subscribe("sub-invoices", url, ["INVOICE"], [])
        before = datetime.now(timezone.utc) - timedelta(seconds=1)
        dispatcher.emit("INVOICE_CREATE_INVOICE", "INVOICE", invoice_data(1))
        dispatcher.emit("PAYOUT_CHANGE_STATUS", "PAYOUT", {"payoutStatus": "COMPLETED"})  # not subscribed
        dispatcher.emit("INVOICE_PAID", "INVOICE", invoice_data(1))
        await dispatcher.wait_idle()

    assert [e.type for e in received] == ["INVOICE_CREATE_INVOICE", "INVOICE_PAID"]  # in order, one at a time
    assert isinstance(received[0].data, InvoiceCreateInvoiceData)
    assert isinstance(received[1].data, InvoicePaidData)
    paid = received[1].data
    assert paid.amount == Decimal("0.0100") and str(paid.amount) == "0.0100"
    assert paid.parent_external_id == "1" and paid.type == "INVOICE_PAID"
    assert all(e.request_id == "sub-invoices" for e in received)
    assert int(received[0].id or 0) < int(received[1].id or 0)
    for event in received:
        assert event.created_date is not None and before <= event.created_date <= datetime.now(timezone.utc)
    assert len({dedup_key(e) for e in received}) == 2

    ok = [d for d in dispatcher.deliveries]
    assert [(d.event_type, d.attempt, d.status, d.ok) for d in ok] == [
        ("INVOICE_CREATE_INVOICE", 1, 200, True),
        ("INVOICE_PAID", 1, 200, True),
    ]
    for delivery in ok:
        assert delivery.headers["Key"] == sub.public_key
        assert delivery.headers["Content-Type"] == "application/json"
        assert verify_signature(delivery.body, delivery.headers["Sign"], sub.secret_key)
        envelope = _json.loads(delivery.body)
        assert set(envelope) == {"requestId", "id", "createdDate", "level", "service", "eventType", "data"}
        assert envelope["level"] == "SUCCESS" and envelope["service"] == "INVOICE"
        assert "+" not in envelope["createdDate"] and len(envelope["createdDate"].split(".")[1]) == 6
    assert [e.event_type for e in dispatcher.events] == [
        "INVOICE_CREATE_INVOICE",
        "PAYOUT_CHANGE_STATUS",
        "INVOICE_PAID",
    ]
    assert dispatcher.events[1].request_ids == ()


async def test_a_handler_that_fails_twice_receives_the_redelivery(dispatcher: WebhookDispatcher) -> None:
    calls: list[str] = []

    async def flaky(event: WebhookEvent) -> None:
        calls.append(dedup_key(event))
        if len(calls) <= 2:
            raise RuntimeError("not yet")

    async with serve(webhook_handler(secret_for(dispatcher), handlers={"INVOICE_PAID": flaky})) as url:
        dispatcher.subscribe("sub-1", url, [], ["INVOICE_PAID"])
        dispatcher.emit("INVOICE_PAID", "INVOICE", invoice_data(7))
        await dispatcher.wait_idle()

    assert len(calls) == 3 and len(set(calls)) == 1  # the same event three times: de-duplicate on dedup_key
    assert [(d.attempt, d.status, d.ok) for d in dispatcher.deliveries] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert len({d.body for d in dispatcher.deliveries}) == 1  # redelivered byte for byte
    assert dispatcher.subscriptions()[0].error_count == 0  # a success clears the count


def test_retry_schedule_is_30s_times_fibonacci() -> None:
    assert RETRY_DELAYS[:6] == (30, 30, 60, 90, 150, 240)
    assert len(RETRY_DELAYS) == 19 and RETRY_DELAYS[-1] == 125_430
    assert 91 * 3600 < sum(RETRY_DELAYS) < 92 * 3600


async def test_retries_follow_the_schedule_and_give_up_after_19() -> None:
    recorder = Recorder()
    d = WebhookDispatcher(time_scale=1.0, sleep=recorder)  # real scale: the waits are recorded, not slept
    handle, bodies = status_app([503] * 100)
    try:
        async with serve(handle) as url:
            d.subscribe("sub-1", url, ["INVOICE"], [])
            d.emit("INVOICE_PAID", "INVOICE", {})
            await d.wait_idle()
    finally:
        await d.aclose()
    assert recorder.waits == list(RETRY_DELAYS)
    assert len(bodies) == 20 and [a.attempt for a in d.deliveries] == list(range(1, 21))
    assert all(a.status == 503 and not a.ok for a in d.deliveries)


async def test_time_scale_divides_the_waits() -> None:
    recorder = Recorder()
    d = WebhookDispatcher(time_scale=1000.0, sleep=recorder)
    handle, _ = status_app([500, 404, 302])
    try:
        async with serve(handle) as url:
            d.subscribe("sub-1", url, ["INVOICE"], [])
            d.emit("INVOICE_PAID", "INVOICE", {})
            await d.wait_idle()
    finally:
        await d.aclose()
    assert recorder.waits == [0.03, 0.03, 0.06]
    assert [a.status for a in d.deliveries] == [500, 404, 302, 200]  # only 200 counts; redirects are not followed


async def test_connection_errors_are_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = Recorder()
    d = WebhookDispatcher(time_scale=FAST, sleep=recorder)
    try:
        d.subscribe("sub-1", f"http://127.0.0.1:{port}/nobody-listens", ["INVOICE"], [])
        d.emit("INVOICE_PAID", "INVOICE", {})
        await d.wait_idle()
    finally:
        await d.aclose()
    assert len(d.deliveries) == 20
    assert all(a.status is None and a.error and "Connect" in a.error for a in d.deliveries)


async def test_a_timeout_counts_as_a_failure() -> None:
    release = asyncio.Event()
    count = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal count
        count += 1
        if count == 1:
            await release.wait()  # never answers in time
        return web.Response(text="OK")

    d = WebhookDispatcher(time_scale=FAST, delivery_timeout=0.2)
    try:
        async with serve(handle) as url:
            d.subscribe("sub-1", url, ["INVOICE"], [])
            d.emit("INVOICE_PAID", "INVOICE", {})
            await d.wait_idle()
            release.set()
    finally:
        await d.aclose()
    assert [(a.status, a.error, a.ok) for a in d.deliveries] == [(None, "timeout", False), (200, None, True)]


# ---------------------------------------------------------------------------------------- blocking


async def test_more_than_100_errors_in_the_window_block_until_unblocked() -> None:
    recorder = Recorder()
    d = WebhookDispatcher(time_scale=1.0, sleep=recorder, clock=lambda: 0.0)  # every error inside the window
    failing = True

    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=500 if failing else 200)

    try:
        async with serve(handle) as url:
            sub = d.subscribe("sub-1", url, ["INVOICE"], [])
            for n in range(8):
                d.emit("INVOICE_PAID", "INVOICE", invoice_data(n))
            await d.wait_idle()
            assert sub.blocked and sub.error_count == BLOCK_AFTER_ERRORS + 1
            assert len(d.deliveries) == BLOCK_AFTER_ERRORS + 1  # nothing is sent once blocked
            assert d.held("sub-1") == 8

            d.emit("INVOICE_EXPIRED", "INVOICE", invoice_data(9))  # emitted while blocked: held too
            await d.wait_idle()
            assert d.held("sub-1") == 9 and len(d.deliveries) == BLOCK_AFTER_ERRORS + 1

            failing = False
            assert d.unblock("sub-1") == 9
            await d.wait_idle()
    finally:
        await d.aclose()
    burst = d.deliveries[BLOCK_AFTER_ERRORS + 1 :]
    assert len(burst) == 9 and all(a.ok and a.redelivery and a.attempt == 1 for a in burst)
    assert not sub.blocked and sub.error_count == 0 and d.held("sub-1") == 0


async def test_errors_outside_the_window_do_not_block() -> None:
    now = [0.0]
    recorder = Recorder()
    d = WebhookDispatcher(time_scale=1.0, sleep=recorder, clock=lambda: now[0])

    async def handle(request: web.Request) -> web.Response:
        now[0] += 10.0  # 10 s per failure: at most 60 errors fit in 10 minutes
        return web.Response(status=500)

    try:
        async with serve(handle) as url:
            sub = d.subscribe("sub-1", url, ["INVOICE"], [])
            for n in range(8):
                d.emit("INVOICE_PAID", "INVOICE", invoice_data(n))
            await d.wait_idle()
    finally:
        await d.aclose()
    assert not sub.blocked and len(d.deliveries) == 8 * 20 and sub.error_count <= 61


# ------------------------------------------------------------------------------------ subscriptions


async def test_matching_by_group_event_and_alias_with_separate_keys(dispatcher: WebhookDispatcher) -> None:
    handle, bodies = status_app([])
    async with serve(handle) as url:
        by_group = dispatcher.subscribe("group", url, ["INVOICE"], [])
        by_alias = dispatcher.subscribe("alias", url, [], ["INVOICE_COMPLIANCE_CHECK"])
        dispatcher.emit("INVOICE_PENDING_COMPLIANCE", "INVOICE", {"amount": Decimal("1")})
        dispatcher.emit("INVOICE_PAID", "INVOICE", {})
        await dispatcher.wait_idle()
    seen = sorted((a.request_id, a.event_type) for a in dispatcher.deliveries)
    assert seen == [
        ("alias", "INVOICE_PENDING_COMPLIANCE"),
        ("group", "INVOICE_PAID"),
        ("group", "INVOICE_PENDING_COMPLIANCE"),
    ]
    for attempt in dispatcher.deliveries:
        sub = by_group if attempt.request_id == "group" else by_alias
        other = by_alias if sub is by_group else by_group
        assert construct_event(attempt.body, attempt.headers, sub.secret_key, public_key=sub.public_key)
        assert not verify_signature(attempt.body, attempt.headers["Sign"], other.secret_key)
    assert len({a.event_id for a in dispatcher.deliveries}) == 3 and len(bodies) == 3


async def test_unsubscribe_stops_retries(dispatcher: WebhookDispatcher) -> None:
    async def handle(request: web.Request) -> web.Response:
        dispatcher.unsubscribe("sub-1")
        return web.Response(status=500)

    async with serve(handle) as url:
        dispatcher.subscribe("sub-1", url, ["INVOICE"], [])
        dispatcher.emit("INVOICE_PAID", "INVOICE", {})
        await dispatcher.wait_idle()
    assert len(dispatcher.deliveries) == 1 and dispatcher.subscriptions() == []
    assert dispatcher.unsubscribe("sub-1") is False


def test_subscription_repr_hides_the_secret() -> None:
    sub = Subscription("r", "http://127.0.0.1/x", ["INVOICE"], [])
    assert sub.secret_key not in repr(sub) and sub.public_key in repr(sub)
    d = WebhookDispatcher()
    s = d.subscribe("r", "http://127.0.0.1/x", [], [])
    assert s.secret_key not in repr(d)
    attempt = DeliveryAttempt("r", 1, "X", "u", 1, 200, None, True, False, b"body", {"Sign": "abc"})
    assert "abc" not in repr(attempt) and "body" not in repr(attempt)


# ---------------------------------------------------------------------------------- loop handling


async def test_emit_outside_a_loop_is_delivered_once_awaited(dispatcher: WebhookDispatcher) -> None:
    handle, bodies = status_app([])
    async with serve(handle) as url:

        def outside_any_loop() -> None:
            dispatcher.subscribe("sub-1", url, ["INVOICE"], [])
            dispatcher.emit("INVOICE_PAID", "INVOICE", {})

        await asyncio.to_thread(outside_any_loop)  # the dispatcher has no loop yet: the delivery waits
        assert dispatcher.deliveries == [] and bodies == []
        await dispatcher.wait_idle()
        assert len(bodies) == 1
        # Now the dispatcher has a home loop: an emit from another thread is handed to it.
        dispatcher.attach(asyncio.get_running_loop())  # a no-op here: already attached
        await asyncio.to_thread(dispatcher.emit, "INVOICE_EXPIRED", "INVOICE", {})
        await dispatcher.wait_idle()
    assert [a.event_type for a in dispatcher.deliveries] == ["INVOICE_PAID", "INVOICE_EXPIRED"]


def test_floats_are_refused_at_emit() -> None:
    d = WebhookDispatcher()
    d.subscribe("sub-1", "http://127.0.0.1:9/x", ["INVOICE"], [])
    with pytest.raises(TypeError, match="float"):
        d.emit("INVOICE_PAID", "INVOICE", {"amount": 0.1})


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        WebhookDispatcher(time_scale=0)
    with pytest.raises(ValueError):
        WebhookDispatcher(delivery_timeout=float("nan"))
    with pytest.raises(KeyError):
        WebhookDispatcher().unblock("nobody")


async def test_aclose_cancels_in_flight_deliveries_and_can_be_reused() -> None:
    gate = asyncio.Event()
    arrived = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        arrived.set()
        await gate.wait()
        return web.Response(text="OK")

    d = WebhookDispatcher(time_scale=FAST)
    async with serve(handle) as url:
        d.subscribe("sub-1", url, ["INVOICE"], [])
        d.emit("INVOICE_PAID", "INVOICE", {})
        await arrived.wait()
        await d.aclose()  # cancels the POST in flight and closes the session
        assert d.deliveries == []
        gate.set()
        handle2, bodies = status_app([])
        async with serve(handle2) as url2:
            d.subscribe("sub-2", url2, ["INVOICE"], [])
            d.unsubscribe("sub-1")
            d.emit("INVOICE_PAID", "INVOICE", {})
            await d.wait_idle()
            await d.aclose()
    assert len(bodies) == 1


def test_build_delivery_is_verifiable() -> None:
    body, headers = build_delivery("INVOICE_COMPLIANCE_CHECK", {"amount": Decimal("5.00")}, "s", event_id=9)
    event = construct_event(body, headers, "s")
    assert event.type == "INVOICE_PENDING_COMPLIANCE" and event.service == "INVOICE" and event.id == "9"
    assert event.data.type == "INVOICE_COMPLIANCE_CHECK"
