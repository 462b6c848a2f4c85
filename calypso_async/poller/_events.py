"""What a poller reports: :class:`BalanceChange` and :class:`PollError` events, snapshots and counters.

Every event carries a ``dedup_key``: the same change re-reported after a restart (delivered, but the process died
before it was stored) has the same key, so a consumer can drop the repeat; two different changes never share one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from hashlib import blake2b

import attrs

__all__ = ["AccountSnapshot", "BalanceChange", "PollError", "PollerEvent", "PollerStats"]

_ZERO = Decimal(0)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


def _amount_text(amount: Decimal | None) -> str:
    # Numerically equal amounts give one key whatever their formatting (1.0 and 1.00).
    return "-" if amount is None else format(amount.normalize(), "f")


def change_key(account: str, version: int, currency: str, previous: Decimal | None, new: Decimal | None) -> str:
    """The ``dedup_key`` of a change: the account, the snapshot version it creates, the currency and both amounts.

    >>> change_key("0xabc", 1, "BTC", None, Decimal("1.0")) == change_key("0xabc", 1, "BTC", None, Decimal("1"))
    True

    The version (how many changes of that account were stored before) tells a balance that goes A -> B -> A -> B
    apart from a repeat of the first A -> B.
    """
    text = f"{account}\x00{version}\x00{currency}\x00{_amount_text(previous)}\x00{_amount_text(new)}"
    return blake2b(text.encode(), digest_size=16).hexdigest()


def error_key(account: str, version: int, failures: int, at: float) -> str:
    """The ``dedup_key`` of a :class:`PollError`: the account, its snapshot version, failure count and time.

    >>> len(error_key("0xabc", 0, 1, 1_700_000_000.0))
    32

    Failures are not stored, so they are never reported twice; the key only tells two of them apart.
    """
    text = f"{account}\x00{version}\x00error\x00{failures}\x00{at!r}"
    return blake2b(text.encode(), digest_size=16).hexdigest()


@attrs.frozen(slots=True)
class BalanceChange:
    """One currency of one account changed between two successful polls.

    >>> BalanceChange("0xabc", "BTC", Decimal("1"), Decimal("1.5"), _utc(0)).delta
    Decimal('0.5')

    ``previous`` is ``None`` when the currency was not listed before (it appeared), ``new`` is ``None`` when it
    is no longer listed (it disappeared). ``observed_at`` is when the answer carrying ``new`` arrived (UTC).
    ``dedup_key`` is the same when this very change is reported again after a restart (at-least-once delivery).
    """

    account: str
    currency: str
    previous: Decimal | None
    new: Decimal | None
    observed_at: datetime
    dedup_key: str = ""

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
    the account's fault, it pauses the whole poller instead). An answer the poller cannot read (``balances``
    missing, not a list, an unreadable amount) is an ``InvalidResponseError`` here, and the snapshot keeps its
    last good value.
    """

    account: str
    error: BaseException
    failures: int
    retry_in: float
    observed_at: datetime
    dedup_key: str = ""


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
    stored: int = 0
    """Snapshots written to the store (baselines and delivered changes)."""
    store_errors: int = 0
    """Store writes that failed (logged; retried with the next write)."""
