"""``BalancePoller``: watch many accounts' balances and report each change once.

Why this exists: Calypso Pay has no balance webhook, so services that react to money arriving poll
``account.get``. Done naively (a task per account, ``asyncio.sleep(interval)``, retries inside each call) this
stampedes the API on start, lets one broken account or a rate-limited API slow everything, and leaks tasks on
shutdown. The poller centralises the hard parts:

* **One scheduler, a fixed pool of workers.** A heap of next-due times feeds ``concurrency`` worker tasks, so
  10,000 accounts cost a heap entry and a small record each, not a task each. A worker that finishes a poll
  takes the next due one itself; the scheduler only wakes idle workers when polls fall due. The first poll of
  every account is spread uniformly across its interval, later polls get ``±jitter`` (no thundering herd).
* **Failure isolation.** An account's own failures (auth, not found, timeouts, bad answers) back that account
  off exponentially (``interval * 2**failures``, capped) and surface as :class:`PollError` events; the others
  keep their schedule. Each poll calls the client with ``max_retries=0``: the poller owns retrying.
* **Shared backpressure.** A 429, or a burst of consecutive 5xx answers, slows the whole poller: a pause
  (``Retry-After`` honoured) and a global *slowdown* factor that divides the concurrency and stretches every
  interval. The factor halves every ``recovery_half_life`` seconds of successful polling, so it recovers alone.
* **Change events.** Balances are compared per currency as ``Decimal`` values (``1.0 == 1.00``). A currency
  missing from an answer counts as zero by default (``absent_is_zero``); events say ``None`` for "not listed".
  The first observation of an account is a baseline and emits nothing unless ``emit_initial=True``.
* **Clean stop.** :meth:`BalancePoller.stop` lets in-flight polls finish for up to ``timeout`` seconds, then
  cancels them, and awaits every task it created. Clients are the caller's: the poller never closes them.

Time comes from an injectable :class:`PollerClock` (``time.monotonic`` and the loop's timers by default;
:class:`ManualClock` in tests), and only the scheduler ever waits on it: workers never sleep, so tests step time
deterministically. (The watchdog that cancels hung polls is a safety net on the loop's real time.)
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import logging
import math
import random
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from sys import intern
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._errors import APITimeoutError, RateLimitError, ServerError

if TYPE_CHECKING:
    from ._client import AsyncCalypso

__all__ = [
    "AccountSnapshot",
    "BalanceChange",
    "BalancePoller",
    "EventStream",
    "LoopClock",
    "ManualClock",
    "PollError",
    "PollerClock",
    "PollerEvent",
    "PollerStats",
]

logger = logging.getLogger("calypso.poller")

_ZERO = Decimal(0)
_EARLY = 0.001
"""Seconds: polls due this soon are dispatched now (saves a scheduler wake-up per poll under load)."""


# ------------------------------------------------------------------------------------------------ events


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


@attrs.frozen(slots=True)
class BalanceChange:
    """One currency of one account changed between two successful polls.

    >>> BalanceChange("0xabc", "BTC", Decimal("1"), Decimal("1.5"), _utc(0)).delta
    Decimal('0.5')

    ``previous`` is ``None`` when the currency was not listed before (it appeared), ``new`` is ``None`` when it
    is no longer listed (it disappeared). ``observed_at`` is when the answer carrying ``new`` arrived (UTC).
    """

    account: str
    currency: str
    previous: Decimal | None
    new: Decimal | None
    observed_at: datetime

    @property
    def delta(self) -> Decimal:
        """``new - previous``, a missing side counting as zero.

        >>> BalanceChange("0xabc", "BTC", None, Decimal("2"), _utc(0)).delta
        Decimal('2')
        """
        return (_ZERO if self.new is None else self.new) - (_ZERO if self.previous is None else self.previous)


@attrs.frozen(slots=True)
class PollError:
    """A poll of ``account`` failed; the account is polled again in ``retry_in`` seconds.

    >>> event.error, event.failures  # doctest: +SKIP
    (NotFoundError(...), 3)

    ``failures`` counts consecutive failures of this account (a rate-limited poll does not count: a 429 is not
    the account's fault, it pauses the whole poller instead).
    """

    account: str
    error: BaseException
    failures: int
    retry_in: float
    observed_at: datetime


PollerEvent = BalanceChange | PollError


@attrs.frozen(slots=True)
class AccountSnapshot:
    """The latest successful observation of an account.

    >>> poller.snapshot("0xabc").balances["BTC"]  # doctest: +SKIP
    Decimal('0.5')
    """

    account: str
    balances: Mapping[str, Decimal]
    """Currency -> amount as last answered (read-only)."""
    observed_at: datetime


@attrs.frozen(slots=True)
class PollerStats:
    """Counters of a poller, read with :meth:`BalancePoller.stats`.

    >>> poller.stats().polls  # doctest: +SKIP
    12000
    """

    accounts: int
    """Accounts watched now."""
    polls: int
    """Polls finished (successes + errors)."""
    errors: int
    """Polls that failed (every :class:`PollError` event)."""
    changes: int
    """:class:`BalanceChange` events emitted."""
    in_flight: int
    """Polls running now."""
    lag: float
    """Seconds the most overdue poll waiting to start is behind its schedule (0.0 when keeping up)."""
    max_lag: float
    """Largest lag seen when a poll started, since :meth:`BalancePoller.start`."""
    slowdown: float
    """Shared backpressure factor (1.0 = none): concurrency is divided and intervals multiplied by it."""
    paused_for: float
    """Seconds left of a shared pause (429 / 5xx burst), 0.0 when not paused."""
    rate_limited: int
    """429 answers seen."""
    backpressure_events: int
    """Times the shared slowdown was raised (429 or 5xx burst)."""
    events_dropped: int
    """Events dropped because an :class:`EventStream` was full (its oldest event goes first)."""
    callback_errors: int
    """Exceptions raised by ``on_change`` / ``on_error`` callbacks (logged, then ignored)."""


# ------------------------------------------------------------------------------------------------- clocks


class _Handle(Protocol):
    def cancel(self) -> None: ...


class PollerClock(Protocol):
    """Where the poller gets time from; only the scheduler waits on it (through ``call_later``).

    >>> BalancePoller(client, accounts, clock=ManualClock())  # doctest: +SKIP
    """

    def monotonic(self) -> float:
        """Seconds on a monotonic scale (schedules, backoff, lag)."""
        ...

    def time(self) -> float:
        """Unix seconds (the ``observed_at`` of events and snapshots)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        """Call ``callback()`` on the poller's loop after ``delay`` seconds of this clock."""
        ...


class LoopClock:
    """``time.monotonic`` and the running event loop's timers (the default).

    asyncio's loops keep time with ``time.monotonic`` too; timers are set with relative delays, so any loop works.

    >>> LoopClock().time() > 0  # doctest: +SKIP
    True
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def monotonic(self) -> float:
        return time.monotonic()  # readable before any loop runs: a poller can be built and filled anywhere

    def time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        return self._get_loop().call_later(max(0.0, delay), callback)


class _ManualHandle:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to: deterministic tests of code that uses a poller.

    >>> clock = ManualClock(); clock.advance(5.0); clock.monotonic()
    5.0

    :meth:`advance` moves time and runs the timers that fall due, in order, each at its own time; the tasks they
    wake run when the caller next yields to the loop. Pair it with :meth:`BalancePoller.wait_idle`, or use
    :meth:`BalancePoller.advance` which does both, timer by timer.
    """

    def __init__(self, start: float = 0.0, *, wall: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._wall_offset = wall - float(start)
        self._timers: list[tuple[float, int, _ManualHandle]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        handle = _ManualHandle(self._now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (handle.when, next(self._seq), handle))
        return handle

    def next_timer(self) -> float | None:
        """When the earliest pending timer fires, or ``None``.

        >>> ManualClock().next_timer() is None
        True
        """
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in order.

        >>> clock = ManualClock(); clock.advance(1.5); clock.monotonic()
        1.5
        """
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time forward to ``when`` (never backwards), firing due timers in order.

        >>> clock = ManualClock(); clock.advance_to(3.0); clock.monotonic()
        3.0
        """
        while True:
            due = self.next_timer()
            if due is None or due > when:
                break
            _, _, handle = heapq.heappop(self._timers)
            self._now = max(self._now, handle.when)
            handle.callback()
        self._now = max(self._now, when)


# ------------------------------------------------------------------------------------------------ streams


class EventStream:
    """Events of one :meth:`BalancePoller.events` subscription, as an async iterator; ends when the poller stops.

    >>> async with poller.events() as stream:  # doctest: +SKIP
    ...     async for event in stream: ...

    Holds at most ``maxsize`` unread events; beyond that the oldest is dropped (counted in ``dropped`` and in
    :attr:`PollerStats.events_dropped`, logged as a warning), so a slow or forgotten reader never stalls
    polling. Snapshots stay exact either way. Need backpressure instead? Use an async ``on_change`` callback.
    """

    def __init__(self, poller: BalancePoller | None, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._poller = poller
        self._maxsize = maxsize
        self._items: deque[PollerEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = poller is None
        self.dropped = 0
        """Events this stream dropped because it was full."""

    def _offer(self, event: PollerEvent) -> None:
        if self._closed:
            return
        items = self._items
        if len(items) >= self._maxsize:
            items.popleft()
            self.dropped += 1
            if self._poller is not None:
                self._poller._dropped(self)
        items.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _finish(self) -> None:
        """No more events will come (the poller stopped); what is queued can still be read."""
        self._closed = True
        self._poller = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> PollerEvent:
        items = self._items
        while not items:
            if self._closed:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return items.popleft()

    def get_nowait(self) -> PollerEvent | None:
        """The next queued event, or ``None`` when none is waiting.

        >>> event = stream.get_nowait()  # doctest: +SKIP
        """
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once no more events will be queued (poller stopped or stream closed)."""
        return self._closed

    async def aclose(self) -> None:
        """Unsubscribe: the poller stops queuing events here; the iterator ends.

        >>> await stream.aclose()  # doctest: +SKIP
        """
        poller = self._poller
        if poller is not None:
            poller._streams.discard(self)
        self._items.clear()
        self._finish()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# ------------------------------------------------------------------------------------------------- poller


class _Watch:
    """One watched account: schedule, backoff state and the latest balances."""

    __slots__ = ("account", "active", "balances", "client", "failures", "interval", "observed_at", "seq")

    def __init__(self, account: str, client: AsyncCalypso, interval: float) -> None:
        self.account = account
        self.client = client
        self.interval = interval
        self.failures = 0
        self.balances: dict[str, Decimal] | None = None
        self.observed_at = 0.0
        self.active = True
        self.seq = -1
        """Sequence number of this watch's live heap entry (older entries are stale and skipped)."""


class _Worker:
    """One worker task and what the watchdog needs to know about it."""

    __slots__ = ("busy_since", "task", "timed_out")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.busy_since = 0.0
        """Loop time the current ``account.get`` started (0.0: not in one)."""
        self.timed_out = False


class BalancePoller:
    """Poll ``account.get`` for many accounts and report balance changes; see the module docstring for the why.

    >>> async with BalancePoller(client, ["0xabc…", "0xdef…"], interval=30) as poller:  # doctest: +SKIP
    ...     async for event in poller.events(): print(event)

    ``client`` polls the ``accounts`` given here and those later :meth:`add`-ed without a client of their own
    (several clients with their own credentials: ``poller.add(ids, client=other)``). Events arrive through
    :meth:`events` streams and/or the ``on_change`` / ``on_error`` callbacks (plain or async; an async callback
    is awaited by the worker that produced the event, which is backpressure). Clients are never closed by the
    poller; give the client a connection pool at least ``concurrency`` large (aiohttp's default is 100).

    Timing: ``interval`` seconds between polls of an account (``±jitter`` fraction, per poll), first polls
    spread over ``first_poll_spread`` seconds (default: the interval); each poll gets ``timeout`` seconds.
    Failures: ``interval * 2**failures`` up to ``max_backoff``. Backpressure: a 429 pauses everything for
    its ``Retry-After`` (else ``rate_limit_pause * slowdown``, at most ``max_pause``) and doubles the slowdown;
    ``server_error_burst`` consecutive 5xx do the same with ``server_error_pause``; the slowdown (at most
    ``max_slowdown``) halves every ``recovery_half_life`` seconds while polls succeed.
    """

    def __init__(
        self,
        client: AsyncCalypso | None = None,
        accounts: Iterable[str] = (),
        *,
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
        clock: PollerClock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        if not 0.0 <= jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")
        if first_poll_spread is not None and first_poll_spread < 0:
            raise ValueError("first_poll_spread must be >= 0")
        if server_error_burst < 1:
            raise ValueError("server_error_burst must be >= 1")
        if max_slowdown < 1.0:
            raise ValueError("max_slowdown must be >= 1")
        self.client = client
        self.interval = float(interval)
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.jitter = float(jitter)
        self.first_poll_spread = first_poll_spread
        self.max_backoff = float(max_backoff)
        self.emit_initial = emit_initial
        self.absent_is_zero = absent_is_zero
        self.on_change = on_change
        self.on_error = on_error
        self.rate_limit_pause = float(rate_limit_pause)
        self.server_error_burst = int(server_error_burst)
        self.server_error_pause = float(server_error_pause)
        self.max_pause = float(max_pause)
        self.max_slowdown = float(max_slowdown)
        self.recovery_half_life = float(recovery_half_life)
        self._clock: PollerClock = clock if clock is not None else LoopClock()
        self._loop_time: Callable[[], float] = time.monotonic
        self._rng = rng if rng is not None else random.Random()

        self._watches: dict[str, _Watch] = {}
        self._heap: list[tuple[float, int]] = []
        """``(due, seq)`` entries; :attr:`_queued` maps ``seq`` to its watch. No object reference in the tuples,
        so the garbage collector untracks them: 10,000 of them are never traversed by a collection."""
        self._queued: dict[int, _Watch] = {}
        self._seq = itertools.count()
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()

        self._idle_workers: deque[asyncio.Future[_Watch | None]] = deque()
        self._workers: list[_Worker] = []
        self._watchdog: asyncio.TimerHandle | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._timer: _Handle | None = None
        self._sleep_until = math.inf
        self._limit = self.concurrency
        """Polls allowed in flight now: ``concurrency`` divided by the slowdown."""
        self._idle: asyncio.Event | None = None
        self._started = False
        self._stopping = False
        self._stopped: asyncio.Future[None] | None = None

        self._in_flight = 0
        self._polls = 0
        self._errors = 0
        self._changes = 0
        self._max_lag = 0.0
        self._rate_limited = 0
        self._backpressure_events = 0
        self._events_dropped = 0
        self._callback_errors = 0
        self._slowdown = 1.0
        self._slowdown_at = 0.0
        self._paused_until = -math.inf
        self._server_errors_in_a_row = 0

        if accounts:
            self.add(*accounts)

    # ---------------------------------------------------------------------------------------- accounts

    def add(self, *accounts: str, client: AsyncCalypso | None = None, interval: float | None = None) -> int:
        """Watch ``accounts`` (no argument: the client's default account); returns how many were new.

        >>> poller.add("0xabc…", "0xdef…", client=other_merchant, interval=60)  # doctest: +SKIP
        2

        Safe while running. Re-adding a watched account updates its client and interval and keeps its
        snapshot. A new account's first poll comes within ``first_poll_spread`` seconds.
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
        spread = every if self.first_poll_spread is None else self.first_poll_spread
        now = self._clock.monotonic()
        rng = self._rng.random
        added = 0
        for account in accounts:
            if not isinstance(account, str) or not account:
                raise TypeError(f"account ids are non-empty strings, got {account!r}")
            watch = self._watches.get(account)
            if watch is not None:
                watch.client = use
                watch.interval = every
                continue
            watch = _Watch(account, use, every)
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
        return PollerStats(
            accounts=len(self._watches),
            polls=self._polls,
            errors=self._errors,
            changes=self._changes,
            in_flight=self._in_flight,
            lag=self._current_lag(now),
            max_lag=self._max_lag,
            slowdown=self._slowdown,
            paused_for=max(0.0, self._paused_until - now) if self._started else 0.0,
            rate_limited=self._rate_limited,
            backpressure_events=self._backpressure_events,
            events_dropped=self._events_dropped,
            callback_errors=self._callback_errors,
        )

    def _current_lag(self, now: float) -> float:
        if not self._started or self._stopping:
            return 0.0
        due = self._next_due()
        return 0.0 if due is None else max(0.0, now - due)

    def events(self, maxsize: int = 10_000) -> EventStream:
        """Subscribe to events (:class:`BalanceChange` and :class:`PollError`) from now on.

        >>> async for event in poller.events():  # doctest: +SKIP
        ...     if isinstance(event, BalanceChange): print(event.account, event.currency, event.delta)

        Every stream gets every event. The stream ends once the poller has stopped and it has been read empty.
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

    # ---------------------------------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`.

        >>> poller.running  # doctest: +SKIP
        True
        """
        return self._started and not self._stopping

    async def start(self) -> None:
        """Start the scheduler and the workers on the running loop.

        >>> await poller.start()  # doctest: +SKIP
        """
        if self._started:
            raise RuntimeError("BalancePoller was already started (a poller runs once; create a new one)")
        loop = asyncio.get_running_loop()
        self._started = True
        self._idle = asyncio.Event()
        self._stopped = loop.create_future()
        self._slowdown_at = self._clock.monotonic()
        self._loop_time = loop.time
        self._scheduler = loop.create_task(self._schedule(), name="calypso-poller-scheduler")
        self._workers = [_Worker() for _ in range(self.concurrency)]
        for i, worker in enumerate(self._workers):
            worker.task = loop.create_task(self._work(worker), name=f"calypso-poller-worker-{i}")
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

        Returns once every task the poller created has ended; event streams then end after their queued events.
        Safe to call twice, from a callback, or before :meth:`start`.
        """
        if not self._started:
            self._started = True
            self._stopping = True
            self._finish_streams()
            return
        assert self._stopped is not None
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

    def _next_due(self) -> float | None:
        """Due time of the earliest live entry (stale entries of removed accounts are dropped on the way)."""
        heap = self._heap
        queued = self._queued
        while heap:
            due, seq = heap[0]
            watch = queued.get(seq)
            if watch is not None and watch.active and watch.seq == seq:
                return due
            heapq.heappop(heap)
            queued.pop(seq, None)
        return None

    def _push(self, watch: _Watch, due: float) -> None:
        seq = next(self._seq)
        watch.seq = seq
        self._queued[seq] = watch
        heapq.heappush(self._heap, (due, seq))
        if due < self._sleep_until and self._idle_workers:
            self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
            self._sleep_until = -math.inf
            if self._idle is not None:
                self._idle.clear()

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

    def _limit_for(self, slowdown: float) -> int:
        if slowdown <= 1.0:
            return self.concurrency
        return max(1, int(self.concurrency / slowdown))

    def _take(self, now: float) -> _Watch | None:
        """Pop the next due poll if one may start now (not paused, under the limit), counting it in flight."""
        if self._in_flight >= self._limit or now < self._paused_until or self._stopping:
            return None
        heap = self._heap
        queued = self._queued
        horizon = now + _EARLY
        while heap:
            due, seq = heap[0]
            if due > horizon:
                return None
            heapq.heappop(heap)
            watch = queued.pop(seq, None)
            if watch is None or not watch.active or watch.seq != seq:
                continue  # removed while waiting
            watch.seq = -1
            if now - due > self._max_lag:
                self._max_lag = now - due
            self._in_flight += 1
            return watch
        return None

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

    async def _schedule(self) -> None:
        """Hand due polls to idle workers; otherwise sleep until the next one falls due.

        Busy workers take the next due poll themselves when they finish one, so under load the scheduler
        hardly runs: it is needed only while workers wait for the future.
        """
        clock = self._clock
        idle = self._idle_workers
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
            if now < self._paused_until:
                await self._park(self._paused_until - now)
                continue
            due = self._next_due()
            if not idle or due is None or self._in_flight >= self._limit:
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

    async def _work(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        clock = self._clock
        idle = self._idle_workers
        streak = 0
        while True:
            watch = self._take(clock.monotonic())
            if watch is None:
                streak = 0
                if self._stopping:
                    return
                waiter: asyncio.Future[_Watch | None] = loop.create_future()
                idle.append(waiter)
                heap = self._heap
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
        debug = logger.isEnabledFor(logging.DEBUG)
        started = clock.monotonic() if debug else 0.0
        worker.busy_since = self._loop_time()
        try:
            answer = await watch.client.account.get(account=watch.account, timeout=self.timeout, max_retries=0)
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
        self._polls += 1
        if not watch.active:
            return
        now = clock.monotonic()
        self._server_errors_in_a_row = 0
        if self._slowdown > 1.0:
            self._decay(now)
        balances: dict[str, Decimal] = {}
        for item in answer.balances or ():
            currency = item.currency
            amount = item.amount
            if currency is not None and amount is not None:
                # Interned: 10,000 snapshots share eight currency strings instead of holding 80,000 copies.
                balances[intern(currency)] = amount
        previous = watch.balances
        watch.observed_at = wall = clock.time()
        watch.failures = 0
        self._reschedule(watch, now)
        if debug:
            logger.debug(
                "poller: %s polled in %.1f ms (%d balances)", watch.account, (now - started) * 1000.0, len(balances)
            )
        if previous is not None and previous == balances:
            return  # unchanged (numerically): keep the stored dict, the fresh one dies young
        watch.balances = balances
        if previous is None:
            if not self.emit_initial:
                return
            previous = {}
        changes = self._diff(watch.account, previous, balances, wall)
        for change in changes:
            self._changes += 1
            if debug:
                logger.debug(
                    "poller: %s %s changed %s -> %s", change.account, change.currency, change.previous, change.new
                )
            await self._emit(change, self.on_change)

    def _diff(
        self, account: str, previous: dict[str, Decimal], current: dict[str, Decimal], wall: float
    ) -> list[BalanceChange]:
        changes: list[BalanceChange] = []
        at: datetime | None = None
        zero_is_absent = self.absent_is_zero
        for currency, amount in current.items():
            before = previous.get(currency)
            if before is None:
                if zero_is_absent and amount == _ZERO:
                    continue
            elif before == amount:
                continue
            at = at or _utc(wall)
            changes.append(BalanceChange(account, currency, before, amount, at))
        for currency, before in previous.items():
            if currency not in current:
                if zero_is_absent and before == _ZERO:
                    continue
                at = at or _utc(wall)
                changes.append(BalanceChange(account, currency, before, None, at))
        return changes

    def _reschedule(self, watch: _Watch, now: float) -> None:
        if not watch.active or self._stopping:
            return
        step = watch.interval * self._slowdown
        if self.jitter:
            step *= 1.0 + self.jitter * (2.0 * self._rng.random() - 1.0)
        self._push(watch, now + step)

    async def _failed(self, watch: _Watch, exc: BaseException) -> None:
        self._polls += 1
        self._errors += 1
        now = self._clock.monotonic()
        if isinstance(exc, RateLimitError):
            self._rate_limited += 1
            retry_after = exc.retry_after
            pause = retry_after if retry_after is not None else self.rate_limit_pause * self._slowdown
            self._backpressure(now, pause, f"429 rate limited (Retry-After {retry_after})")
            # Not the account's fault: poll it again right after the pause, failures unchanged.
            retry_in = max(0.0, self._paused_until - now) + self._rng.random() * min(watch.interval, 1.0)
        else:
            if isinstance(exc, ServerError):
                self._server_errors_in_a_row += 1
                if self._server_errors_in_a_row >= self.server_error_burst:
                    self._server_errors_in_a_row = 0
                    retry_after = exc.retry_after
                    pause = retry_after if retry_after is not None else self.server_error_pause * self._slowdown
                    self._backpressure(now, pause, f"{self.server_error_burst} server errors in a row")
            watch.failures += 1
            backoff = min(self.max_backoff, watch.interval * 2.0**watch.failures)
            retry_in = backoff * (1.0 - self.jitter * self._rng.random())
        if not watch.active:
            return
        if not self._stopping:
            self._push(watch, now + retry_in)
        event = PollError(watch.account, exc, watch.failures, retry_in, _utc(self._clock.time()))
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "poller: %s failed (%s: %s), failure %d, next poll in %.1f s",
                watch.account,
                type(exc).__name__,
                exc,
                watch.failures,
                retry_in,
            )
        await self._emit(event, self.on_error)

    def _decay(self, now: float) -> None:
        elapsed = now - self._slowdown_at
        before = self._slowdown
        if elapsed <= 0 or before <= 1.0:
            return
        if self.recovery_half_life <= 0:
            self._slowdown = 1.0
        else:
            self._slowdown = max(1.0, before * 0.5 ** (elapsed / self.recovery_half_life))
        self._slowdown_at = now
        if self._slowdown == 1.0:
            logger.info("poller: backpressure over, back to full speed")
        limit = self._limit_for(self._slowdown)
        if limit > self._limit:
            self._limit = limit
            if self._idle_workers:
                self._wake()  # more polls may run at once now

    def _backpressure(self, now: float, pause: float, reason: str) -> None:
        pause = min(max(0.0, pause), self.max_pause)
        if now < self._paused_until:
            # Polls that were in flight when the pause began report the same episode: no second doubling.
            self._paused_until = max(self._paused_until, now + pause)
            return
        self._decay(now)
        self._slowdown = min(self.max_slowdown, self._slowdown * 2.0)
        self._limit = self._limit_for(self._slowdown)
        self._slowdown_at = now
        self._backpressure_events += 1
        self._paused_until = now + pause
        logger.info(
            "poller: %s: pausing %.1f s, slowdown %.1fx (concurrency %d, intervals x%.1f)",
            reason,
            pause,
            self._slowdown,
            self._limit,
            self._slowdown,
        )
        self._wake()

    async def _emit(self, event: PollerEvent, callback: Callable[[Any], Awaitable[object] | object] | None) -> None:
        for stream in self._streams:
            stream._offer(event)
        if callback is None:
            return
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self._callback_errors += 1
            logger.exception("poller: %s callback failed for %r", type(event).__name__, event)

    def __repr__(self) -> str:
        state = "running" if self.running else ("stopped" if self._started else "not started")
        return (
            f"<BalancePoller {state}: {len(self._watches)} account(s), concurrency {self.concurrency}, "
            f"interval {self.interval:g} s>"
        )
