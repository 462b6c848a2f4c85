"""One ISO-8601 date-time parser, identical on every supported Python.

Why not ``datetime.fromisoformat``: before 3.11 it accepts only 0, 3 or 6 fractional digits and no ``Z``, so a
webhook's ``2025-03-01T10:00:00.12345Z`` would parse on 3.12 and fail on 3.10. This parser accepts what the API
and its webhooks send on every version: a date, optionally ``T`` (or a space) and a time with 1-9 fractional
digits (truncated to microseconds), and ``Z`` or a ``±HH:MM``/``±HHMM``/``±HH`` offset; naive means UTC.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

__all__ = ["parse_iso_datetime"]

_fromisoformat: Callable[[str], datetime] | None = datetime.fromisoformat if sys.version_info >= (3, 11) else None

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


def _plain_offset(match: re.Match[str]) -> bool:
    """No UTC offset, or one within ±23:59 (``fromisoformat`` reads ``+00:60`` as an hour)."""
    sign, hours, minutes = match.group(9, 10, 11)
    return sign is None or (int(hours) <= 23 and int(minutes or 0) <= 59)


def parse_iso_datetime(text: str) -> datetime:
    """An aware ``datetime`` from ISO-8601 text; ``ValueError`` when it is not one.

    >>> parse_iso_datetime("2025-03-01T10:00:00.12345Z").isoformat()
    '2025-03-01T10:00:00.123450+00:00'
    """
    stripped = text.strip()
    match = _ISO.fullmatch(stripped)
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time: {text[:64]!r}")
    if _fromisoformat is not None and match.group(4) is not None and match.group(8) != "z" and _plain_offset(match):
        # 3.11+: the C parser reads a date and time of this grammar (not a lowercase "z", not a bare date, an offset
        # in range) the same way, ten times faster; what it refuses (30 February) takes the path below.
        try:
            parsed = _fromisoformat(stripped)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_h, off_m = match.groups()
    tz = timezone.utc
    if sign is not None:
        hours, minutes = int(off_h), int(off_m or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"UTC offset out of range: {text[:64]!r}")
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    # datetime() itself checks the calendar (month 13, 30 February, hour 24) and raises ValueError.
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=tz
    )
