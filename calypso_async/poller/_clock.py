"""Where a poller gets time from: :class:`LoopClock` (real time, the default) or :class:`ManualClock` (tests).

Only the scheduler ever waits on the clock (workers never sleep), so a :class:`ManualClock` steps a poller
deterministically.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["LoopClock", "ManualClock", "PollerClock"]


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
