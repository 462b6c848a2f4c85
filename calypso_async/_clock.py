"""The client's idea of the server's clock.

Every signed body carries ``timestamp`` (Unix ms), and the server rejects anything more than 3 minutes
away from its own clock (errorCode 011). Machines drift, VMs resume from suspend and containers start with
wrong clocks, so the client estimates server time instead of trusting ``time.time()``:

* Every response's ``Date`` header (1-second resolution) says the server time lay in
  ``[Date, Date + 1 s)`` at some moment between sending and receiving. If the current estimate falls
  outside that interval (widened by half the round trip), it is moved to the nearest edge: the smallest
  correction consistent with the answer. Inside it, nothing changes, so a right clock is left alone and a
  corrected one does not jitter.
* The estimate is anchored to ``time.monotonic()``: once synchronised, a step of the local wall clock
  (NTP jump, DST mistake, manual change) does not move it.
* A timestamp rejection re-anchors unconditionally from that response and the call is retried once.

One :class:`ServerClock` is shared by every request of a client; updates are single attribute assignments,
safe under concurrent tasks and threads.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import math
import time
from collections.abc import Callable, Mapping

__all__ = ["WINDOW_MS", "ServerClock", "parse_http_date", "parse_retry_after"]

logger = logging.getLogger("calypso")

WINDOW_MS = 180_000
"""The server's acceptance window around its own clock, either side (README: Timestamp window)."""

WARN_OFFSET_MS = 60_000
"""Offsets beyond this are logged as a warning: a third of the window is gone before any network delay."""

_DATE_RESOLUTION_MS = 1000.0


@functools.lru_cache(maxsize=16)  # the header changes once a second; parsing it costs more than signing
def parse_http_date(value: str | None) -> float | None:
    """Parse an RFC 7231 ``Date`` header into Unix milliseconds, or None when absent or malformed."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None or parsed.tzinfo is None:
            return None
        return parsed.timestamp() * 1000.0
    except (TypeError, ValueError, IndexError, OverflowError):  # a huge year overflows a C long
        return None


MAX_RETRY_AFTER_S = 86_400.0
"""A ``Retry-After`` beyond a day is not a hint anyone means: it is ignored (the default backoff applies)."""


def _seconds(text: str, scale: float) -> float | None:
    try:
        seconds = float(text) / scale
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds < 0.0 or seconds > MAX_RETRY_AFTER_S:
        return None
    return seconds


def parse_retry_after(headers: Mapping[str, str], clock: ServerClock | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), else None.

    A date is measured against the server's clock, since the server wrote it by its own: the same answer's
    ``Date`` header when it has one, else ``clock``'s estimate. Malformed, negative, non-finite or absurdly large
    values are ignored, never an error.

    >>> parse_retry_after({"Retry-After": "7"})
    7.0
    """
    value = headers.get("retry-after-ms")
    if value:
        seconds = _seconds(value.strip(), 1000.0)
        if seconds is not None:
            return seconds
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value[:1].isdigit() or value[:1] in "+-.":
        return _seconds(value, 1.0)
    when_ms = parse_http_date(value)
    if when_ms is None:
        return None
    now_ms = parse_http_date(headers.get("Date"))
    if now_ms is None:
        now_ms = clock.now_ms() if clock is not None else time.time() * 1000.0
    seconds = max(0.0, (when_ms - now_ms) / 1000.0)
    return seconds if seconds <= MAX_RETRY_AFTER_S else None


class ServerClock:
    """Estimates the server clock from response ``Date`` headers.

    >>> clock = ServerClock(); ts = clock.now_ms()  # integer Unix ms to sign with
    """

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        # (monotonic seconds, server ms at that moment); None until the first Date header.
        self._anchor: tuple[float, float] | None = None
        self._warned = False

    def monotonic(self) -> float:
        return self._monotonic()

    def now_ms(self) -> int:
        """Best estimate of the server's current Unix time in milliseconds."""
        anchor = self._anchor
        if anchor is None:
            return int(self._wall() * 1000.0)
        mono_at, server_ms = anchor
        return int(server_ms + (self._monotonic() - mono_at) * 1000.0)

    @property
    def offset_ms(self) -> float:
        """Estimated server minus local wall clock, in milliseconds (0 before the first sync)."""
        if self._anchor is None:
            return 0.0
        return self.now_ms() - self._wall() * 1000.0

    @property
    def synchronized(self) -> bool:
        return self._anchor is not None

    def observe(self, date_header: str | None, sent_mono: float, received_mono: float, *, force: bool = False) -> bool:
        """Learn from one response; return True when the estimate moved.

        ``sent_mono``/``received_mono`` are monotonic seconds around the exchange. ``force`` re-anchors even
        when the current estimate is plausible (used after a timestamp rejection).
        """
        date_ms = parse_http_date(date_header)
        if date_ms is None:
            return False
        half_rtt_ms = max(0.0, received_mono - sent_mono) * 500.0
        mid_mono = (sent_mono + received_mono) / 2.0
        low = date_ms - half_rtt_ms
        high = date_ms + _DATE_RESOLUTION_MS + half_rtt_ms
        anchor = self._anchor
        if anchor is not None:
            estimate = anchor[1] + (mid_mono - anchor[0]) * 1000.0
        else:
            estimate = (self._wall() - (self._monotonic() - mid_mono)) * 1000.0
        if force:
            corrected = date_ms + _DATE_RESOLUTION_MS / 2.0
        else:
            # The smallest correction consistent with this answer: a right clock is left alone.
            corrected = min(max(estimate, low), high)
        self._anchor = (mid_mono, corrected)
        moved = abs(corrected - estimate) >= 1.0
        if moved:
            self._check_offset()
        return moved

    def reset(self) -> None:
        """Forget what was learnt (the next responses teach it again)."""
        self._anchor = None
        self._warned = False

    def describe_offset(self) -> str:
        """A sentence for error messages: how far the local clock is from the server's."""
        offset_s = self.offset_ms / 1000.0
        if not self.synchronized:
            return "the server's clock has not been measured yet (no Date header seen)"
        direction = "behind" if offset_s > 0 else "ahead of"
        return (
            f"the local clock is {abs(offset_s):.1f} s {direction} the server's (the window is ±{WINDOW_MS // 1000} s)"
        )

    def _check_offset(self) -> None:
        offset = self.offset_ms
        if abs(offset) >= WARN_OFFSET_MS:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "%s; calypso corrects for it, but fix the machine's time synchronisation",
                    self.describe_offset(),
                )
        else:
            self._warned = False
