"""``BalancePoller``: watch many accounts' balances and report each change once.

Why this exists: Calypso Pay has no balance webhook, so services that react to money arriving poll
``account.get``. Done naively (a task per account, ``asyncio.sleep(interval)``, retries inside each call) this
stampedes the API on start, lets one broken account or a rate-limited API slow everything, and leaks tasks on
shutdown. The poller centralises the hard parts:

* **One scheduler, a fixed pool of workers** (:mod:`._scheduling`). A worker that finishes a poll takes the
  next due one itself; the scheduler only wakes idle workers when polls fall due. The first poll of every
  account is spread uniformly across its interval, later polls get ``±jitter`` (no thundering herd).
* **Failure isolation.** An account's own failures (auth, not found, timeouts, unreadable answers) back that
  account off exponentially (``interval * 2**failures``, capped) and surface as :class:`PollError` events; the
  others keep their schedule. Each poll calls the client with ``max_retries=0``: the poller owns retrying.
* **Shared backpressure** (:mod:`._backpressure`): a 429 or a burst of 5xx slows the whole poller.
* **Change events.** Balances are compared per currency as ``Decimal`` values (``1.0 == 1.00``). A currency
  missing from an answer counts as zero by default (``absent_is_zero``); events say ``None`` for "not listed".
  The first observation of an account is a baseline and emits nothing unless ``emit_initial=True``.
* **Snapshots that survive restarts** (:mod:`._store`): a change is stored once delivered (at least once).
* **Shards**: ``shard=(index, count)`` keeps the accounts whose stable hash falls in this shard.
* **Clean stop.** :meth:`BalancePoller.stop` lets in-flight polls finish for up to ``timeout`` seconds, then
  cancels them, and awaits every task it created. Clients are the caller's: the poller never closes them.

Time comes from an injectable :class:`PollerClock` (``time.monotonic`` and the loop's timers by default;
:class:`ManualClock` in tests), and only the scheduler ever waits on it: workers never sleep, so tests step time
deterministically. (The watchdog that cancels hung polls is a safety net on the loop's real time.)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal, InvalidOperation
from hashlib import blake2b as _blake2b
from sys import intern
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from .. import _json
from .._errors import APITimeoutError, InvalidResponseError
from .._operation import Operation
from ._backpressure import _Backpressure
from ._clock import LoopClock, ManualClock, PollerClock, _Handle
from ._events import AccountSnapshot, BalanceChange, PollerEvent, PollError, PollerStats, _utc, change_key, error_key
from ._options import PollerOptions, shard_from_env
from ._scheduling import _Schedule, _Watch, _Worker, shard_of
from ._store import MemoryStore, SnapshotStore, StoredSnapshot
from ._stream import EventStream

if TYPE_CHECKING:
    from .._client import AsyncCalypso

__all__ = ["BalancePoller"]

logger = logging.getLogger("calypso.poller")

_ZERO = Decimal(0)
_ACCOUNT_GET: Operation[bytes] = Operation(
    name="account.get", method="POST", path="/api/v1/account", account=True, payload="none", response=bytes
)
"""What ``client.account.get`` sends, answered as the body's bytes (``response=bytes``): an answer identical to the
one before cannot hold a change, and recognising it by a digest skips decoding it (a third of the CPU of a poll
whose account did not change); other answers are decoded here, and only currencies and amounts are read."""
_FLUSH_DELAY = 0.05
"""Seconds (loop time) the first snapshot waits for others to join its batch before the store writes them."""
_EARLY = 0.001
"""Seconds: polls due this soon are dispatched now (saves a scheduler wake-up per poll under load)."""


class _Delivery:
    """The change(s) found by one poll, waiting to be delivered to every sink before the snapshot is stored.

    ``waiting`` counts outstanding deliveries (plus one held while the events are being handed out); a sink that
    failed (a callback that raised) marks it ``failed``: it is then never stored, so a restart reports it again.
    """

    __slots__ = ("balances", "failed", "observed_at", "poller", "version", "waiting", "watch")

    def __init__(
        self, poller: BalancePoller, watch: _Watch, balances: dict[str, Decimal], version: int, observed_at: float
    ) -> None:
        self.poller = poller
        self.watch = watch
        self.balances = balances
        self.version = version
        self.observed_at = observed_at
        self.waiting = 1
        self.failed = False

    def ack(self) -> None:
        self.waiting -= 1
        if self.waiting == 0 and not self.failed:
            self.poller._store(self.watch, self.balances, self.version, self.observed_at)


class BalancePoller:
    """Poll ``account.get`` for many accounts and report balance changes; see the module docstring for the why.

    >>> async with BalancePoller(client, ["0xabc…", "0xdef…"], interval=30) as poller:  # doctest: +SKIP
    ...     async for event in poller.events(): print(event)

    ``client`` polls the ``accounts`` given here and those later :meth:`add`-ed without a client of their own
    (several clients with their own credentials: ``poller.add(ids, client=other)``). Events arrive through
    :meth:`events` streams and/or the ``on_change`` / ``on_error`` callbacks (plain or async; an async callback
    is awaited by the worker that produced the event, which is backpressure). Clients are never closed by the
    poller; give the client a connection pool at least ``concurrency`` large (aiohttp's default is 100).

    Options come as keyword arguments or as one :class:`PollerOptions` (``options=``; keyword options that differ
    from their defaults are applied over it). Timing: ``interval`` seconds between polls of an account
    (``±jitter`` fraction, per poll), first polls spread over ``first_poll_spread`` seconds (default: the
    interval); each poll gets ``timeout`` seconds. Failures: ``interval * 2**failures`` up to ``max_backoff``.
    Backpressure: a 429 pauses everything for its ``Retry-After`` (else ``rate_limit_pause * slowdown``, at most
    ``max_pause``) and doubles the slowdown; ``server_error_burst`` consecutive 5xx do the same with
    ``server_error_pause``; the slowdown (at most ``max_slowdown``) halves every ``recovery_half_life`` seconds
    while polls succeed. ``store`` keeps the snapshots (default: a :class:`MemoryStore`); ``shard=(index, count)``
    (or ``CALYPSO_POLLER_SHARD="index/count"``) keeps only this shard's accounts.
    """

    def __init__(
        self,
        client: AsyncCalypso | None = None,
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
        on_change: Callable[[BalanceChange], Awaitable[object] | object] | None = None,
        on_error: Callable[[PollError], Awaitable[object] | object] | None = None,
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
    ) -> None:
        opts = PollerOptions.merge(
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
        self.options = opts
        """The options in force (a frozen :class:`PollerOptions`)."""
        self.shard: tuple[int, int] | None = opts.shard if opts.shard is not None else shard_from_env()
        """``(index, count)`` of the accounts kept by this poller, or ``None`` (all of them)."""
        self.client = client
        self.on_change = on_change
        self.on_error = on_error
        self.store: SnapshotStore = store if store is not None else MemoryStore()
        """Where snapshots are kept (a :class:`MemoryStore` unless given)."""
        self._memory = self.store if type(self.store) is MemoryStore else None
        """The store when it is a plain :class:`MemoryStore`: written directly, without batches or snapshot objects
        (the first round of 10,000 accounts then allocates nothing per account for the store)."""
        # Read on every poll: plain attributes, not option lookups.
        self.interval = opts.interval
        self.concurrency = opts.concurrency
        self.timeout = opts.timeout
        self.jitter = opts.jitter
        self._clock: PollerClock = clock if clock is not None else LoopClock()
        self._loop_time: Callable[[], float] = time.monotonic
        self._rng = rng if rng is not None else random.Random()

        self._watches: dict[str, _Watch] = {}
        self._schedule = _Schedule()
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._pressure = _Backpressure(opts, self._wake, self._wake_if_workers_wait)

        self._idle_workers: deque[asyncio.Future[_Watch | None]] = deque()
        self._workers: list[_Worker] = []
        self._watchdog: asyncio.TimerHandle | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._timer: _Handle | None = None
        self._sleep_until = math.inf
        self._idle: asyncio.Event | None = None
        self._started = False
        self._stopping = False
        self._stopped: asyncio.Future[None] | None = None

        self._stored: dict[str, StoredSnapshot] = {}
        """Snapshots loaded from the store for accounts not watched (yet): applied when they are added."""
        self._retired: dict[str, int] = {}
        """Last version of each removed account (a re-added one goes on from there)."""
        self._store_open = False
        self._dirty: dict[str, StoredSnapshot] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flusher: asyncio.Task[None] | None = None
        """The task writing the current batch, if any (started on demand, so an idle poller has none)."""

        self._in_flight = 0
        self._polls = 0
        self._errors = 0
        self._changes = 0
        self._max_lag = 0.0
        self._events_dropped = 0
        self._callback_errors = 0
        self._stored_count = 0
        self._store_errors = 0

        if accounts:
            self.add(*accounts)

    # ---------------------------------------------------------------------------------------- accounts

    def add(self, *accounts: str, client: AsyncCalypso | None = None, interval: float | None = None) -> int:
        """Watch ``accounts`` (no argument: the client's default account); returns how many were new.

        >>> poller.add("0xabc…", "0xdef…", client=other_merchant, interval=60)  # doctest: +SKIP
        2

        Safe while running. Re-adding a watched account updates its client and interval and keeps its
        snapshot. A new account's first poll comes within ``first_poll_spread`` seconds. With a shard, accounts
        of other shards are skipped (not counted).
        """
        use = client if client is not None else self.client
        if use is None:
            raise ValueError("no client: pass client= here or to BalancePoller(...)")
        if interval is not None and interval <= 0:
            raise ValueError("interval must be > 0 seconds")
        if not accounts:
            if not use.account_id:
                raise ValueError("no account given and the client has no default account")
            accounts = (use.account_id,)
        every = self.interval if interval is None else float(interval)
        spread_option = self.options.first_poll_spread
        spread = every if spread_option is None else spread_option
        now = self._clock.monotonic()
        rng = self._rng.random
        shard = self.shard
        stored = self._stored
        added = 0
        for account in accounts:
            if not isinstance(account, str) or not account:
                raise TypeError(f"account ids are non-empty strings, got {account!r}")
            watch = self._watches.get(account)
            if watch is not None:
                watch.client = use
                watch.interval = every
                continue
            if shard is not None and shard_of(account, shard[1]) != shard[0]:
                continue
            watch = _Watch(account, use, every)
            if stored:
                self._resume(watch, stored.pop(account, None))
            retired = self._retired.pop(account, None)
            if retired is not None:
                # Watched before: a new baseline, but versions go on, so no dedup_key is ever given twice.
                watch.stored_version = retired
                watch.version = retired + 1
            self._watches[account] = watch
            self._push(watch, now + spread * rng())
            added += 1
        if added and logger.isEnabledFor(logging.DEBUG):
            logger.debug("poller: watching %d new account(s), %d in all", added, len(self._watches))
        return added

    def remove(self, *accounts: str) -> int:
        """Stop watching ``accounts``; returns how many were watched. Safe while running.

        >>> poller.remove("0xabc…")  # doctest: +SKIP
        1

        A poll of a removed account that is in flight finishes, but its result is discarded (no events).
        """
        removed = 0
        for account in accounts:
            watch = self._watches.pop(account, None)
            if watch is not None:
                watch.active = False
                self._retired[account] = max(watch.version, watch.stored_version)
                removed += 1
        return removed

    @property
    def accounts(self) -> list[str]:
        """The watched account ids.

        >>> poller.accounts  # doctest: +SKIP
        ['0xabc…', '0xdef…']
        """
        return list(self._watches)

    def __contains__(self, account: object) -> bool:
        return account in self._watches

    def __len__(self) -> int:
        return len(self._watches)

    def snapshot(self, account: str) -> AccountSnapshot | None:
        """The latest balances of ``account``, or ``None`` before its first successful poll (or if not watched).

        >>> poller.snapshot("0xabc…").balances  # doctest: +SKIP
        mappingproxy({'BTC': Decimal('0.5'), ...})

        With a persistent store, an account's stored snapshot is its latest until it is polled again.
        """
        watch = self._watches.get(account)
        if watch is None or watch.balances is None:
            return None
        return AccountSnapshot(account, MappingProxyType(watch.balances), _utc(watch.observed_at))

    def snapshots(self) -> dict[str, AccountSnapshot]:
        """Every account's latest snapshot (accounts not yet observed are left out).

        >>> {a: s.balances.get("BTC") for a, s in poller.snapshots().items()}  # doctest: +SKIP
        """
        return {
            account: AccountSnapshot(account, MappingProxyType(w.balances), _utc(w.observed_at))
            for account, w in self._watches.items()
            if w.balances is not None
        }

    def failures(self, account: str) -> int:
        """Consecutive failed polls of ``account`` (0 when its last poll succeeded).

        >>> poller.failures("0xdef…")  # doctest: +SKIP
        3
        """
        watch = self._watches.get(account)
        return 0 if watch is None else watch.failures

    # ------------------------------------------------------------------------------------ observability

    def stats(self) -> PollerStats:
        """The counters, now.

        >>> poller.stats().lag  # doctest: +SKIP
        0.0
        """
        now = self._clock.monotonic() if self._started else 0.0
        pressure = self._pressure
        return PollerStats(
            accounts=len(self._watches),
            polls=self._polls,
            errors=self._errors,
            changes=self._changes,
            in_flight=self._in_flight,
            lag=self._current_lag(now),
            max_lag=self._max_lag,
            slowdown=pressure.slowdown,
            paused_for=max(0.0, pressure.paused_until - now) if self._started else 0.0,
            rate_limited=pressure.rate_limited,
            backpressure_events=pressure.events,
            events_dropped=self._events_dropped,
            callback_errors=self._callback_errors,
            stored=self._stored_count,
            store_errors=self._store_errors,
        )

    def _current_lag(self, now: float) -> float:
        if not self._started or self._stopping:
            return 0.0
        due = self._schedule.next_due()
        return 0.0 if due is None else max(0.0, now - due)

    def events(self, maxsize: int = 10_000) -> EventStream:
        """Subscribe to events (:class:`BalanceChange` and :class:`PollError`) from now on.

        >>> async for event in poller.events():  # doctest: +SKIP
        ...     if isinstance(event, BalanceChange): print(event.account, event.currency, event.delta)

        Every stream gets every event. The stream ends once the poller has stopped and it has been read empty.
        An event counts as delivered (and its change may be stored) when the reader asks for the next one.
        """
        if self._stopping or (self._stopped is not None and self._stopped.done()):
            return EventStream(None, maxsize)
        stream = EventStream(self, maxsize)
        self._streams.add(stream)
        return stream

    def _dropped(self, stream: EventStream) -> None:
        self._events_dropped += 1
        if stream.dropped == 1 or stream.dropped % 1000 == 0:
            logger.warning(
                "poller: an event stream is full (%d unread); dropped %d oldest event(s) so far - read faster, "
                "raise maxsize, or close streams you no longer read",
                len(stream),
                stream.dropped,
            )

    # ------------------------------------------------------------------------------------------- store

    def _resume(self, watch: _Watch, stored: StoredSnapshot | None) -> None:
        """Start ``watch`` from its stored snapshot: its first poll is compared with it."""
        if stored is None:
            return
        balances = stored.balances
        # Shared, not copied (100,000 snapshots loaded at once): the poller never changes a balances dict in place.
        watch.balances = balances if type(balances) is dict else dict(balances)
        watch.observed_at = stored.observed_at
        watch.version = watch.stored_version = stored.version

    async def _open_store(self) -> None:
        store = self.store
        await store.open()
        self._store_open = True
        try:
            loaded = await store.load()
        except BaseException:
            self._store_open = False
            await store.close()
            raise
        watches = self._watches
        for account, stored in loaded.items():
            watch = watches.get(account)
            if watch is None:
                self._stored[account] = stored
            elif watch.balances is None:
                self._resume(watch, stored)
        if loaded and logger.isEnabledFor(logging.DEBUG):
            logger.debug("poller: %d snapshot(s) loaded from %r", len(loaded), store)

    def _store(self, watch: _Watch, balances: dict[str, Decimal], version: int, observed_at: float) -> None:
        """Hand a snapshot to the store (batched); older versions than what was handed before are dropped."""
        if not self._store_open or version <= watch.stored_version:
            return
        watch.stored_version = version
        memory = self._memory
        if memory is not None:
            memory._put(watch.account, balances, version, observed_at)
            self._stored_count += 1
            return
        self._dirty[watch.account] = StoredSnapshot(watch.account, balances, version, observed_at)
        self._plan_flush()

    def _plan_flush(self) -> None:
        # Batches: the first snapshot handed over starts a short timer, everything that comes until it fires is
        # written together; one writer at a time, and what arrives while it writes waits for the next batch.
        if self._flusher is None and self._flush_timer is None and self._idle is not None:
            self._flush_timer = asyncio.get_running_loop().call_later(_FLUSH_DELAY, self._flush_due)

    def _flush_due(self) -> None:
        self._flush_timer = None
        if self._flusher is None and self._store_open:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(), name="calypso-poller-store")

    async def _flush_soon(self) -> None:
        try:
            await self._flush()
        finally:
            self._flusher = None
            if self._dirty and self._store_open:
                self._plan_flush()

    def _cancel_flush_timer(self) -> None:
        timer, self._flush_timer = self._flush_timer, None
        if timer is not None:
            timer.cancel()

    async def flush(self) -> None:
        """Write every delivered change (and baseline) to the store now, instead of in the background.

        >>> await poller.flush()  # doctest: +SKIP

        :meth:`stop` does this too; tests use it to know what the store holds.
        """
        self._cancel_flush_timer()
        flusher = self._flusher
        if flusher is not None:
            await asyncio.gather(flusher, return_exceptions=True)
        if self._store_open:
            await self._flush()

    async def _flush(self) -> None:
        while self._dirty:
            batch, self._dirty = self._dirty, {}
            try:
                await self.store.save(list(batch.values()))
            except asyncio.CancelledError:
                self._requeue(batch)
                raise
            except Exception:
                self._store_errors += 1
                self._requeue(batch)
                logger.exception("poller: saving %d snapshot(s) to %r failed; retried later", len(batch), self.store)
                return
            self._stored_count += len(batch)

    def _requeue(self, batch: dict[str, StoredSnapshot]) -> None:
        for account, snapshot in batch.items():
            newer = self._dirty.get(account)
            if newer is None or newer.version < snapshot.version:
                self._dirty[account] = snapshot

    # ---------------------------------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`.

        >>> poller.running  # doctest: +SKIP
        True
        """
        return self._started and not self._stopping

    async def start(self) -> None:
        """Open the store, then start the scheduler and the workers on the running loop.

        >>> await poller.start()  # doctest: +SKIP
        """
        if self._started:
            raise RuntimeError("BalancePoller was already started (a poller runs once; create a new one)")
        loop = asyncio.get_running_loop()
        self._started = True
        try:
            await self._open_store()
        except BaseException:
            self._stopping = True
            self._finish_streams()
            raise
        self._idle = asyncio.Event()
        self._stopped = loop.create_future()
        self._pressure.slowdown_at = self._clock.monotonic()
        self._loop_time = loop.time
        self._scheduler = loop.create_task(self._schedule_loop(), name="calypso-poller-scheduler")
        self._workers = [_Worker() for _ in range(self.concurrency)]
        self._start_worker(0)
        self._watchdog = loop.call_later(self._hard_timeout / 2, self._check_hung)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "poller: started with %d account(s), concurrency %d, interval %.1f s",
                len(self._watches),
                self.concurrency,
                self.interval,
            )

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop: no new polls; in-flight ones get ``timeout`` seconds to finish, then are cancelled.

        >>> await poller.stop(timeout=2.0)  # doctest: +SKIP

        Returns once every task the poller created has ended and what was delivered is stored (the store is
        then closed); event streams end after their queued events. Safe to call twice, from a callback, or
        before :meth:`start`.
        """
        await self._halt(timeout)
        await self._close_store()

    async def _halt(self, timeout: float) -> None:
        """Stop polling and end the streams; the store stays open (the sync poller drains its stream first)."""
        if not self._started:
            self._started = True
            self._stopping = True
            self._finish_streams()
            return
        if self._stopped is None:  # start() failed (the store could not be opened)
            return
        if self._stopping:
            current = asyncio.current_task()
            if all(current is not w.task for w in self._workers):
                await asyncio.shield(self._stopped)
            return
        self._stopping = True
        try:
            await self._shutdown(timeout)
        finally:
            if not self._stopped.done():
                self._stopped.set_result(None)

    async def _close_store(self) -> None:
        """Write what is left, then close the store (acknowledgements after this are not stored)."""
        self._cancel_flush_timer()
        flusher = self._flusher
        if flusher is not None:
            await asyncio.gather(flusher, return_exceptions=True)  # a batch being written finishes
        if not self._store_open:
            return
        try:
            await self._flush()
        finally:
            self._store_open = False
            await self.store.close()

    async def _shutdown(self, timeout: float) -> None:
        self._wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        current = asyncio.current_task()
        while self._idle_workers:
            waiter = self._idle_workers.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        tasks: list[asyncio.Task[None]] = [
            w.task for w in self._workers if w.task is not None and w.task is not current
        ]
        if self._scheduler is not None:
            tasks.append(self._scheduler)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout))
            if pending:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("poller: cancelling %d task(s) still busy after %.1f s", len(pending), timeout)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:  # pragma: no cover - defensive
                logger.error("poller: task %s failed", task.get_name(), exc_info=task.exception())
        self._finish_streams()
        if self._idle is not None:
            self._idle.set()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("poller: stopped after %d polls", self._polls)

    def _finish_streams(self) -> None:
        for stream in list(self._streams):
            stream._finish()
        self._streams = weakref.WeakSet()

    async def __aenter__(self) -> BalancePoller:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Wait until no poll is running or due now (the scheduler is waiting for the future): for tests.

        >>> clock.advance(30); await poller.wait_idle()  # doctest: +SKIP
        """
        if self._idle is None:
            raise RuntimeError("the poller is not started")
        await self._idle.wait()

    async def advance(self, seconds: float) -> None:
        """With a :class:`ManualClock`: move time ``seconds`` forward, timer by timer, letting every poll that
        falls due finish in between. Deterministic tests read like a timeline.

        >>> await poller.advance(60)  # two 30-second rounds  # doctest: +SKIP
        """
        clock = self._clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs the poller to use a ManualClock")
        end = clock.monotonic() + seconds
        await self.wait_idle()
        while True:
            due = clock.next_timer()
            if due is None or due > end:
                break
            clock.advance_to(due)
            await asyncio.sleep(0)
            await self.wait_idle()
        clock.advance_to(end)

    # ---------------------------------------------------------------------------------------- scheduler

    def _push(self, watch: _Watch, due: float) -> None:
        self._schedule.push(watch, due)
        if due < self._sleep_until and self._idle_workers:
            self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
            self._sleep_until = -math.inf
            if self._idle is not None:
                self._idle.clear()

    def _wake_if_workers_wait(self) -> None:
        if self._idle_workers:
            self._wake()

    def _check_idle(self) -> None:
        """Idle (for :meth:`wait_idle`): every worker waits for work and the scheduler waits for time."""
        waiter = self._wakeup
        if (
            len(self._idle_workers) == len(self._workers)
            and waiter is not None
            and not waiter.done()
            and self._idle is not None
        ):
            self._idle.set()

    def _on_timer(self) -> None:
        self._timer = None
        self._wake()

    def _take(self, now: float) -> _Watch | None:
        """Pop the next due poll if one may start now (not paused, under the limit), counting it in flight."""
        pressure = self._pressure
        if self._in_flight >= pressure.limit or now < pressure.paused_until or self._stopping:
            return None
        found = self._schedule.pop_due(now + _EARLY)
        if found is None:
            return None
        watch, due = found
        if now - due > self._max_lag:
            self._max_lag = now - due
        self._in_flight += 1
        return watch

    async def _park(self, delay: float | None) -> None:
        """Scheduler: wait for ``delay`` seconds of the clock, or until :meth:`_wake`."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wakeup = waiter
        self._sleep_until = math.inf if delay is None else self._clock.monotonic() + delay
        if delay is not None:
            self._timer = self._clock.call_later(delay, self._on_timer)
        self._check_idle()
        try:
            await waiter
        finally:
            self._wakeup = None
            self._sleep_until = -math.inf
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    async def _schedule_loop(self) -> None:
        """Hand due polls to idle workers; otherwise sleep until the next one falls due.

        Busy workers take the next due poll themselves when they finish one, so under load the scheduler
        hardly runs: it is needed only while workers wait for the future.
        """
        clock = self._clock
        idle = self._idle_workers
        pressure = self._pressure
        assert self._idle is not None
        debug = logger.isEnabledFor(logging.DEBUG)
        while not self._stopping:
            now = clock.monotonic()
            while idle:
                if idle[0].done():  # its worker was cancelled
                    idle.popleft()
                    continue
                watch = self._take(now)
                if watch is None:
                    break
                idle.popleft().set_result(watch)
            self._idle.clear()
            if now < pressure.paused_until:
                await self._park(pressure.paused_until - now)
                continue
            due = self._schedule.next_due()
            if not idle or due is None or self._in_flight >= pressure.limit:
                # Busy workers pick up due polls as they finish; wake-ups come from a worker going idle,
                # an earlier poll being added, or the slowdown easing.
                await self._park(None)
                continue
            delay = due - now
            if debug and delay > 1.0:
                logger.debug("poller: next poll in %.1f s (%d in flight)", delay, self._in_flight)
            await self._park(max(0.0, delay))

    @property
    def _hard_timeout(self) -> float:
        """Seconds after which the watchdog cancels an ``account.get`` that the client's own timeout missed."""
        return self.timeout * 2.0 + 1.0

    def _check_hung(self) -> None:
        """Watchdog (real time, every half bound): cancel polls stuck past :attr:`_hard_timeout`.

        The client enforces ``timeout`` per attempt; this backstop covers transports that do not. One timer for
        the whole pool, instead of a timeout context around every poll (which cost more than the rest of the
        poller's per-poll work together).
        """
        loop = asyncio.get_running_loop()
        bound = self._hard_timeout
        now = loop.time()
        for worker in self._workers:
            since = worker.busy_since
            if since and now - since > bound and not worker.timed_out and worker.task is not None:
                worker.timed_out = True
                worker.task.cancel()
        if not self._stopping:
            self._watchdog = loop.call_later(bound / 2, self._check_hung)

    def _start_worker(self, index: int) -> None:
        """Start worker ``index``; it starts the next one once it has begun its first poll.

        Why one after another: 200 workers started at once would open 200 connections and send 200 requests in
        one burst, and their answers would come back in one burst too; queued behind each other on the loop,
        they would make the first rounds slower than the steady state. Started in turn, one per loop pass,
        the first requests go out as fast as the loop can send them, spread the way the steady state spreads
        them. No clock is involved: a test with a :class:`ManualClock` sees every worker started as soon as
        the loop has run.
        """
        if self._stopping or index >= len(self._workers):
            return
        worker = self._workers[index]
        worker.task = asyncio.get_running_loop().create_task(
            self._work(worker, index), name=f"calypso-poller-worker-{index}"
        )

    async def _work(self, worker: _Worker, index: int) -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(self._start_worker, index + 1)  # runs once this worker waits for its first answer
        clock = self._clock
        idle = self._idle_workers
        heap = self._schedule.heap
        streak = 0
        while True:
            watch = self._take(clock.monotonic())
            if watch is None:
                streak = 0
                if self._stopping:
                    return
                waiter: asyncio.Future[_Watch | None] = loop.create_future()
                idle.append(waiter)
                if heap and heap[0][0] < self._sleep_until:
                    self._wake()  # the scheduler must plan a wake-up for the next due poll
                else:
                    self._check_idle()
                watch = await waiter
                if watch is None:
                    return
            try:
                streak += 1
                if streak >= 64:
                    # A transport that answers without ever suspending (a stub) would let this worker run
                    # polls back to back forever: let the rest of the loop in now and then.
                    streak = 0
                    await asyncio.sleep(0)
                if watch.active:
                    await self._poll(watch, worker)
            finally:
                self._in_flight -= 1

    async def _poll(self, watch: _Watch, worker: _Worker) -> None:
        clock = self._clock
        timeout = self.timeout
        debug = logger.isEnabledFor(logging.DEBUG)
        started = clock.monotonic() if debug else 0.0
        worker.busy_since = self._loop_time()
        try:
            body = await watch.client._call(_ACCOUNT_GET, account=watch.account, timeout=timeout, max_retries=0)
        except asyncio.CancelledError:
            if not worker.timed_out or self._stopping:
                raise
            # The watchdog cancelled this poll, not the caller: take the cancellation back, report a timeout.
            worker.timed_out = False
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            error = APITimeoutError(f"account.get gave no answer within {self._hard_timeout:.1f} s")
            worker.busy_since = 0.0
            await self._failed(watch, error)
            return
        except Exception as exc:
            worker.busy_since = 0.0
            await self._failed(watch, exc)
            return
        worker.busy_since = 0.0
        if not watch.active:
            self._polls += 1
            return
        previous = watch.balances
        digest = _blake2b(body, digest_size=16).digest()
        if previous is not None and digest == watch.digest:
            balances = previous  # the very answer that gave these balances: nothing to decode or compare
        else:
            answer = _decode(body)
            if previous is not None and _unchanged(previous, answer):
                balances = previous  # the common case: no new dict, no interning
            else:
                fresh = _read_balances(answer)
                if fresh is None:
                    await self._failed(watch, _unreadable(watch.account, answer))
                    return
                balances = fresh
            watch.digest = digest
        self._polls += 1
        now = clock.monotonic()
        pressure = self._pressure
        if pressure.server_errors_in_a_row or pressure.slowdown > 1.0:
            pressure.succeeded(now)
        watch.observed_at = wall = clock.time()
        watch.failures = 0
        self._reschedule(watch, now)
        if debug:
            logger.debug(
                "poller: %s polled in %.1f ms (%d balances)", watch.account, (now - started) * 1000.0, len(balances)
            )
        if previous is not None and (balances is previous or previous == balances):
            return  # unchanged (numerically): keep the stored dict, the fresh one dies young
        watch.balances = balances
        if previous is None:
            if not self.options.emit_initial:
                self._store(watch, balances, watch.version, wall)  # the baseline
                return
            previous = {}
        version = watch.version + 1
        changes = self._diff(watch.account, version, previous, balances, wall)
        if not changes:
            return  # only zero balances came or went (absent_is_zero): nothing to report or to store
        watch.version = version
        delivery = _Delivery(self, watch, balances, version, wall)
        for change in changes:
            self._changes += 1
            if debug:
                logger.debug(
                    "poller: %s %s changed %s -> %s", change.account, change.currency, change.previous, change.new
                )
            await self._emit(change, self.on_change, delivery)
        delivery.ack()

    def _diff(
        self, account: str, version: int, previous: dict[str, Decimal], current: dict[str, Decimal], wall: float
    ) -> list[BalanceChange]:
        changes: list[BalanceChange] = []
        at = None
        absent_is_zero = self.options.absent_is_zero
        for currency, amount in current.items():
            before = previous.get(currency)
            if before is None:
                if absent_is_zero and amount == _ZERO:
                    continue
            elif before == amount:
                continue
            at = at or _utc(wall)
            key = change_key(account, version, currency, before, amount)
            changes.append(BalanceChange(account, currency, before, amount, at, key))
        for currency, before in previous.items():
            if currency not in current:
                if absent_is_zero and before == _ZERO:
                    continue
                at = at or _utc(wall)
                key = change_key(account, version, currency, before, None)
                changes.append(BalanceChange(account, currency, before, None, at, key))
        return changes

    def _reschedule(self, watch: _Watch, now: float) -> None:
        if not watch.active or self._stopping:
            return
        step = watch.interval * self._pressure.slowdown
        if self.jitter:
            step *= 1.0 + self.jitter * (2.0 * self._rng.random() - 1.0)
        self._push(watch, now + step)

    async def _failed(self, watch: _Watch, exc: BaseException) -> None:
        self._polls += 1
        self._errors += 1
        now = self._clock.monotonic()
        pressure = self._pressure
        if pressure.failed(exc, now):
            # Rate limited: not the account's fault. Poll it again right after the pause, failures unchanged.
            retry_in = max(0.0, pressure.paused_until - now) + self._rng.random() * min(watch.interval, 1.0)
        else:
            watch.failures += 1
            backoff = min(self.options.max_backoff, watch.interval * 2.0**watch.failures)
            retry_in = backoff * (1.0 - self.jitter * self._rng.random())
        if not watch.active:
            return
        if not self._stopping:
            self._push(watch, now + retry_in)
        wall = self._clock.time()
        key = error_key(watch.account, watch.version, watch.failures, wall)
        event = PollError(watch.account, exc, watch.failures, retry_in, _utc(wall), key)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "poller: %s failed (%s: %s), failure %d, next poll in %.1f s",
                watch.account,
                type(exc).__name__,
                exc,
                watch.failures,
                retry_in,
            )
        await self._emit(event, self.on_error, None)

    async def _emit(
        self,
        event: PollerEvent,
        callback: Callable[[Any], Awaitable[object] | object] | None,
        delivery: _Delivery | None,
    ) -> None:
        ack = delivery.ack if delivery is not None else None
        for stream in self._streams:
            if stream._offer(event, ack) and delivery is not None:
                delivery.waiting += 1
        if callback is None:
            return
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            if delivery is not None:
                delivery.failed = True
            raise
        except Exception:
            if delivery is not None:
                delivery.failed = True  # not delivered: never stored, so a restart reports it again
            self._callback_failed(event)

    def _callback_failed(self, event: PollerEvent) -> None:
        """Count and log a callback's exception (also called by the sync poller's dispatcher)."""
        self._callback_errors += 1
        logger.exception("poller: %s callback failed for %r", type(event).__name__, event)

    def __repr__(self) -> str:
        state = "running" if self.running else ("stopped" if self._started else "not started")
        shard = f", shard {self.shard[0]}/{self.shard[1]}" if self.shard is not None else ""
        return (
            f"<BalancePoller {state}: {len(self._watches)} account(s), concurrency {self.concurrency}, "
            f"interval {self.interval:g} s{shard}>"
        )


