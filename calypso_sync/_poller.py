"""``calypso_sync.BalancePoller``: the async balance poller for sync code (scripts, thread pools, Ctrl-C).

>>> with BalancePoller(client, accounts, interval=30) as poller:  # doctest: +SKIP
...     for event in poller:  # blocks; ends when poller.stop() is called from another thread
...         print(event)

Why a wrapper and not a second poller: the scheduling, backoff, backpressure and change detection are those of
:class:`calypso_async.BalancePoller`, running on the facade's private loop (``_portal.py``) next to the
sync clients' own ``AsyncCalypso``. What this module adds is only what sync code needs:

* every operation is one ``portal.run`` (the async poller is not thread-safe, so it is only ever touched on the
  loop thread); reads like :meth:`BalancePoller.snapshot` are cheap calls too;
* callbacks never run on the loop thread (a slow callback would stall every sync client of the process): with
  :meth:`BalancePoller.run` they run in the calling thread, with :meth:`BalancePoller.start` in one dispatcher
  thread of the poller; both read an event stream, so a slow callback makes events queue (up to
  ``max_pending_events``, then the oldest are dropped and counted) and never slows polling;
* :meth:`BalancePoller.stop` works from any thread, including from inside a callback; Ctrl-C in
  :meth:`BalancePoller.run` or during iteration stops the poller gracefully before ``KeyboardInterrupt`` goes on.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from calypso_async.poller import (
    AccountSnapshot,
    BalanceChange,
    EventStream,
    MemoryStore,
    PollerClock,
    PollerEvent,
    PollerOptions,
    PollError,
    PollerStats,
    SnapshotStore,
    SnapshotStoreError,
    SQLiteStore,
)
from calypso_async.poller import BalancePoller as AsyncBalancePoller

from ._base import SyncClient
from ._portal import PORTAL, Portal, SyncIterator

__all__ = [
    "AccountSnapshot",
    "BalanceChange",
    "BalancePoller",
    "MemoryStore",
    "PollError",
    "PollerEvent",
    "PollerOptions",
    "PollerStats",
    "SQLiteStore",
    "SnapshotStore",
    "SnapshotStoreError",
]

T = TypeVar("T")


class BalancePoller:
    """Watch many accounts' balances from sync code; same options and events as the async poller.

    >>> poller = BalancePoller(client, ["0xabc…"], interval=30, on_change=print); poller.run()  # doctest: +SKIP

    Three ways to use it:

    * ``for event in poller:`` (or ``poller.events()``): a blocking iterator of :class:`BalanceChange` and
      :class:`PollError`, ending once the poller is stopped;
    * ``poller.run()``: blocks and calls ``on_change`` / ``on_error`` in this thread until :meth:`stop`
      (from another thread or a callback) or Ctrl-C;
    * ``poller.start()`` ... ``poller.stop()``: runs in the background; callbacks are called from one
      dispatcher thread.

    ``client`` is a :class:`calypso_sync.Calypso`; the options (``interval``, ``concurrency``, ``timeout``,
    ``shard`` ..., or one ``options=PollerOptions(...)``), ``store`` and ``clock`` are those of
    :class:`calypso_async.BalancePoller`. Built before ``os.fork()``, it works in the child too: there it
    starts afresh (same accounts, not started) on the child's own loop and client.
    """

    def __init__(
        self,
        client: SyncClient | None = None,
        accounts: Iterable[str] = (),
        *,
        options: PollerOptions | None = None,
        interval: float = 30.0,
        concurrency: int = 32,
        timeout: float = 10.0,
        jitter: float = 0.1,
        first_poll_spread: float | None = None,
        max_backoff: float = 600.0,
        emit_initial: bool = False,
        absent_is_zero: bool = True,
        on_change: Callable[[BalanceChange], object] | None = None,
        on_error: Callable[[PollError], object] | None = None,
        rate_limit_pause: float = 1.0,
        server_error_burst: int = 5,
        server_error_pause: float = 1.0,
        max_pause: float = 60.0,
        max_slowdown: float = 32.0,
        recovery_half_life: float = 10.0,
        shard: tuple[int, int] | str | None = None,
        store: SnapshotStore | None = None,
        clock: PollerClock | None = None,
        rng: random.Random | None = None,
        max_pending_events: int = 10_000,
    ) -> None:
        self.options = PollerOptions.merge(
            options,
            interval=interval,
            concurrency=concurrency,
            timeout=timeout,
            jitter=jitter,
            first_poll_spread=first_poll_spread,
            max_backoff=max_backoff,
            emit_initial=emit_initial,
            absent_is_zero=absent_is_zero,
            rate_limit_pause=rate_limit_pause,
            server_error_burst=server_error_burst,
            server_error_pause=server_error_pause,
            max_pause=max_pause,
            max_slowdown=max_slowdown,
            recovery_half_life=recovery_half_life,
            shard=shard,
        )
        """The options in force (a frozen :class:`PollerOptions`)."""
        self._portal: Portal = client._portal if client is not None else PORTAL
        self._client = client
        self.on_change = on_change
        self.on_error = on_error
        self._store = store
        self._clock = clock
        self._rng = rng
        self._max_pending = max_pending_events
        self._added: dict[str, tuple[SyncClient | None, float | None]] = {}
        """Accounts added with their own client or interval: what a fork child needs to rebuild the poller."""
        self._generation = self._portal.generation
        self._build(accounts)

    def _build(self, accounts: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._dispatcher: threading.Thread | None = None
        self._inline = False
        inner = self._client._inner() if self._client is not None else None
        # Built here (it needs no loop); from now on it is only touched on the portal's loop thread.
        self._poller = AsyncBalancePoller(
            inner, accounts, options=self.options, store=self._store, clock=self._clock, rng=self._rng
        )
        for account, (client, interval) in self._added.items():
            if client is not None or interval is not None:
                self._poller.add(account, client=client._inner() if client is not None else None, interval=interval)

    def _current(self) -> AsyncBalancePoller:
        """The async poller of this process: in a fork child, a new one (the parent's belongs to its loop)."""
        generation = self._portal.generation
        if generation != self._generation:
            parent = self._poller
            self._portal.orphan(parent)
            store = self._store
            if isinstance(store, MemoryStore):
                self._store = store.copy()  # the parent's snapshots, in a store this process owns
            self._generation = generation
            self._build(parent.accounts)
        return self._poller

    def _on_loop(self, fn: Callable[[AsyncBalancePoller], T]) -> T:
        """Run a quick synchronous operation of the async poller on its loop thread."""
        poller = self._current()

        async def call() -> T:
            return fn(poller)

        return self._portal.run(call())

    # ---------------------------------------------------------------------------------------- accounts

    def add(self, *accounts: str, client: SyncClient | None = None, interval: float | None = None) -> int:
        """Watch more accounts (optionally polled by another client); returns how many were new.

        >>> poller.add("0xdef…", client=other_merchant)  # doctest: +SKIP
        1
        """
        inner = client._inner() if client is not None else None
        added = self._on_loop(lambda p: p.add(*accounts, client=inner, interval=interval))
        if client is not None or interval is not None:
            for account in accounts:
                self._added[account] = (client, interval)
        return added

    def remove(self, *accounts: str) -> int:
        """Stop watching ``accounts``; returns how many were watched.

        >>> poller.remove("0xdef…")  # doctest: +SKIP
        1
        """
        for account in accounts:
            self._added.pop(account, None)
        return self._on_loop(lambda p: p.remove(*accounts))

    @property
    def accounts(self) -> list[str]:
        """The watched account ids.

        >>> poller.accounts  # doctest: +SKIP
        ['0xabc…']
        """
        return self._on_loop(lambda p: p.accounts)

    def snapshot(self, account: str) -> AccountSnapshot | None:
        """The latest balances of ``account`` (``None`` before its first successful poll).

        >>> poller.snapshot("0xabc…").balances["BTC"]  # doctest: +SKIP
        Decimal('0.5')
        """
        return self._on_loop(lambda p: p.snapshot(account))

    def snapshots(self) -> dict[str, AccountSnapshot]:
        """Every observed account's latest snapshot.

        >>> poller.snapshots()["0xabc…"].balances  # doctest: +SKIP
        """
        return self._on_loop(lambda p: p.snapshots())

    def failures(self, account: str) -> int:
        """Consecutive failed polls of ``account``.

        >>> poller.failures("0xabc…")  # doctest: +SKIP
        0
        """
        return self._on_loop(lambda p: p.failures(account))

    def stats(self) -> PollerStats:
        """Counters: polls, changes, errors, lag ...

        >>> poller.stats().polls  # doctest: +SKIP
        120
        """
        return self._on_loop(lambda p: p.stats())

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`.

        >>> poller.running  # doctest: +SKIP
        True
        """
        return self._current().running

    # ---------------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start polling in the background (on the private loop); callbacks, if any, get a dispatcher thread.

        >>> poller.start()  # doctest: +SKIP
        """
        with self._lock:
            stream: EventStream | None = None
            if (self.on_change or self.on_error) and not self._inline:
                stream = self._subscribe()
            self._portal.run(self._current().start())
            if stream is not None:
                thread = threading.Thread(
                    target=self._dispatch_all,
                    args=(self._portal.iterate(stream), stream),
                    name="calypso-poller-callbacks",
                    daemon=True,
                )
                self._dispatcher = thread
                thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop: in-flight polls get ``timeout`` seconds, then are cancelled; safe from any thread and twice.

        >>> poller.stop()  # doctest: +SKIP

        Returns once the poller's tasks have ended, the dispatcher thread (if any) has delivered the events
        still queued (unless called from that thread, i.e. from a callback), and the store has been written and
        closed.
        """
        poller = self._current()
        self._portal.run(poller._halt(timeout))
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join()  # the events still queued are delivered, so their changes get stored below
        self._portal.run(poller._close_store())

    def run(self) -> None:
        """Start, then call ``on_change`` / ``on_error`` in this thread until :meth:`stop` or Ctrl-C.

        >>> BalancePoller(client, accounts, on_change=print).run()  # doctest: +SKIP

        On Ctrl-C the poller is stopped gracefully, then ``KeyboardInterrupt`` is raised on.
        """
        self._inline = True
        stream = self._subscribe()
        events = self._portal.iterate(stream)
        try:
            self.start()
        except BaseException:
            events.close()
            raise
        try:
            self._dispatch_all(events, stream)
        finally:
            events.close()
            self.stop()

    def events(self, maxsize: int | None = None) -> SyncIterator[PollerEvent]:
        """A blocking iterator of events from now on; it ends once the poller has stopped.

        >>> for event in poller.events(): ...  # doctest: +SKIP

        Close it (``with``/``close()``) when you stop reading before the poller stops.
        """
        return self._portal.iterate(self._subscribe(maxsize))

    def __iter__(self) -> Iterator[PollerEvent]:
        return self.events()

    def _subscribe(self, maxsize: int | None = None) -> EventStream:
        size = self._max_pending if maxsize is None else maxsize
        return self._on_loop(lambda p: p.events(size))

    def _dispatch_all(self, events: Iterator[PollerEvent], stream: EventStream) -> None:
        with _closing(events):
            for event in events:
                try:
                    if isinstance(event, BalanceChange):
                        if self.on_change is not None:
                            self.on_change(event)
                    elif self.on_error is not None:
                        self.on_error(event)
                except Exception:
                    self._poller._callback_failed(event)
                    # Not delivered: its change stays unstored, so a restart reports it again.
                    self._on_loop(lambda p: stream._undeliver())

    def __enter__(self) -> BalancePoller:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ testing

    def wait_idle(self) -> None:
        """Block until no poll runs or is due (see the async poller's ``wait_idle``): for tests.

        >>> poller.wait_idle()  # doctest: +SKIP
        """
        self._portal.run(self._current().wait_idle())

    def advance(self, seconds: float) -> None:
        """With a :class:`~calypso_async.ManualClock`: step time, letting due polls finish: for tests.

        >>> poller.advance(30)  # doctest: +SKIP
        """
        self._portal.run(self._current().advance(seconds))

    def __repr__(self) -> str:
        return repr(self._poller).replace("<BalancePoller", "<calypso_sync.BalancePoller", 1)


class _closing:
    """Close a ``SyncIterator`` (if it is one) when the block ends."""

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._iterator = iterator

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
