"""Snapshot stores: restart semantics, the delivery guarantee with its ``dedup_key``, writes only on change, and
one SQLite file per poller. Time is a ManualClock; a "restart" is a new poller on the same store file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from calypso_async import AsyncCalypso, MemoryStore, SnapshotStoreError, SQLiteStore
from calypso_async.poller import BalanceChange, BalancePoller, ManualClock, StoredSnapshot
from calypso_async.testing import FakeCalypso

from .conftest import Recorder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def many() -> Any:
    async with FakeCalypso(seed=3, accounts=40) as fake:
        yield fake


def restart(client: AsyncCalypso, accounts: Sequence[str], store: Any, **kw: Any) -> tuple[BalancePoller, Recorder]:
    recorder = Recorder()
    kw.setdefault("first_poll_spread", 0.0)  # every account due at once: advance(10) polls each exactly once
    kw.setdefault("jitter", 0.0)
    poller = BalancePoller(
        client, accounts, interval=10, clock=ManualClock(), store=store, on_change=recorder, on_error=recorder, **kw
    )
    return poller, recorder


class CountingStore(SQLiteStore):
    """A SQLiteStore that records every batch it is asked to save."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[list[StoredSnapshot]] = []

    async def save(self, snapshots: Sequence[StoredSnapshot]) -> None:
        self.batches.append(list(snapshots))
        await super().save(snapshots)


async def test_restart_reports_a_change_made_while_stopped_exactly_once(many: FakeCalypso, tmp_path: Path) -> None:
    path = tmp_path / "balances.db"
    accounts = many.accounts
    async with many.client() as client:
        poller, first = restart(client, accounts, SQLiteStore(path))
        async with poller:
            await poller.advance(10)  # baseline of every account, stored
        assert first.events == [] and poller.stats().stored == len(accounts)

        # While the poller is down, a deposit lands on one account.
        many.set_balance(accounts[7], "USDT_TRX", Decimal("250.5"))

        poller, second = restart(client, accounts, SQLiteStore(path))
        async with poller:
            await poller.advance(10)  # first poll after the restart: compared with the stored snapshots
            await poller.advance(30)  # later polls: nothing more
    assert [(c.account, c.currency, c.previous, c.new) for c in second.changes] == [
        (accounts[7], "USDT_TRX", Decimal("100"), Decimal("250.5"))
    ]
    assert second.errors == []

    async with many.client() as client:  # the change was stored: not reported again
        poller, third = restart(client, accounts, SQLiteStore(path))
        async with poller:
            await poller.advance(10)
    assert third.events == []
    assert poller.snapshot(accounts[7]) is not None
    assert poller.snapshot(accounts[7]).balances["USDT_TRX"] == Decimal("250.5")  # type: ignore[union-attr]


async def test_writes_happen_only_when_something_changed(many: FakeCalypso, tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "balances.db")
    accounts = many.accounts
    async with many.client() as client:
        poller, _ = restart(client, accounts, store)
        async with poller:
            await poller.advance(10)
            await poller.flush()
            baseline = sum(len(b) for b in store.batches)
            await poller.advance(50)  # five unchanged rounds
            assert sum(len(b) for b in store.batches) == baseline == len(accounts)
            many.set_balance(accounts[-3], "BTC", Decimal("2"))
            await poller.advance(10)
        assert sum(len(b) for b in store.batches) == baseline + 1
        assert store.batches[-1][0].account == accounts[-3] and store.batches[-1][0].version == 1


async def test_a_crash_between_delivery_and_storing_reports_again_with_the_same_key(
    many: FakeCalypso, tmp_path: Path
) -> None:
    path = tmp_path / "balances.db"
    accounts = many.accounts

    class CrashesAfterBaseline(SQLiteStore):
        """Stores the baselines, then "crashes": nothing later reaches the file."""

        crashed = False

        async def save(self, snapshots: Sequence[StoredSnapshot]) -> None:
            if not self.crashed:
                await super().save(snapshots)

    async with many.client() as client:
        store = CrashesAfterBaseline(path)
        poller, first = restart(client, accounts, store)
        async with poller:
            await poller.advance(10)
            await poller.flush()
            store.crashed = True
            many.set_balance(accounts[-1], "BTC", Decimal("1.25"))
            await poller.advance(10)
        assert len(first.changes) == 1  # delivered (on_change returned), never stored

        poller, second = restart(client, accounts, SQLiteStore(path))
        async with poller:
            await poller.advance(10)
    assert len(second.changes) == 1
    again, before = second.changes[0], first.changes[0]
    assert (again.account, again.currency, again.previous, again.new) == (
        accounts[-1],
        "BTC",
        Decimal(1),
        Decimal("1.25"),
    )
    assert again.dedup_key == before.dedup_key and len(again.dedup_key) == 32


