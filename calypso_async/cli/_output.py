"""How the CLI shows things: tables and key/value blocks for people, exact JSON for scripts, progress lines.

Why hand-rolled: the ``cli`` extra must add no dependency (no rich/tabulate), and money needs care that generic
formatters do not take: a ``Decimal`` is always shown in positional notation (``0.00000001``, never ``1E-8``)
and as a bare JSON number with every digit it had (``0.500`` stays ``0.500``), so a script piping ``--json`` into
``jq`` or another program sees exactly what Calypso sent. Amount columns are aligned on the decimal point.

Progress goes to stderr so stdout stays clean for ``--json`` and ``--csv``; on a terminal one status line is
rewritten in place, elsewhere (CI logs, pipes) each update is a line of its own.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from .. import _json

__all__ = [
    "Progress",
    "dumps_json",
    "dumps_json_line",
    "format_amount",
    "format_value",
    "render_kv",
    "render_table",
    "to_plain",
]


def format_amount(value: Decimal | int) -> str:
    """Exact positional text of an amount: ``Decimal('1E-8')`` -> ``0.00000001``; never an exponent."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return format(value, "f")
    return str(value)


def format_value(value: Any) -> str:
    """One value as table text: ``-`` for missing, amounts exact, lists comma-separated."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (Decimal, int)):
        return format_amount(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(item) for item in value) if value else "-"
    if _is_model(value):
        return dumps_json_line(value)
    if isinstance(value, Mapping):
        return dumps_json_line(value)
    return str(value).replace("\n", " ")


# ------------------------------------------------------------------------------------------------- JSON


def _is_model(value: Any) -> bool:
    """``isinstance(value, Model)`` without importing the models' converter (``calypso --help`` stays fast):
    no model can exist before ``calypso_async._model`` is loaded."""
    module = sys.modules.get("calypso_async._model")
    return module is not None and isinstance(value, module.Model)


def to_plain(value: Any) -> Any:
    """Models -> wire dicts (camelCase), datetimes -> ISO text; Decimals stay Decimals."""
    if _is_model(value):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, float):  # never from calypso itself; keep its shortest exact repr rather than failing
        return Decimal(repr(value))
    if isinstance(value, (str, int, Decimal)) or value is None:
        return value
    from .._model import unstructure

    return unstructure(value)


def _write(value: Any, level: int, indent: int, out: list[str]) -> None:
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    if isinstance(value, dict) and value:
        out.append("{\n")
        for i, (key, item) in enumerate(value.items()):
            out.append(pad + _json.dumps(str(key)).decode("utf-8") + ": ")
            _write(item, level + 1, indent, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end + "}")
    elif isinstance(value, list) and value:
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(pad)
            _write(item, level + 1, indent, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(end + "]")
    else:
        out.append(_json.dumps(value).decode("utf-8"))


def dumps_json(value: Any, *, indent: int = 2) -> str:
    """Indented JSON with every ``Decimal`` as an exact bare number (``0.000000000000000001``, ``0.500``).

    >>> dumps_json({"amount": Decimal("0.500")}, indent=0)
    '{\\n"amount": 0.500\\n}'
    """
    out: list[str] = []
    _write(to_plain(value), 0, indent, out)
    return "".join(out)


def dumps_json_line(value: Any) -> str:
    """Compact one-line JSON (for ``--watch --json`` streams: one object per line)."""
    return _json.dumps(to_plain(value)).decode("utf-8")


# ----------------------------------------------------------------------------------------------- tables


def _is_number(value: Any) -> bool:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool)


def _aligned_numbers(values: Sequence[Any]) -> list[str]:
    """Right-align a column of numbers on their decimal point (missing values stay ``-``)."""
    parts: list[tuple[str, str] | None] = []
    for value in values:
        if not _is_number(value):
            parts.append(None)
            continue
        text = format_amount(value)
        whole, dot, frac = text.partition(".")
        parts.append((whole, dot + frac))
    whole_width = max((len(p[0]) for p in parts if p is not None), default=0)
    frac_width = max((len(p[1]) for p in parts if p is not None), default=0)
    cells: list[str] = []
    for value, part in zip(values, parts, strict=True):
        if part is None:
            cells.append(format_value(value).rjust(whole_width))
        else:
            cells.append(part[0].rjust(whole_width) + part[1].ljust(frac_width))
    return cells


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Lines of a plain-text table; numeric columns are aligned on the decimal point.

    >>> render_table(["CURRENCY", "AMOUNT"], [["BTC", Decimal("1.5")], ["TRX", Decimal("746343")]])
    ['CURRENCY    AMOUNT', 'BTC            1.5', 'TRX       746343']
    """
    data = [list(row) for row in rows]
    columns: list[list[str]] = []
    numeric: list[bool] = []
    for index, _header in enumerate(headers):
        values = [row[index] if index < len(row) else None for row in data]
        is_numeric = any(_is_number(v) for v in values) and all(_is_number(v) or v is None for v in values)
        numeric.append(is_numeric)
        columns.append(_aligned_numbers(values) if is_numeric else [format_value(v) for v in values])
    widths = [
        max([len(header)] + [len(cell) for cell in column]) for header, column in zip(headers, columns, strict=True)
    ]
    lines = []
    head = [(h.rjust(w) if num else h.ljust(w)) for h, w, num in zip(headers, widths, numeric, strict=True)]
    lines.append("  ".join(head).rstrip())
    for row_index in range(len(data)):
        cells = [
            (col[row_index].rjust(w) if num else col[row_index].ljust(w))
            for col, w, num in zip(columns, widths, numeric, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_kv(pairs: Iterable[tuple[str, Any]]) -> list[str]:
    """``key   value`` lines for one object; pairs whose value is ``None`` are left out."""
    shown = [(key, value) for key, value in pairs if value is not None]
    width = max((len(key) for key, _ in shown), default=0)
    return [f"{key.ljust(width)}  {format_value(value)}" for key, value in shown]


# --------------------------------------------------------------------------------------------- progress


class Progress:
    """A status line on stderr for long operations; silent when disabled (``--quiet``).

    On a terminal the line is rewritten in place (``\\r``) and cleared by :meth:`done`; otherwise every
    :meth:`update` is a line of its own, so CI logs show how far an export got.
    """

    def __init__(self, stream: IO[str], *, enabled: bool = True, tty: bool | None = None) -> None:
        self._stream = stream
        self._enabled = enabled
        if tty is None:
            isatty = getattr(stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self._tty = tty
        self._shown = False

    def update(self, text: str) -> None:
        if not self._enabled:
            return
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
            self._shown = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def done(self, text: str | None = None) -> None:
        """End the status line; ``text`` is printed as the final line (also when not a terminal)."""
        if not self._enabled:
            return
        if self._tty and self._shown:
            self._stream.write("\r\x1b[K")
            self._shown = False
        if text is not None:
            self._stream.write(text + "\n")
        self._stream.flush()