class _Unreadable:
    """An answer that is not JSON at all (``error`` says why)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _decode(body: bytes) -> Any:
    """The decoded JSON of an ``account.get`` answer (amounts as ``Decimal``), or an :class:`_Unreadable`."""
    try:
        return _json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return _Unreadable(exc)


def _unchanged(previous: dict[str, Decimal], answer: Any) -> bool:
    """True when ``answer`` lists exactly the amounts of ``previous`` (checked without building a dict).

    Anything unusual (another type, a string amount, a new or missing currency) says False, and the answer is
    then read in full by :func:`_read_balances`.
    """
    if type(answer) is not dict:
        return False
    items = answer.get("balances")
    if type(items) is not list or len(items) != len(previous):
        return False
    try:
        for item in items:
            amount = item["amount"]
            if type(amount) is not Decimal or previous[item["currency"]] != amount:
                return False
    except (KeyError, TypeError):  # an entry that is not an object, lacks a key, or has an odd currency
        return False
    return True


def _read_balances(answer: Any) -> dict[str, Decimal] | None:
    """Currency -> amount of an ``account.get`` answer, or ``None`` when it cannot be read as balances.

    The same rules as the ``AccountResponseDTO`` model, on the decoded JSON: ``balances`` must be a list of objects,
    each with a string ``currency`` and a finite amount (a JSON number, or a numeric string) of sane magnitude.
    """
    if type(answer) is not dict:
        return None
    items = answer.get("balances")
    if type(items) is not list:
        return None  # null, missing, or not a list
    balances: dict[str, Decimal] = {}
    for item in items:
        if type(item) is not dict:
            return None
        currency = item.get("currency")
        amount = item.get("amount")
        if type(currency) is not str:
            return None
        if type(amount) is not Decimal or not _SANE_EXPONENT[0] <= amount.adjusted() <= _SANE_EXPONENT[1]:
            amount = _amount(amount)
            if amount is None:
                return None
        # Interned: 10,000 snapshots share eight currency strings instead of holding 80,000 copies.
        balances[intern(currency)] = amount
    return balances


_SANE_EXPONENT = (-1000, 1000)


def _amount(value: object) -> Decimal | None:
    """An amount that is not a plain JSON decimal: an integer, a numeric string; ``None`` if unreadable."""
    if type(value) is int:
        result = Decimal(value)
    elif type(value) is str:
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    elif type(value) is Decimal:
        result = value
    else:
        return None  # null, a boolean, an object ...
    if not result.is_finite() or not _SANE_EXPONENT[0] <= result.adjusted() <= _SANE_EXPONENT[1]:
        return None
    return result


def _unreadable(account: str, answer: Any) -> InvalidResponseError:
    raw = answer.get("balances") if type(answer) is dict else answer
    if type(answer) is _Unreadable:
        what = f"no JSON ({type(answer.error).__name__}: {answer.error})"
    elif type(answer) is not dict:
        what = f"a JSON {type(answer).__name__}, not an object"
    elif type(raw) is list:
        what = "a balance without a readable currency or amount"
    elif raw is not None:
        what = f"balances as {type(raw).__name__}, not a list of balances"
    else:
        what = "no balances (null or missing)"
    return InvalidResponseError(f"account.get for {account} answered {what}", operation="account.get")
