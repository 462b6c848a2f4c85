"""Argument checks run by the generated resource methods before anything is sent.

Every helper takes the Python argument name (for the message) and the value, and returns the value to put in
the payload (normalised where that is harmless: a ``Mapping`` becomes a ``dict``, a sequence a ``list``). A
failed check raises before :meth:`AsyncCalypso._call` is reached, so nothing goes over the wire.

Rules (see docs/ARCHITECTURE.md and the reference's "Amounts" section):

* amounts (``x-decimal``) are :class:`~decimal.Decimal` or ``int``: a ``float`` or a ``bool`` is a
  ``TypeError``; NaN, infinity and negative amounts are a ``ValueError``;
* required strings must be non-empty (``ValueError``), every string must be a ``str`` (``TypeError``);
* ``x-exactly-one-of`` fields: exactly one must be given (``ValueError`` naming all of them);
* nested objects are the model class or a plain ``dict`` in wire format (camelCase keys).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ._model import Model

__all__ = [
    "amount",
    "anything",
    "boolean",
    "code_or_model",
    "codes_or_models",
    "exactly_one_of",
    "integer",
    "key",
    "mapping",
    "merge_extra",
    "model",
    "models",
    "optional_payload",
    "page_size",
    "path_param",
    "string",
    "strings",
    "when",
]


def _missing(name: str, optional: bool) -> None:
    if not optional:
        raise TypeError(f"{name} is required (got None)")


def _type_name(value: object) -> str:
    return type(value).__name__


def string(name: str, value: Any, *, optional: bool = False) -> str | None:
    """A string; a required one must not be empty or blank."""
    if value is None:
        _missing(name, optional)
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not optional and not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def key(name: str, value: Any) -> str | None:
    """An optional key or id (``idempotency_key``): when given, a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty (leave it out to have one generated)")
    return value


def amount(name: str, value: Any, *, optional: bool = False) -> Decimal | int | None:
    """An exact amount: ``Decimal`` or ``int``, finite and not negative."""
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a Decimal or int, not bool")
    if isinstance(value, float):
        hint = repr(value) if math.isfinite(value) else "a non-finite float"
        raise TypeError(
            f"{name} must be a Decimal or int, not float ({hint}): floats lose digits; "
            f"pass decimal.Decimal('...') instead"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite amount, got {value}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
        return value
    raise TypeError(f"{name} must be a Decimal or int, not {_type_name(value)}")


def integer(name: str, value: Any, *, optional: bool = False) -> int | None:
    """A whole number (not a ``bool``)."""
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {_type_name(value)}")
    return value


def boolean(name: str, value: Any, *, optional: bool = False) -> bool | None:
    if value is None:
        _missing(name, optional)
        return None
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {_type_name(value)}")
    return value


def when(name: str, value: Any, *, optional: bool = False) -> datetime | str | None:
    """A date-time: an aware ``datetime`` (naive means UTC) or an ISO-8601 string sent as is."""
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{name} must not be empty")
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime or an ISO-8601 str, not {_type_name(value)}")
    return value


def model(name: str, value: Any, cls: type[Model], *, optional: bool = False) -> Model | dict[str, Any] | None:
    """A nested object: an instance of ``cls`` or a mapping in wire format (camelCase keys)."""
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{name} must be a {cls.__name__} or a dict, not {_type_name(value)}")


def code_or_model(name: str, value: Any, cls: type[Model], *, optional: bool = False) -> Any:
    """A code such as ``"USDT_TRX"`` (what to send), or a ``cls`` object / wire dict (older docs)."""
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{name} must not be empty")
        return value
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{name} must be a str code or a {cls.__name__}, not {_type_name(value)}")


def _sequence(name: str, value: Any, optional: bool, item: Callable[[str, Any], Any]) -> list[Any] | None:
    if value is None:
        _missing(name, optional)
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list, not {_type_name(value)}")
    return [item(f"{name}[{index}]", element) for index, element in enumerate(value)]


def strings(name: str, value: Any, *, optional: bool = False) -> list[Any] | None:
    """A list of non-empty strings (codes, enum values)."""
    return _sequence(name, value, optional, string)


def codes_or_models(name: str, value: Any, cls: type[Model], *, optional: bool = False) -> list[Any] | None:
    return _sequence(name, value, optional, lambda n, v: code_or_model(n, v, cls))


def models(name: str, value: Any, cls: type[Model], *, optional: bool = False) -> list[Any] | None:
    return _sequence(name, value, optional, lambda n, v: model(n, v, cls))


def mapping(name: str, value: Any, *, optional: bool = False) -> dict[str, Any] | None:
    if value is None:
        _missing(name, optional)
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, not {_type_name(value)}")
    return dict(value)


def anything(name: str, value: Any, *, optional: bool = False) -> Any:
    """A field whose type the reference does not give: passed through as is (must be JSON-encodable)."""
    if value is None:
        _missing(name, optional)
    return value


def exactly_one_of(**values: Any) -> None:
    """``x-exactly-one-of``: exactly one of the keyword arguments is not ``None``."""
    given = [name for name, value in values.items() if value is not None]
    if len(given) != 1:
        names = " / ".join(values)
        what = "none" if not given else "both" if len(given) == 2 else ", ".join(given)
        raise ValueError(f"pass exactly one of {names} (got {what})")


def path_param(name: str, value: Any) -> str:
    """A ``{placeholder}`` of the path: a non-empty string, percent-encoded so it stays one path segment.

    ``.`` and ``..`` are refused: percent-encoding leaves them as they are, and servers and proxies collapse
    them (``/c2f/order/../limit`` is ``/c2f/limit``), so the call would reach another endpoint.
    """
    text = string(name, value)
    assert text is not None
    if text in (".", ".."):
        raise ValueError(f"{name} cannot be {text!r}: a dot segment would change the path the call is sent to")
    return quote(text, safe="")


def merge_extra(payload: dict[str, Any], extra: Mapping[str, Any] | None, *, name: str = "extra") -> dict[str, Any]:
    """Add fields the reference does not document (wire names) to ``payload``; named arguments win on conflict."""
    if extra is None:
        return payload
    if not isinstance(extra, Mapping):
        raise TypeError(f"{name} must be a dict of wire-format fields, not {_type_name(extra)}")
    for wire in extra:
        if not isinstance(wire, str):
            raise TypeError(f"{name} keys must be str, not {_type_name(wire)}")
        if payload.get(wire) is not None:
            raise ValueError(f"{name}[{wire!r}] duplicates a named argument; pass it once")
    return {**dict(extra), **{k: v for k, v in payload.items() if v is not None}}


MAX_PAGE_SIZE = 1000
"""Upper bound on ``page_size`` for auto-paging (the reference documents no maximum)."""


def page_size(value: Any) -> int:
    """``page_size`` of an auto-paging iterator: an int from 1 to :data:`MAX_PAGE_SIZE`."""
    size = integer("page_size", value)
    assert size is not None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return size


def optional_payload(payload: dict[str, Any]) -> dict[str, Any] | None:
    """An optional payload with nothing in it is left out of the envelope altogether."""
    kept = {k: v for k, v in payload.items() if v is not None}
    return kept or None
