"""Emitter: ``calypso_async/webhooks/_events.py``: one attrs class per webhook event's ``data``, with the
alias, class and group tables."""

from __future__ import annotations

from pathlib import Path

from .describe import API, EventDef
from .fmt import MARKER, ROOT
from .text import docstring, literal

OUTPUT = ROOT / "calypso_async" / "webhooks" / "_events.py"


def emit(api: API) -> dict[Path, str]:
    return {OUTPUT: render(api.events)}


def render_event(event: EventDef) -> list[str]:
    name = event.class_name
    notes: list[str] = []
    if event.aliases:
        notes.append("Also delivered as " + ", ".join(f"``{a}``" for a in event.aliases) + ".")
    if event.presumed_from:
        notes.append(f"The fields are presumed to match ``{event.presumed_from}``.")
    doc: list[str | list[str]] = [
        f"``data`` of ``{event.type}`` (group ``{event.service}``): {event.when}",
        " ".join(notes),
        [f">>> isinstance(event.data, {name})  # doctest: +SKIP"],
    ]
    aliases = "(" + "".join(f"{literal(a)}, " for a in event.aliases) + ")"
    out = ["@attrs.define(kw_only=True)", f"class {name}(EventData):", docstring(doc, 4), ""]
    out.append(f"    EVENT_TYPE: ClassVar[str | None] = {literal(event.type)}")
    out.append(f"    SERVICE: ClassVar[str | None] = {literal(event.service)}")
    out.append(f"    ALIASES: ClassVar[tuple[str, ...]] = {aliases}")
    out.append(f"    CONFIDENCE: ClassVar[str | None] = {literal(event.confidence)}")
    for f in event.fields:
        out += ["", f"    {f.name}: {f.type} | None = field({literal(f.wire)})", docstring([f.doc], 4)]
    return [*out, "", ""]


def render(events: list[EventDef]) -> str:
    body: list[str] = []
    for event in events:
        body += render_event(event)
    body += ["EVENT_CLASSES: Mapping[str, type[EventData]] = MappingProxyType(", "    {"]
    body += [f"        {literal(e.type)}: {e.class_name}," for e in events]
    body += [f"        {literal(a)}: {e.class_name}," for e in events for a in e.aliases]
    body += ["    }", ")", '"""Event type (canonical or alias) -> its ``data`` class."""', ""]
    body += ["EVENT_ALIASES: Mapping[str, str] = MappingProxyType(", "    {"]
    body += [f"        {literal(a)}: {literal(e.type)}," for e in events for a in e.aliases]
    body += ["    }", ")", '"""Variant spelling -> canonical event type."""', ""]
    body += ["EVENT_SERVICES: Mapping[str, str] = MappingProxyType(", "    {"]
    body += [f"        {literal(e.type)}: {literal(e.service)}," for e in events]
    body += ["    }", ")", '"""Canonical event type -> the group (``service``) it belongs to."""']
    uses_any = any("Any" in f.type for e in events for f in e.fields)
    exported = sorted([*(e.class_name for e in events), "EVENT_ALIASES", "EVENT_CLASSES", "EVENT_SERVICES"])
    head = [
        MARKER,
        '"""Typed ``data`` of every webhook event in the reference\'s catalogue (events.json), with aliases.',
        "",
        "Every field is optional, unknown fields land in ``extra``, and a field of an unexpected shape is kept raw in",
        "``extra`` instead of failing the delivery.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from datetime import datetime",
        "from decimal import Decimal",
        "from types import MappingProxyType",
        f"from typing import {'Any, ' if uses_any else ''}ClassVar",
        "",
        "import attrs",
        "",
        "from .._model import field",
        "from ._types import DecimalOrObject, EventData, StringList",
        "",
        f"__all__ = {exported!r}",
        "",
        "",
    ]
    return "\n".join([*head, *body]) + "\n"
