"""Is the object found under an idempotency key the one this call asked for?

A keyed create that meets "duplicate key" fetches the object its key created. That object is returned only
when it matches the request: the same key may have been used before for another payout (a reused key, a bug in
the caller's key scheme), and returning that payout as this call's result would report money that was never
sent as sent. Every field the create sent that the object echoes is compared:

* numbers as exact ``Decimal`` values (``5`` matches ``5.00``, never ``5.001``);
* currencies, addresses, networks and enum-like constants case-insensitively (the API normalises them);
* date-times as instants, a date against a date-time by its day;
* lists of objects (a mass payout's recipients) item by item and in order; lists of plain values (event types)
  as sets of values;
* fields the object does not echo, or echoes as ``null``, are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["mismatches"]

_CASELESS_FIELD = re.compile(r"currency|address|network|blockchain|coin|chain", re.IGNORECASE)
_CONSTANT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def mismatches(sent: Any, found: Any) -> list[str]:
    """Wire paths (``amount``, ``withdrawals[1].depositAddress``) where ``found`` contradicts ``sent``.

    >>> mismatches({"amount": Decimal("5"), "currency": "btc"}, {"amount": Decimal("5.00"), "currency": "BTC"})
    []
    """
    echoed = found.to_dict() if callable(getattr(found, "to_dict", None)) else found
    out: list[str] = []
    _compare(sent, echoed, "", out)
    return out


def _compare(sent: Any, echoed: Any, path: str, out: list[str]) -> None:
    if sent is None or echoed is None:
        return
    if isinstance(sent, Mapping):
        if not isinstance(echoed, Mapping):
            out.append(path or "(object)")
            return
        for key, value in sent.items():
            if isinstance(key, str) and key in echoed:
                _compare(value, echoed[key], f"{path}.{key}" if path else key, out)
    elif isinstance(sent, (list, tuple)):
        if not isinstance(echoed, (list, tuple)) or len(sent) != len(echoed):
            out.append(path)
        elif all(_is_scalar(item) for item in sent) and all(_is_scalar(item) for item in echoed):
            remaining = list(echoed)
            for item in sent:
                match = next((i for i, other in enumerate(remaining) if _same(item, other, path)), None)
                if match is None:
                    out.append(path)
                    return
                del remaining[match]
        else:
            for index, (item, other) in enumerate(zip(sent, echoed, strict=True)):
                _compare(item, other, f"{path}[{index}]", out)
    elif not _same(sent, echoed, path):
        out.append(path)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def _same(sent: Any, echoed: Any, path: str) -> bool:
    if sent == echoed and type(sent) is type(echoed):
        return True
    if isinstance(sent, bool) or isinstance(echoed, bool):
        return str(sent).lower() == str(echoed).lower()
    number_a, number_b = _number(sent), _number(echoed)
    if number_a is not None and number_b is not None:
        return number_a == number_b
    if not isinstance(sent, str) or not isinstance(echoed, str):
        return str(sent) == str(echoed)
    if sent == echoed:
        return True
    field = path.rsplit(".", 1)[-1]
    if (_CASELESS_FIELD.search(field) or _CONSTANT.fullmatch(echoed)) and sent.casefold() == echoed.casefold():
        return True
    when_a, when_b = _instant(sent), _instant(echoed)
    if when_a is not None and when_b is not None:
        if isinstance(when_a, datetime) and isinstance(when_b, datetime):
            return when_a == when_b
        return _day(when_a) == _day(when_b)
    return False


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def _instant(text: str) -> datetime | date | None:
    value = text.strip()
    if len(value) < 10 or not value[:4].isdigit():
        return None
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
