"""``PollerOptions``: every tuning knob of a balance poller in one frozen value, shared by the async and sync pollers.

>>> PollerOptions(interval=60, concurrency=64).interval
60.0

The pollers also take each option as a keyword argument (``BalancePoller(client, ids, interval=60)``); an options
object is handy to keep one configuration for several pollers, or to pass it through layers of code.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

__all__ = ["PollerOptions", "parse_shard"]

SHARD_ENV = "CALYPSO_POLLER_SHARD"


def parse_shard(value: object) -> tuple[int, int] | None:
    """``(index, count)`` from ``"2/8"`` or a pair; ``None`` stays ``None`` (no sharding).

    >>> parse_shard("2/8")
    (2, 8)

    Indexes count from 0 (a Kubernetes StatefulSet ordinal, a systemd instance number): ``"0/8"`` ... ``"7/8"``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        index_text, sep, count_text = value.strip().partition("/")
        try:
            pair = (int(index_text), int(count_text)) if sep else None
        except ValueError:
            pair = None
        if pair is None:
            raise ValueError(f"a shard reads 'index/count', e.g. '2/8' (got {value!r})")
    elif isinstance(value, tuple | list) and len(value) == 2 and all(type(v) is int for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"shard must be (index, count) or 'index/count', got {value!r}")
    index, count = pair
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: count must be >= 1 and 0 <= index < count")
    return pair


def shard_from_env() -> tuple[int, int] | None:
    """The shard named by ``CALYPSO_POLLER_SHARD`` (``"2/8"``), or ``None`` when it is unset or empty."""
    value = os.environ.get(SHARD_ENV, "").strip()
    if not value:
        return None
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise ValueError(f"{SHARD_ENV}: {exc}") from None


def _positive(name: str) -> Any:
    def check(_: object, attribute: attrs.Attribute[float], value: float) -> None:
        if not value > 0:
            raise ValueError(f"{name} must be > 0 seconds")

    return check


def _at_least(name: str, low: float) -> Any:
    def check(_: object, attribute: attrs.Attribute[float], value: float) -> None:
        if not value >= low:
            raise ValueError(f"{name} must be >= {low:g}")

    return check


def _jitter(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError("jitter must be in [0, 1)")


def _spread(_: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError("first_poll_spread must be >= 0")


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


@attrs.frozen(kw_only=True)
class PollerOptions:
    """How a poller paces, backs off and reports; see docs/poller.md "All options" for each one.

    >>> BalancePoller(client, ids, options=PollerOptions(interval=15, shard=(0, 4)))  # doctest: +SKIP
    """

    interval: float = attrs.field(default=30.0, converter=float, validator=_positive("interval"))
    """Seconds between polls of an account."""
    concurrency: int = attrs.field(default=32, converter=int, validator=_at_least("concurrency", 1))
    """Polls at once (workers)."""
    timeout: float = attrs.field(default=10.0, converter=float, validator=_positive("timeout"))
    """Seconds per poll; the watchdog cancels a poll after ``2 * timeout + 1``."""
    jitter: float = attrs.field(default=0.1, converter=float, validator=_jitter)
    """+- fraction of the interval, per poll."""
    first_poll_spread: float | None = attrs.field(default=None, converter=_optional_float, validator=_spread)
    """First polls are spread over this many seconds (``None``: the interval)."""
    max_backoff: float = attrs.field(default=600.0, converter=float)
    """Cap of an account's backoff."""
    emit_initial: bool = False
    """Report the first observation of an account as changes from ``None``."""
    absent_is_zero: bool = True
    """A currency missing from an answer counts as zero when comparing."""
    rate_limit_pause: float = attrs.field(default=1.0, converter=float)
    """Pause after a 429 without ``Retry-After`` (times the slowdown)."""
    server_error_burst: int = attrs.field(default=5, converter=int, validator=_at_least("server_error_burst", 1))
    """Consecutive 5xx answers that count as a burst."""
    server_error_pause: float = attrs.field(default=1.0, converter=float)
    """Pause after a burst (times the slowdown; ``Retry-After`` wins)."""
    max_pause: float = attrs.field(default=60.0, converter=float)
    """Cap of any shared pause."""
    max_slowdown: float = attrs.field(default=32.0, converter=float, validator=_at_least("max_slowdown", 1.0))
    """Cap of the shared slowdown factor."""
    recovery_half_life: float = attrs.field(default=10.0, converter=float)
    """Seconds of successful polling that halve the slowdown."""
    shard: tuple[int, int] | None = attrs.field(default=None, converter=parse_shard)
    """``(index, count)``: keep only the accounts of this shard (``None``: ``CALYPSO_POLLER_SHARD``, else all)."""

    @classmethod
    def merge(cls, options: PollerOptions | None, **given: Any) -> PollerOptions:
        """``options`` (or the defaults) with the keyword options that differ from their defaults applied over it.

        >>> PollerOptions.merge(PollerOptions(interval=5), concurrency=8).interval
        5.0
        """
        defaults = _DEFAULTS
        changed = {name: value for name, value in given.items() if value != getattr(defaults, name)}
        if options is None:
            return cls(**changed) if changed else defaults
        if not isinstance(options, PollerOptions):
            raise TypeError(f"options must be a PollerOptions, got {type(options).__name__}")
        return attrs.evolve(options, **changed) if changed else options


_DEFAULTS = PollerOptions()
