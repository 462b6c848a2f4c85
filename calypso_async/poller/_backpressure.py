"""``_Backpressure``: the poller's shared reaction to the API's distress (429s, bursts of 5xx answers).

A 429, or ``server_error_burst`` consecutive 5xx answers, pause every poll (``Retry-After`` honoured) and double
a *slowdown* factor that divides the concurrency and stretches every interval. The factor halves every
``recovery_half_life`` seconds of successful polling, so the poller recovers by itself.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from .._errors import RateLimitError, ServerError
from ._options import PollerOptions

logger = logging.getLogger("calypso.poller")


class _Backpressure:
    """Slowdown factor, shared pause and their counters; ``wake`` nudges the scheduler, ``wake_idle`` only when
    workers wait for work."""

    __slots__ = (
        "_options",
        "_wake",
        "_wake_idle",
        "concurrency",
        "events",
        "limit",
        "paused_until",
        "rate_limited",
        "server_errors_in_a_row",
        "slowdown",
        "slowdown_at",
    )

    def __init__(self, options: PollerOptions, wake: Callable[[], None], wake_idle: Callable[[], None]) -> None:
        self._options = options
        self._wake = wake
        self._wake_idle = wake_idle
        self.concurrency = options.concurrency
        self.limit = options.concurrency
        """Polls allowed in flight now: ``concurrency`` divided by the slowdown."""
        self.slowdown = 1.0
        self.slowdown_at = 0.0
        self.paused_until = -math.inf
        self.server_errors_in_a_row = 0
        self.rate_limited = 0
        self.events = 0
        """Times the slowdown was raised."""

    def _limit_for(self, slowdown: float) -> int:
        if slowdown <= 1.0:
            return self.concurrency
        return max(1, int(self.concurrency / slowdown))

    def succeeded(self, now: float) -> None:
        """A poll succeeded: the 5xx streak ends and the slowdown decays."""
        self.server_errors_in_a_row = 0
        if self.slowdown > 1.0:
            self.decay(now)

    def failed(self, exc: BaseException, now: float) -> bool:
        """A poll failed with ``exc``; True when it was rate limited (not the account's fault)."""
        if isinstance(exc, RateLimitError):
            self.rate_limited += 1
            retry_after = exc.retry_after
            pause = retry_after if retry_after is not None else self._options.rate_limit_pause * self.slowdown
            self.raise_(now, pause, f"429 rate limited (Retry-After {retry_after})")
            return True
        if isinstance(exc, ServerError):
            self.server_errors_in_a_row += 1
            burst = self._options.server_error_burst
            if self.server_errors_in_a_row >= burst:
                self.server_errors_in_a_row = 0
                retry_after = exc.retry_after
                pause = retry_after if retry_after is not None else self._options.server_error_pause * self.slowdown
                self.raise_(now, pause, f"{burst} server errors in a row")
        return False

    def decay(self, now: float) -> None:
        elapsed = now - self.slowdown_at
        before = self.slowdown
        if elapsed <= 0 or before <= 1.0:
            return
        half_life = self._options.recovery_half_life
        self.slowdown = 1.0 if half_life <= 0 else max(1.0, before * 0.5 ** (elapsed / half_life))
        self.slowdown_at = now
        if self.slowdown == 1.0:
            logger.info("poller: backpressure over, back to full speed")
        limit = self._limit_for(self.slowdown)
        if limit > self.limit:
            self.limit = limit
            self._wake_idle()  # more polls may run at once now

    def raise_(self, now: float, pause: float, reason: str) -> None:
        pause = min(max(0.0, pause), self._options.max_pause)
        if now < self.paused_until:
            # Polls that were in flight when the pause began report the same episode: no second doubling.
            self.paused_until = max(self.paused_until, now + pause)
            return
        self.decay(now)
        self.slowdown = min(self._options.max_slowdown, self.slowdown * 2.0)
        self.limit = self._limit_for(self.slowdown)
        self.slowdown_at = now
        self.events += 1
        self.paused_until = now + pause
        logger.info(
            "poller: %s: pausing %.1f s, slowdown %.1fx (concurrency %d, intervals x%.1f)",
            reason,
            pause,
            self.slowdown,
            self.limit,
            self.slowdown,
        )
        self._wake()
