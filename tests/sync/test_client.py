"""The sync client against the fake server: calls, errors, threads, running loops, lifecycle."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, cast

import pytest

import calypso_async
import calypso_sync
from calypso_async import AiohttpTransport
from calypso_async.testing import FakeCalypso, Fault
from calypso_sync import Calypso, CalypsoError, NotFoundError, SyncFacadeError
from calypso_sync._portal import PORTAL, Portal

from .conftest import make_client


def test_basic_call_returns_the_async_model(server: FakeCalypso, client: Calypso) -> None:
    account = client.account.get()
    assert isinstance(account, calypso_async.models.AccountResponseDTO)
    assert account.account == server.account_id
    assert account.balances and all(isinstance(b.amount, Decimal) for b in account.balances)


def test_public_names_are_reexported() -> None:
    assert calypso_sync.CalypsoError is calypso_async.CalypsoError
    assert calypso_sync.SyncFacadeError is calypso_async.SyncFacadeError
    assert calypso_sync.InvoiceState is calypso_async.models.InvoiceState
    assert calypso_sync.models.AccountResponseDTO is calypso_async.models.AccountResponseDTO
    assert calypso_sync.resources.Payouts.__name__ == "Payouts"
    assert issubclass(SyncFacadeError, CalypsoError)


def test_api_errors_propagate_as_calypso_errors(server: FakeCalypso, client: Calypso) -> None:
    server.inject("/api/v1/account", Fault.status(404, error_code="004", message="no such account"))
    with pytest.raises(NotFoundError) as caught:
        client.account.get()
    assert caught.value.status_code == 404
    assert client.account.get().account == server.account_id  # the next call is fine


def test_raw_request_and_properties(server: FakeCalypso, client: Calypso) -> None:
    answer = client.request("/api/v1/account")
    assert answer["account"] == server.account_id
    assert client.account_id == server.account_id
    assert client.base_url == server.base_url
    assert client.max_retries == 0
    assert isinstance(client.clock_offset, float)
    assert repr(client).startswith("Calypso(api_key=")
    assert server.api_key not in repr(client)


def test_setting_an_attribute_reaches_the_async_client(server: FakeCalypso, client: Calypso) -> None:
    client.timeout = 7.5
    client.account_id = "0xother"
    assert client._async_client.timeout == 7.5
    assert client._async_client.account_id == "0xother"
    assert client._overrides == {"timeout": 7.5, "account_id": "0xother"}  # replayed after fork


def test_sixteen_threads_share_one_client_and_one_pool(
    server: FakeCalypso, client: Calypso, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []
    original = AiohttpTransport._get_session

    def spy(self: AiohttpTransport) -> Any:
        session = original(self)
        seen.append((id(session), id(session.connector), threading.get_ident()))
        return session

    monkeypatch.setattr(AiohttpTransport, "_get_session", spy)
    barrier = threading.Barrier(16)

    def work(_: int) -> list[str | None]:
        barrier.wait(timeout=30)
        return [client.account.get().account for _ in range(5)]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [[server.account_id] * 5] * 16
    assert len(seen) == 80
    assert len({session for session, _, _ in seen}) == 1  # one session ...
    assert len({connector for _, connector, _ in seen}) == 1  # ... one connection pool ...
    assert {thread for _, _, thread in seen} == {PORTAL._thread_ident}  # ... used only on the private loop


def test_call_from_inside_a_running_event_loop(
    server: FakeCalypso, client: Calypso, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PORTAL, "_warned_running_loop", False)

    async def handler() -> tuple[str | None, str | None]:
        return client.account.get().account, client.account.get().account

    with caplog.at_level(logging.WARNING, logger="calypso"):
        assert asyncio.run(handler()) == (server.account_id, server.account_id)
    hints = [r for r in caplog.records if "calypso_async.AsyncCalypso" in r.getMessage()]
    assert len(hints) == 1  # one-time hint, not one per call


async def test_call_from_an_async_test(server: FakeCalypso, client: Calypso) -> None:
    assert client.user.current() is not None


def test_sync_call_on_the_private_loop_raises_instead_of_deadlocking(client: Calypso) -> None:
    async def callback_on_the_loop() -> Any:
        return client.account.get()

    with pytest.raises(SyncFacadeError, match="own event-loop thread"):
        PORTAL.run(callback_on_the_loop())


def test_close_on_the_private_loop_raises(client: Calypso) -> None:
    async def callback_on_the_loop() -> None:
        client.close()

    with pytest.raises(SyncFacadeError, match="own event-loop thread"):
        PORTAL.run(callback_on_the_loop())
    assert not client.closed


def test_session_argument_is_refused(server: FakeCalypso) -> None:
    with pytest.raises(ValueError, match="session"):
        make_client(server, session=cast(Any, object()))


def test_context_manager_closes_the_pool_on_the_loop(server: FakeCalypso) -> None:
    with make_client(server) as client:
        client.account.get()
        session = client._async_client._transport._session  # type: ignore[attr-defined]
        assert session is not None and not session.closed
    assert session.closed
    assert client.closed


def test_calls_after_close_raise_and_close_is_idempotent(server: FakeCalypso) -> None:
    client = make_client(server)
    client.account.get()
    client.close()
    client.close()
    with pytest.raises(SyncFacadeError, match="closed") as caught:
        client.account.get()
    assert isinstance(caught.value, calypso_sync.ClientClosedError)  # as on the async client
    assert pickle.loads(pickle.dumps(caught.value)).args == caught.value.args


def test_closing_an_unused_client_never_starts_the_loop(server: FakeCalypso, portal: Portal) -> None:
    client = make_client(server)
    client.close()
    del client
    unused = make_client(server)
    del unused
    gc.collect()
    assert not portal.running


def test_garbage_collected_client_is_closed_on_the_loop(server: FakeCalypso, portal: Portal) -> None:
    client = make_client(server)
    client.account.get()
    session = client._async_client._transport._session  # type: ignore[attr-defined]
    del client
    gc.collect()  # __del__ only schedules the close (client and resources form a cycle)

    async def drain() -> None:
        while portal._pending:
            await asyncio.gather(*list(portal._pending))

    portal.run(drain())
    assert session.closed
    assert portal._tracked == {}


def test_shutdown_closes_open_clients_and_later_calls_fail_clearly(server: FakeCalypso, portal: Portal) -> None:
    client = make_client(server)
    client.account.get()
    session = client._async_client._transport._session  # type: ignore[attr-defined]
    thread, loop = portal._thread, portal._loop
    assert thread is not None and loop is not None
    portal.shutdown()
    assert session.closed
    assert not thread.is_alive() and loop.is_closed()
    with pytest.raises(SyncFacadeError, match="shut down") as caught:
        client.account.get()
    assert "Event loop is closed" not in str(caught.value)
    client.close()  # nothing left to close, no error


def test_every_call_runs_on_the_portal_thread(
    server: FakeCalypso, client: Calypso, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    original = AiohttpTransport.send

    async def spy(self: AiohttpTransport, request: Any) -> Any:
        threads.append(threading.get_ident())
        return await original(self, request)

    monkeypatch.setattr(AiohttpTransport, "send", spy)
    client.account.get()
    client.user.current()
    assert threads == [PORTAL._thread_ident] * 2
    assert threading.get_ident() not in threads


def test_dead_loop_thread_gives_a_clear_error(portal: Portal) -> None:
    assert portal.run(asyncio.sleep(0, "ok")) == "ok"

    async def stop_the_loop() -> str:
        asyncio.get_running_loop().stop()  # nobody should, but if the loop stops, calls must not hang
        return "never delivered"

    with pytest.raises(SyncFacadeError, match="has died"):
        portal.run(stop_the_loop())
    with pytest.raises(SyncFacadeError, match="has died") as caught:
        portal.run(asyncio.sleep(0))
    assert "Event loop is closed" not in str(caught.value)


def test_system_exit_in_a_coroutine_reaches_the_caller_and_the_loop_survives(portal: Portal) -> None:
    async def exits() -> None:
        raise SystemExit(3)  # unguarded, asyncio would re-raise it out of run_forever and kill the loop

    with pytest.raises(SystemExit) as caught:
        portal.run(exits())
    assert caught.value.code == 3
    assert portal.running
    assert portal.run(asyncio.sleep(0, "alive")) == "alive"


def test_loop_thread_killed_by_an_escaping_exception_reports_the_cause(portal: Portal) -> None:
    portal.run(asyncio.sleep(0))
    loop = portal._loop
    assert loop is not None

    def escape() -> None:
        raise SystemExit(4)  # a bare callback (not one of our tasks) escaping run_forever kills the thread

    loop.call_soon_threadsafe(escape)
    thread = portal._thread
    assert thread is not None
    thread.join(30)
    with pytest.raises(SyncFacadeError, match="SystemExit") as caught:
        portal.run(asyncio.sleep(0))
    assert isinstance(caught.value.__cause__, SystemExit)
    assert "Event loop is closed" not in str(caught.value)


def test_errors_are_calypso_errors_not_event_loop_errors(server: FakeCalypso) -> None:
    client = make_client(server, base_url="http://127.0.0.1:9")  # discard port: connection refused
    with pytest.raises(calypso_async.APIConnectionError):
        client.account.get()
    client.close()


def test_context_variables_of_the_caller_reach_the_coroutine(portal: Portal) -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")

    async def read() -> str:
        return request_id.get()

    request_id.set("abc")
    assert portal.run(read()) == "abc"
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(portal.run(read())))
    worker.start()
    worker.join()
    assert seen == ["unset"]  # each calling thread brings its own context


def test_loop_that_cannot_be_created_gives_a_calypso_error(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    import calypso_sync._portal as portal_module

    def no_descriptors_left() -> asyncio.AbstractEventLoop:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(portal_module, "_new_loop", no_descriptors_left)
    with pytest.raises(SyncFacadeError, match="cannot create its event loop"):
        portal.run(asyncio.sleep(0))
    assert not portal.running
