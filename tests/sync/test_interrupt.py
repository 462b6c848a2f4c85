"""KeyboardInterrupt (any BaseException) while a thread waits: the task is cancelled on the loop, then re-raised."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import textwrap
import threading
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import AiohttpTransport
from calypso_async.testing import FakeCalypso, Fault
from calypso_sync._portal import Portal

from .conftest import make_client, popen_python


def test_interrupt_cancels_the_task_before_reraising(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()
    cancelled = threading.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupted(future: concurrent.futures.Future[Any]) -> Any:
        assert started.wait(30)
        raise KeyboardInterrupt

    monkeypatch.setattr(portal, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        portal.run(slow())
    assert cancelled.is_set()  # run() waited for the cancellation to finish before re-raising
    monkeypatch.delattr(portal, "_wait")
    assert portal.run(asyncio.sleep(0, "still works")) == "still works"


def test_interrupt_right_after_submitting_cancels_the_task(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    # Whether the task got its first step before the cancel arrived is a race (it lost under load in CI), so the
    # body waits for something that never comes: either way the cancel must end it, and run() waits for that.
    async def body() -> None:
        await asyncio.Event().wait()

    async def other_tasks() -> int:
        return len(asyncio.all_tasks() - {asyncio.current_task()})

    portal.run(asyncio.sleep(0))  # loop up

    def interrupted(future: concurrent.futures.Future[Any]) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(portal, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        portal.run(body())
    monkeypatch.delattr(portal, "_wait")
    assert portal.run(other_tasks()) == 0  # the interrupted call's task is gone, not left waiting


def received_by(server: FakeCalypso, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when the server starts processing a request (before an injected delay)."""
    received = threading.Event()
    original = server._process

    def process(*args: Any) -> Any:
        received.set()
        return original(*args)

    monkeypatch.setattr(server, "_process", process)
    return received


def test_interrupted_api_call_is_cancelled_and_the_client_recovers(
    server: FakeCalypso, portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.inject("/api/v1/account", Fault.delay(60))
    received = received_by(server, monkeypatch)
    cancelled = threading.Event()
    original = AiohttpTransport.send

    async def spy(self: AiohttpTransport, request: Any) -> Any:
        try:
            return await original(self, request)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupted(future: concurrent.futures.Future[Any]) -> Any:
        assert received.wait(30)  # the request is at the server, which delays its answer
        raise KeyboardInterrupt

    monkeypatch.setattr(AiohttpTransport, "send", spy)
    monkeypatch.setattr(portal, "_wait", interrupted)
    client = make_client(server)
    with pytest.raises(KeyboardInterrupt):
        client.account.get()
    assert cancelled.is_set()
    monkeypatch.delattr(portal, "_wait")
    assert client.account.get().account == server.account_id
    client.close()


def test_real_sigint_while_blocked_cancels_the_request(server: FakeCalypso, monkeypatch: pytest.MonkeyPatch) -> None:
    server.inject("/api/v1/account", Fault.delay(60))
    received = received_by(server, monkeypatch)
    script = textwrap.dedent(
        """
        import asyncio, sys
        from calypso_async import AiohttpTransport
        from calypso_sync import Calypso
        from calypso_sync._portal import PORTAL

        PORTAL.cancel_grace = 120  # a hang guard only: under load the cancellation may take a while

        cancelled = []
        original = AiohttpTransport.send

        async def spy(self, request):
            try:
                return await original(self, request)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        AiohttpTransport.send = spy
        client = Calypso(max_retries=0)
        try:
            client.account.get()
        except KeyboardInterrupt:
            print("interrupted", cancelled == [True])
        client.close()
        """
    )
    with popen_python(script, server) as proc:
        assert received.wait(30)
        proc.send_signal(signal.SIGINT)  # Ctrl-C while the main thread is blocked in the call
        out, err = proc.communicate(timeout=120)
    assert out.split() == ["interrupted", "True"], err
    assert proc.returncode == 0 and err == ""


def keyed_create(started: threading.Event, key: str | None) -> Any:
    """A stand-in for a keyed create: when cancelled, it says which key it had sent (as the engine does)."""

    async def create() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError as exc:
            if key is not None:
                exc.idempotency_key = key  # type: ignore[attr-defined]
                exc.operation = "payouts.create"  # type: ignore[attr-defined]
            raise

    return create()


def _interrupt_create(portal: Portal, monkeypatch: pytest.MonkeyPatch, key: str | None) -> KeyboardInterrupt:
    """Ctrl-C (a KeyboardInterrupt in the caller's wait) once the create with ``key`` is in flight."""
    started = threading.Event()

    def interrupted(future: concurrent.futures.Future[Any]) -> Any:
        assert started.wait(30)
        raise KeyboardInterrupt

    monkeypatch.setattr(portal, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt) as info:
        portal.run(keyed_create(started, key))
    return info.value


def test_interrupt_of_a_keyed_create_carries_its_idempotency_key(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt = _interrupt_create(portal, monkeypatch, "3f0c9a52-key")
    assert getattr(interrupt, "idempotency_key", None) == "3f0c9a52-key"
    assert getattr(interrupt, "operation", None) == "payouts.create"


def test_interrupt_of_an_unkeyed_call_gets_no_key(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    interrupt = _interrupt_create(portal, monkeypatch, None)
    assert getattr(interrupt, "idempotency_key", None) is None


def test_ctrl_c_around_a_sync_keyed_create_puts_its_key_on_the_interrupt(
    server: FakeCalypso, portal: Portal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server.inject("/api/v1/payout/create", Fault.delay(60))
    received = received_by(server, monkeypatch)

    def interrupted(future: concurrent.futures.Future[Any]) -> Any:
        assert received.wait(30)  # the create is at the server: it may exist, so its key must not be lost
        raise KeyboardInterrupt

    monkeypatch.setattr(portal, "_wait", interrupted)
    client = make_client(server)
    address = "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N"
    with caplog.at_level(logging.WARNING, logger="calypso"), pytest.raises(KeyboardInterrupt) as info:
        client.payouts.create(amount=Decimal("5"), currency="USDT_TRX", deposit_address=address)
    key = getattr(info.value, "idempotency_key", None)
    sent = [r for r in server.requests if r.path == "/api/v1/payout/create"]
    assert key is not None and sent[-1].json["payload"]["idempotencyKey"] == key
    assert getattr(info.value, "operation", None) in (None, "payouts.create")  # copied when the engine sets it
    assert [r for r in caplog.records if key in r.getMessage()]  # and the engine's recovery hint names it
    monkeypatch.delattr(portal, "_wait")
    again = client.payouts.create(
        amount=Decimal("5"), currency="USDT_TRX", deposit_address=address, idempotency_key=key
    )
    assert again.idempotency_key == key  # recovered with the key: the same payout, not a second one
    client.close()
