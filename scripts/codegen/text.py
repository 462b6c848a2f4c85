"""Naming and docstring helpers shared by every emitter (one ``snake``, one ``wrap``, one ``docstring``)."""

from __future__ import annotations

import json
import keyword
import re
import textwrap
from collections.abc import Iterable

WIDTH = 116  # docstring wrap width (ruff line length is 120)


def snake(name: str) -> str:
    """``depositAddress`` -> ``deposit_address``; keywords and ``extra`` get a trailing underscore."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z_]", "_", text).lower()
    if keyword.iskeyword(text) or text in ("extra",):
        text += "_"
    return text


def camel(name: str) -> str:
    """``payment_widgets`` -> ``PaymentWidgets``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def const_name(value: str) -> str:
    """An enum value or operation name as a Python constant name."""
    text = re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").upper()
    if not text or text[0].isdigit():
        text = "V_" + text
    return text


def sentence(text: str) -> str:
    """Whitespace collapsed, ending with a full stop."""
    text = " ".join(text.split())
    if text and text[-1] not in ".!?:":
        text += "."
    return text


def literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def wrap(text: str, indent: int, width: int = WIDTH) -> list[str]:
    """Wrap a paragraph to fit ``width`` at ``indent`` spaces; returns lines without the indent."""
    return textwrap.wrap(text, width=width - indent, break_long_words=False, break_on_hyphens=False) or [""]


def docstring(paragraphs: Iterable[str | list[str]], indent: int) -> str:
    """A triple-quoted docstring; a ``list`` paragraph is taken verbatim (pre-formatted lines)."""
    pad = " " * indent
    lines: list[str] = []
    for paragraph in paragraphs:
        if not paragraph:
            continue
        if lines:
            lines.append("")
        if isinstance(paragraph, list):
            lines.extend(paragraph)
        else:
            lines.extend(wrap(paragraph, indent))
    lines = [line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') for line in lines]
    if lines and lines[-1].endswith('"'):
        lines[-1] = lines[-1][:-1] + '\\"'
    body = "\n".join((pad + line) if line else "" for line in lines)
    if len(lines) == 1 and len(pad) + len(lines[0]) + 6 <= 120:
        return f'{pad}"""{lines[0]}"""'
    return f'{pad}"""{body.lstrip()}\n{pad}"""'
