"""Where a poller keeps its snapshots: :class:`MemoryStore` (the default) or :class:`SQLiteStore` (survives restarts).

Why a store: deposit detection must not lose the money that arrived while the poller was down. With a persistent
store, the first successful poll of an account after a restart is compared with its stored snapshot, so such a
deposit is reported as one :class:`BalanceChange` whose ``previous`` is the stored amount.

The poller calls a store from its event loop, only ever one call at a time: :meth:`~SnapshotStore.open` and
:meth:`~SnapshotStore.load` once at start, :meth:`~SnapshotStore.save` with batches of changed snapshots (only
when something changed, and for a change only after it was delivered), :meth:`~SnapshotStore.close` at stop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from sys import intern
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from .._errors import CalypsoError

__all__ = ["MemoryStore", "SQLiteStore", "SnapshotStore", "SnapshotStoreError", "StoredSnapshot"]

T = TypeVar("T")


class SnapshotStoreError(CalypsoError):
    """A snapshot store cannot be used: already in use by another poller, unreadable, or closed.

    >>> SQLiteStore("balances.db")  # while another poller holds balances.db  # doctest: +SKIP
    """


@attrs.frozen(slots=True)
class StoredSnapshot:
    """One account's stored snapshot.

    >>> StoredSnapshot("0xabc", {"BTC": Decimal("1")}, 3, 1_700_000_000.0).version
    3

    ``version`` counts the changes of the account stored so far (0 for the first observation); it goes into the
    ``dedup_key`` of the next change, so that a change reported again after a restart keeps its key.
    ``observed_at`` is in Unix seconds.
    """

    account: str
    balances: Mapping[str, Decimal]
    version: int
    observed_at: float


@runtime_checkable
class SnapshotStore(Protocol):
    """What a poller needs from a store; implement it to keep snapshots in Redis, PostgreSQL ...

    >>> BalancePoller(client, ids, store=MyRedisStore(redis))  # doctest: +SKIP

    Calls come from the poller's event loop, one at a time; a store that does blocking I/O must do it in a
    thread (as :class:`SQLiteStore` does). Raise :class:`SnapshotStoreError` from ``open`` when the store is
    already used by another poller.
    """

    async def open(self) -> None:
        """Claim the store for this poller (at start)."""
        ...

    async def load(self) -> Mapping[str, StoredSnapshot]:
        """Every stored snapshot, by account (at start, after :meth:`open`)."""
        ...

    async def save(self, snapshots: Sequence[StoredSnapshot]) -> None:
        """Store these snapshots (one per account, replacing what was stored for it)."""
        ...

    async def close(self) -> None:
        """Release the store (at stop, after the last :meth:`save`)."""
        ...


class MemoryStore:
    """Snapshots in this process's memory: the default; they are lost when the process ends.

    >>> store = MemoryStore(); BalancePoller(client, ids, store=store)  # doctest: +SKIP

    Giving the same instance to a later poller of the same process lets it resume where the first one stopped.
    """

    def __init__(self) -> None:
        # Three flat dicts rather than an object or a tuple per account: storing a snapshot then allocates
        # nothing the garbage collector counts, so 10,000 first polls trigger no extra collections.
        self._balances: dict[str, Mapping[str, Decimal]] = {}
        self._versions: dict[str, int] = {}
        self._observed: dict[str, float] = {}
        self._open = False

    def __len__(self) -> int:
        return len(self._balances)

    def get(self, account: str) -> StoredSnapshot | None:
        """The stored snapshot of ``account``, or ``None``.

        >>> MemoryStore().get("0xabc") is None
        True
        """
        balances = self._balances.get(account)
        if balances is None:
            return None
        return StoredSnapshot(account, balances, self._versions[account], self._observed[account])

    def copy(self) -> MemoryStore:
        """A new, unclaimed store holding the same snapshots (e.g. for a poller in a fork child).

        >>> len(MemoryStore().copy())
        0
        """
        clone = MemoryStore()
        clone._balances = dict(self._balances)
        clone._versions = dict(self._versions)
        clone._observed = dict(self._observed)
        return clone

    async def open(self) -> None:
        if self._open:
            raise SnapshotStoreError("this MemoryStore is already used by a running poller")
        self._open = True

    async def load(self) -> Mapping[str, StoredSnapshot]:
        versions, observed = self._versions, self._observed
        return {
            account: StoredSnapshot(account, balances, versions[account], observed[account])
            for account, balances in self._balances.items()
        }

    async def save(self, snapshots: Sequence[StoredSnapshot]) -> None:
        for snapshot in snapshots:
            self._put(snapshot.account, snapshot.balances, snapshot.version, snapshot.observed_at)

    def _put(self, account: str, balances: Mapping[str, Decimal], version: int, observed_at: float) -> None:
        # A poller whose store is a MemoryStore calls this directly: nothing to batch, no snapshot object to build.
        self._balances[account] = balances
        self._versions[account] = version
        self._observed[account] = observed_at

    async def close(self) -> None:
        self._open = False

    def __repr__(self) -> str:
        return f"<MemoryStore: {len(self._balances)} snapshot(s)>"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS calypso_snapshots (
    account TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    observed_at REAL NOT NULL,
    balances TEXT NOT NULL
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO calypso_snapshots (account, version, observed_at, balances) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account) DO UPDATE SET version = excluded.version, observed_at = excluded.observed_at, "
    "balances = excluded.balances"
)


def _encode(balances: Mapping[str, Decimal]) -> str:
    return json.dumps({currency: str(amount) for currency, amount in balances.items()}, separators=(",", ":"))


def _decode(text: str) -> dict[str, Decimal]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("balances are not a JSON object")
    return {intern(str(currency)): Decimal(amount) for currency, amount in data.items()}


class SQLiteStore:
    """Snapshots in a SQLite file (stdlib ``sqlite3``, WAL journal): a restarted poller resumes from them.

    >>> BalancePoller(client, ids, store=SQLiteStore("/var/lib/poller/balances.db"))  # doctest: +SKIP

    The file is locked while a poller uses it: a second poller (in this or another process) gets a
    :class:`SnapshotStoreError` at start instead of silently sharing it. The lock goes with the process, so a
    crashed poller never leaves a stale one. Every database call runs in one worker thread, never on the event
    loop; writes come in batches (one transaction for all the snapshots that changed since the last one).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._cpu = 0.0
        self._cpu_lock = threading.Lock()

    @property
    def cpu_seconds(self) -> float:
        """CPU time its worker thread has spent so far (encoding, decoding, SQLite): to measure what it costs.

        >>> SQLiteStore("x.db").cpu_seconds
        0.0
        """
        return self._cpu

    async def _run(self, fn: Callable[[], T]) -> T:
        executor = self._executor
        if executor is None:
            raise SnapshotStoreError(f"SQLiteStore({self.path!r}) is not open")

        def timed() -> T:
            start = time.thread_time()
            try:
                return fn()
            finally:
                with self._cpu_lock:
                    self._cpu += time.thread_time() - start

        return await asyncio.get_running_loop().run_in_executor(executor, timed)

    async def open(self) -> None:
        if self._executor is not None:
            raise SnapshotStoreError(f"SQLiteStore({self.path!r}) is already used by a running poller")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calypso-sqlite-store")
        try:
            await self._run(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=0.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SnapshotStoreError(f"cannot open snapshot store {self.path!r}: {exc}") from None
        try:
            # Exclusive locking: the lock taken by the first write below is held until close, so a second
            # poller on this file fails at once instead of interleaving its snapshots with ours.
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("BEGIN IMMEDIATE")
            db.execute(_SCHEMA)
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise SnapshotStoreError(
                    f"snapshot store {self.path!r} is in use by another poller (one file per poller: with shards, "
                    "give each shard its own file)"
                ) from None
            raise SnapshotStoreError(f"cannot open snapshot store {self.path!r}: {exc}") from None
        except sqlite3.Error as exc:
            db.close()
            raise SnapshotStoreError(f"cannot open snapshot store {self.path!r}: {exc}") from None
        self._db = db

    async def load(self) -> Mapping[str, StoredSnapshot]:
        return await self._run(self._load)

    def _load(self) -> dict[str, StoredSnapshot]:
        assert self._db is not None
        found: dict[str, StoredSnapshot] = {}
        rows = self._db.execute("SELECT account, version, observed_at, balances FROM calypso_snapshots")
        for account, version, observed_at, balances in rows:
            try:
                found[account] = StoredSnapshot(account, _decode(balances), int(version), float(observed_at))
            except (ValueError, TypeError, InvalidOperation):
                continue  # an unreadable row is as if nothing were stored: that account starts a new baseline
        return found

    async def save(self, snapshots: Sequence[StoredSnapshot]) -> None:
        if snapshots:
            await self._run(lambda: self._save(snapshots))

    def _save(self, snapshots: Sequence[StoredSnapshot]) -> None:
        db = self._db
        assert db is not None
        rows = [(s.account, s.version, s.observed_at, _encode(s.balances)) for s in snapshots]
        db.execute("BEGIN")
        try:
            db.executemany(_UPSERT, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._close)
        finally:
            executor.shutdown(wait=True)
            self._executor = None

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def __repr__(self) -> str:
        state = "open" if self._executor is not None else "closed"
        return f"<SQLiteStore {self.path!r} ({state})>"
