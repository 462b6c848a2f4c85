"""Exact JSON for money: numbers in, :class:`~decimal.Decimal` out, and back again.

Why not ``json.dumps``: the stdlib cannot emit a ``Decimal`` as a bare JSON number, and a float on the way
would lose digits (``0.1 + 0.2``). Calypso sends and expects amounts as bare numbers, so this module writes
them itself, in plain positional notation (never an exponent), and refuses floats outright so that no float
can sneak into a signed body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads"]

JSONDecodeError = json.JSONDecodeError

_encode_str = json.encoder.encode_basestring_ascii


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number {name!r}")


_strict_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
_scan_once: Callable[[str, int], tuple[Any, int]] = _strict_decoder.scan_once  # type: ignore[attr-defined]


def loads(data: bytes | str) -> Any:
    """Decode JSON, every non-integer number as an exact ``Decimal`` (``NaN``/``Infinity`` are rejected).

    >>> loads(b'{"amount": 0.123456789012345678}')["amount"]
    Decimal('0.123456789012345678')
    """
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    # The C scanner straight away: the common answer has no surrounding whitespace, and JSONDecoder.decode's two
    # whitespace matches cost a sixth of decoding a typical answer. Anything else takes the full path.
    try:
        value, end = _scan_once(data, 0)
    except StopIteration:
        return _strict_decoder.decode(data)
    if end != len(data):
        return _strict_decoder.decode(data)
    return value


_MAX_EXPONENT = 1000
"""Plain notation of ``1E+999999999`` would be a billion characters: refuse absurd exponents instead."""


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"amount must be finite, got {value}")
    if abs(value.adjusted()) > _MAX_EXPONENT:
        raise ValueError(f"amount {value} is out of any plausible range")
    return format(value, "f")


def _write(value: Any, out: list[str]) -> None:
    # The common scalar types first: this is on the hot path of every call.
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        out.append(_decimal_text(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, got {type(key).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        out.append("[")
        first = True
        for item in value:
            if not first:
                out.append(",")
            first = False
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        hint = "NaN/infinity" if not math.isfinite(value) else repr(value)
        raise TypeError(f"float value {hint} is not accepted in a request; pass decimal.Decimal (e.g. Decimal('0.1'))")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_str(value: str) -> bytes:
    """One JSON string (ASCII, escaped): :func:`dumps` of a ``str``, without its general machinery.

    >>> dumps_str('0xab"c')
    b'"0xab\\\\"c"'
    """
    return _encode_str(value).encode("ascii")


def dumps(value: Any) -> bytes:
    """Encode compact JSON (no spaces) with ``Decimal`` as plain numbers; floats raise ``TypeError``.

    >>> dumps({"amount": Decimal("1E-18")})
    b'{"amount":0.000000000000000001}'
    """
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")
