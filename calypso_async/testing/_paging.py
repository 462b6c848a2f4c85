"""Page-number paging and the reference's filter objects, shared by the two ``find_transactions`` calls.

Why here and not per handler: both find calls page the same way (``pageNumber``/``pageSize``/``sort``/
``properties`` flat in ``payload``; answer ``{result, page, size, total, totalElements}`` where ``total``
counts pages), and the SDK's auto-pager is tested against exactly this behaviour.

Choices the reference leaves open, made here: ``pageNumber`` is 0-based (Spring's convention) and defaults
to 0; ``pageSize`` defaults to 20 and may be 1..1000; ``sort`` is ``ASC`` (default) or ``DESC`` over
``properties`` (default ``createdDate``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._http import bad_request

__all__ = ["DEFAULT_PAGE_SIZE", "FIRST_PAGE", "MAX_PAGE_SIZE", "matches", "page"]

FIRST_PAGE = 0
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000


def matches(value: Any, condition: Mapping[str, Any] | None) -> bool:
    """Apply a string/enum filter object (``equals``, ``notEquals``, ``specified``, ``in``, ``notIn``,
    ``contains``, ``doesNotContain``); every key given must hold."""
    if not condition:
        return True
    text = None if value is None else str(value)
    for key, expected in condition.items():
        if expected is None:
            continue
        if key == "equals" and text != expected:
            return False
        if key == "notEquals" and text == expected:
            return False
        if key == "specified" and (text is not None) != bool(expected):
            return False
        if key == "in" and text not in list(expected):
            return False
        if key == "notIn" and text in list(expected):
            return False
        if key == "contains" and (text is None or str(expected) not in text):
            return False
        if key == "doesNotContain" and text is not None and str(expected) in text:
            return False
    return True


def page(items: Sequence[dict[str, Any]], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Sort and cut one page out of ``items`` as the payload asks."""
    number = payload.get("pageNumber")
    size = payload.get("pageSize")
    number = FIRST_PAGE if number is None else number
    size = DEFAULT_PAGE_SIZE if size is None else size
    if number < FIRST_PAGE:
        raise bad_request(f"payload.pageNumber must be >= {FIRST_PAGE} (pages are {FIRST_PAGE}-based)")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"payload.pageSize must be between 1 and {MAX_PAGE_SIZE}")
    direction = str(payload.get("sort") or "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise bad_request("payload.sort must be ASC or DESC")
    prop = str(payload.get("properties") or "createdDate")
    ordered = sorted(items, key=lambda item: _sort_key(item.get(prop)), reverse=direction == "DESC")
    start = (number - FIRST_PAGE) * size
    total_elements = len(ordered)
    return {
        "result": ordered[start : start + size],
        "page": number,
        "size": size,
        "total": (total_elements + size - 1) // size,
        "totalElements": total_elements,
    }


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