async def test_a_later_change_of_the_same_amounts_gets_a_new_key(many: FakeCalypso) -> None:
    account = many.accounts[-1]
    async with many.client() as client:
        poller, recorder = restart(client, [account], MemoryStore())
        async with poller:
            await poller.advance(10)
            for amount in ("5", "1", "5"):  # A -> B -> A -> B: the two A -> B are different changes
                many.set_balance(account, "BTC", Decimal(amount))
                await poller.advance(10)
    keys = [c.dedup_key for c in recorder.changes]
    assert len(keys) == 3 and len(set(keys)) == 3


async def test_a_change_is_stored_only_once_the_stream_reader_asks_for_the_next_event(many: FakeCalypso) -> None:
    account = many.accounts[-1]
    store = MemoryStore()
    async with many.client() as client:
        poller = BalancePoller(
            client, [account], interval=10, jitter=0, first_poll_spread=0, clock=ManualClock(), store=store
        )
        async with poller:
            stream = poller.events()
            await poller.advance(10)
            await poller.flush()
            assert store.get(account) is not None and store.get(account).version == 0  # type: ignore[union-attr]
            many.set_balance(account, "BTC", Decimal("9"))
            await poller.advance(10)
            event = await stream.__anext__()
            assert isinstance(event, BalanceChange)
            await poller.flush()
            assert store.get(account).version == 0  # type: ignore[union-attr]  # handed out, not yet delivered
            assert stream.get_nowait() is None  # the reader asks for the next one: delivered
            await poller.flush()
            assert store.get(account).version == 1  # type: ignore[union-attr]
            assert store.get(account).balances["BTC"] == Decimal("9")  # type: ignore[union-attr]


async def test_a_failing_callback_leaves_the_change_unstored(many: FakeCalypso) -> None:
    account = many.accounts[-1]
    store = MemoryStore()

    def broken(change: BalanceChange) -> None:
        raise RuntimeError("ledger down")

    async with many.client() as client:
        poller = BalancePoller(
            client,
            [account],
            interval=10,
            jitter=0,
            first_poll_spread=0,
            clock=ManualClock(),
            store=store,
            on_change=broken,
        )
        async with poller:
            await poller.advance(10)
            many.set_balance(account, "BTC", Decimal("9"))
            await poller.advance(10)
        assert poller.stats().callback_errors == 1
    assert store.get(account).version == 0  # type: ignore[union-attr]  # re-reported after a restart


async def test_two_pollers_cannot_share_one_sqlite_file(many: FakeCalypso, tmp_path: Path) -> None:
    path = tmp_path / "balances.db"
    async with many.client() as client:
        first = BalancePoller(client, many.accounts, clock=ManualClock(), store=SQLiteStore(path))
        second = BalancePoller(client, many.accounts, clock=ManualClock(), store=SQLiteStore(path))
        async with first:
            with pytest.raises(SnapshotStoreError, match="in use by another poller"):
                await second.start()
            assert not second.running
            await second.stop()  # harmless after a failed start
        async with BalancePoller(client, many.accounts, clock=ManualClock(), store=SQLiteStore(path)) as third:
            assert third.running  # the lock went with the first poller


def test_another_process_cannot_open_a_file_in_use(tmp_path: Path) -> None:
    path = tmp_path / "balances.db"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from calypso_async import SQLiteStore, SnapshotStoreError
        async def main():
            try:
                await SQLiteStore({str(path)!r}).open()
            except SnapshotStoreError as exc:
                print("refused:", exc)
        asyncio.run(main())
        """
    )

    async def hold() -> str:
        store = SQLiteStore(path)
        await store.open()
        try:
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            assert proc.returncode == 0, err.decode()
            return out.decode()
        finally:
            await store.close()

    assert "refused: snapshot store" in asyncio.run(hold())


async def test_the_same_memory_store_resumes_a_later_poller(many: FakeCalypso) -> None:
    store = MemoryStore()
    accounts = many.accounts[-5:]
    async with many.client() as client:
        poller, _ = restart(client, accounts, store)
        async with poller:
            await poller.advance(10)
        many.set_balance(accounts[2], "BTC", Decimal("0.5"))
        poller, second = restart(client, accounts, store)
        async with poller:
            await poller.advance(10)
    assert [(c.account, c.previous, c.new) for c in second.changes] == [(accounts[2], Decimal(1), Decimal("0.5"))]
    assert len(store) == 5


async def test_an_account_removed_and_added_again_never_repeats_a_key(many: FakeCalypso) -> None:
    account = many.accounts[-1]
    async with many.client() as client:
        poller, recorder = restart(client, [account], MemoryStore())
        async with poller:
            await poller.advance(10)
            many.set_balance(account, "BTC", Decimal("5"))
            await poller.advance(10)  # 1 -> 5
            poller.remove(account)
            many.set_balance(account, "BTC", Decimal("1"))
            poller.add(account)
            await poller.advance(10)  # a new baseline at 1
            many.set_balance(account, "BTC", Decimal("5"))
            await poller.advance(10)  # 1 -> 5 again: a new deposit, a new key
    first, second = recorder.changes
    assert (first.previous, first.new) == (second.previous, second.new) == (Decimal(1), Decimal(5))
    assert first.dedup_key != second.dedup_key
