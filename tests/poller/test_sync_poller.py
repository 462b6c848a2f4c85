"""calypso_sync.BalancePoller: blocking iterator, run() with callbacks, background start/stop, threads, Ctrl-C.

The fake server runs on its own loop in a thread; the poller on a private portal (shut down after each test) with
a ManualClock, so timing is stepped, never slept.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from calypso_async import NotFoundError
from calypso_async.poller import BalanceChange, ManualClock, PollError
from calypso_async.testing import FakeCalypso
from calypso_sync import Calypso
from calypso_sync._base import SyncClient, SyncResource
from calypso_sync._poller import BalancePoller
from calypso_sync._portal import Portal

ROOT = Path(__file__).resolve().parents[2]
MISSING = "0x" + "0" * 40


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(seed=5) as fake:
        yield fake


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    private = Portal(name="calypso-sync-poller-test")
    monkeypatch.setattr(SyncClient, "_portal", private)
    monkeypatch.setattr(SyncResource, "_portal", private)
    try:
        yield private
    finally:
        private.shutdown()


@pytest.fixture
def client(server: FakeCalypso, portal: Portal) -> Iterator[Calypso]:
    with Calypso(server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url) as cli:
        yield cli


def make(client: Calypso, accounts: Any, **kw: Any) -> BalancePoller:
    kw.setdefault("interval", 10.0)
    kw.setdefault("clock", ManualClock())
    kw.setdefault("first_poll_spread", 0.0)
    kw.setdefault("jitter", 0.0)
    return BalancePoller(client, accounts, **kw)


def wait_running(poller: BalancePoller) -> None:
    """Block until ``run()`` (in another thread) has started the poller."""
    for _ in range(10_000):
        if poller.running:
            return
        threading.Event().wait(0.001)
    raise AssertionError("the poller never started")


def poller_tasks(portal: Portal) -> list[str]:
    async def names() -> list[str]:
        return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("calypso-poller")]

    return portal.run(names())


def test_blocking_iterator_reports_changes_once_and_ends_on_stop(
    server: FakeCalypso, client: Calypso, portal: Portal
) -> None:
    account = server.accounts[0]
    with make(client, [account, MISSING]) as poller:
        events = poller.events()
        poller.advance(10)
        server.set_balance(account, "BTC", Decimal("12.5"))
        poller.advance(20)
        snap = poller.snapshot(account)
        assert snap is not None and snap.balances["BTC"] == Decimal("12.5")
    got = list(events)  # the poller stopped: the iterator ends after what was queued
    changes = [e for e in got if isinstance(e, BalanceChange)]
    errors = [e for e in got if isinstance(e, PollError)]
    assert [(c.account, c.currency, c.new) for c in changes] == [(account, "BTC", Decimal("12.5"))]
    assert errors and all(isinstance(e.error, NotFoundError) and e.account == MISSING for e in errors)
    assert poller_tasks(portal) == []


def test_run_calls_back_in_this_thread_until_stopped_from_another(
    server: FakeCalypso, client: Calypso, portal: Portal
) -> None:
    account = server.accounts[0]
    seen: list[tuple[str, BalanceChange]] = []
    poller = make(client, [account], on_change=lambda e: seen.append((threading.current_thread().name, e)))

    def drive() -> None:
        wait_running(poller)
        poller.advance(10)
        server.set_balance(account, "ETH", Decimal("3"))
        poller.advance(10)
        poller.stop()

    driver = threading.Thread(target=drive)
    driver.start()
    poller.run()  # returns once the driver stops it
    driver.join()
    assert [(name, e.currency, e.new) for name, e in seen] == [(threading.current_thread().name, "ETH", Decimal("3"))]
    assert not poller.running and poller_tasks(portal) == []


def test_stop_from_inside_a_callback(server: FakeCalypso, client: Calypso, portal: Portal) -> None:
    calls: list[PollError] = []

    def on_error(event: PollError) -> None:
        calls.append(event)
        poller.stop()

    poller = make(client, [MISSING], on_error=on_error)
    threading.Thread(target=lambda: (wait_running(poller), poller.advance(0))).start()
    poller.run()
    assert len(calls) == 1 and poller_tasks(portal) == []


def test_background_start_delivers_callbacks_from_one_dispatcher_thread(
    server: FakeCalypso, client: Calypso, portal: Portal
) -> None:
    account = server.accounts[1]
    threads: set[str] = set()
    changes: list[BalanceChange] = []

    def on_change(event: BalanceChange) -> None:
        threads.add(threading.current_thread().name)
        changes.append(event)

    poller = make(client, [account], on_change=on_change)
    poller.start()
    poller.advance(10)
    for amount in ("1", "2", "3"):
        server.set_balance(account, "BTC", Decimal(amount))
        poller.advance(10)
    poller.stop()  # joins the dispatcher: every queued event was delivered
    assert [c.new for c in changes] == [Decimal("1"), Decimal("2"), Decimal("3")]
    assert threads == {"calypso-poller-callbacks"}
    assert not any(t.name == "calypso-poller-callbacks" for t in threading.enumerate())
    assert poller_tasks(portal) == []


def test_usable_from_a_thread_pool(server: FakeCalypso, client: Calypso, portal: Portal) -> None:
    extra = Calypso(server.api_key, server.secret_key, base_url=server.base_url)
    try:
        with make(client, server.accounts[:2]) as poller:
            assert poller.add(server.accounts[2], client=extra) == 1
            poller.advance(10)

            def read(i: int) -> int:
                account = server.accounts[i % 3]
                snap = poller.snapshot(account)
                assert snap is not None and dict(snap.balances) == dict(server.state.accounts[account].balances)
                return poller.stats().polls

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                assert all(n >= 3 for n in pool.map(read, range(64)))
            assert poller.remove(server.accounts[0]) == 1
            assert sorted(poller.accounts) == sorted(server.accounts[1:3])
            assert poller.failures(server.accounts[1]) == 0
            assert set(poller.snapshots()) == set(server.accounts[1:3])
    finally:
        extra.close()
    assert poller_tasks(portal) == []


def test_a_failing_callback_is_counted_and_delivery_goes_on(
    server: FakeCalypso, client: Calypso, portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event: PollError) -> None:
        raise RuntimeError("bug in callback")

    poller = make(client, [MISSING], on_error=boom, max_backoff=10.0)
    poller.start()
    poller.advance(50)
    poller.stop()
    assert poller.stats().callback_errors == poller.stats().errors >= 3
    assert "callback failed" in caplog.text


_CTRL_C_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading
    from calypso_async.testing import FakeCalypso
    from calypso_sync import Calypso
    from calypso_sync._poller import BalancePoller
    from calypso_sync._portal import PORTAL

    with FakeCalypso.run_in_thread() as server:
        with Calypso(server.api_key, server.secret_key, base_url=server.base_url) as client:
            polled = threading.Event()
            poller = BalancePoller(client, server.accounts, interval=0.05, on_change=print,
                                   on_error=lambda e: polled.set())
            poller.add("0x" + "0" * 40)
            threading.Thread(target=lambda: (polled.wait(30), print("READY", flush=True)), daemon=True).start()
            try:
                poller.run()
            except KeyboardInterrupt:
                print("INTERRUPTED", poller.stats().polls > 0, flush=True)

            async def left():
                return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("calypso-poller")]

            print("LEFT", PORTAL.run(left()), "RUNNING", poller.running, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_run_gracefully_in_a_plain_script(tmp_path: Path) -> None:
    script = tmp_path / "watch.py"
    script.write_text(_CTRL_C_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="error::ResourceWarning,default")
    proc = subprocess.Popen(
        [sys.executable, "-X", "dev", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + (proc.stderr.read() if proc.stderr else "")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "INTERRUPTED True" in out
    assert "LEFT [] RUNNING False" in out
    for bad in ("Unclosed", "Task was destroyed", "never awaited", "Traceback"):
        assert bad not in err, err


def test_a_failing_sync_callback_leaves_its_change_unstored(server: FakeCalypso, client: Calypso) -> None:
    from calypso_async import MemoryStore

    account = server.accounts[0]
    store = MemoryStore()
    seen: list[BalanceChange] = []

    def broken(change: BalanceChange) -> None:
        seen.append(change)
        raise RuntimeError("ledger down")

    poller = make(client, [account], store=store, on_change=broken)
    poller.start()
    try:
        poller.advance(10)
        server.set_balance(account, "BTC", Decimal("42"))
        poller.advance(10)
    finally:
        poller.stop()
    assert len(seen) == 1 and poller.stats().callback_errors == 1
    stored = store.get(account)
    assert stored is not None and stored.version == 0  # the baseline only: the change comes again after a restart
