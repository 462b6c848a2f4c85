"""Base classes and lenient field types shared by the generated webhook event classes.

Why separate types: webhook ``data`` is documented less consistently than API responses (``fiatAmount`` is
an object in most invoice events and a number in ``INVOICE_PAID``; arrays of ids sometimes look like single
ids), and a receiver must never reject a delivery over such a detail, because Calypso would redeliver it
for days and then block the subscription. The two marker types here carry hooks on the shared converter
that accept every documented shape; they are distinct types so that no other model's ``list[str]`` or
``Decimal`` changes behaviour.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, NewType, TypeAlias, Union, get_args, get_origin

import attrs

from .._model import Model, converter, field

__all__ = [
    "DecimalOrObject",
    "EventData",
    "StringList",
    "UnknownEventData",
]

StringList = NewType("StringList", list[str])
"""A list of strings (ids, user names); a single string or number arrives as a one-item list."""

DecimalOrObject: TypeAlias = Decimal | dict[str, Any]
"""An amount documented sometimes as a number and sometimes as an object (``fiatAmount``): a ``Decimal``
when a number or numeric string arrived, the decoded object (numbers as ``Decimal``) otherwise."""


@attrs.define(kw_only=True)
class EventData(Model):
    """Base of every event's ``data``; the generated subclasses add the documented fields.

    >>> event.data.type   # doctest: +SKIP
    'INVOICE_PAID'
    """

    EVENT_TYPE: ClassVar[str | None] = None
    """Canonical event type this class parses (``None`` for :class:`UnknownEventData`)."""
    SERVICE: ClassVar[str | None] = None
    """The group the event belongs to, as events.json names it."""
    ALIASES: ClassVar[tuple[str, ...]] = ()
    """Variant spellings of the event type that parse into this class."""
    CONFIDENCE: ClassVar[str | None] = None
    """How well the fields are documented (``source_confidence`` in events.json)."""

    type: str | None = field("type")
    """The event type repeated inside ``data`` (usually present, not always)."""

    @property
    def raw(self) -> dict[str, Any]:
        """The data in wire form (camelCase keys, unknown fields included).

        >>> event.data.raw["parentExternalId"]   # doctest: +SKIP
        3
        """
        return self.to_dict()


@attrs.define(kw_only=True)
class UnknownEventData(EventData):
    """``data`` of an event type this version does not know: every field is kept in ``extra``.

    >>> event.data.extra["someField"]   # doctest: +SKIP
    """


# ------------------------------------------------------------------------------ converter hooks


def _structure_string_list(value: Any, _: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, (int, Decimal)) and not isinstance(item, bool):
            out.append(str(item))
        else:
            raise TypeError(f"expected strings, got {type(item).__name__}")
    return out


def _structure_decimal_or_object(value: Any, _: Any) -> Decimal | dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    result: Decimal = converter.structure(value, Decimal)
    return result


_DECIMAL_OR_OBJECT_ARGS = frozenset(get_args(DecimalOrObject))


def _is_decimal_or_object(tp: Any) -> bool:
    # ``DecimalOrObject`` or ``DecimalOrObject | None``, whichever union form the annotation resolved to.
    if get_origin(tp) not in (Union, types.UnionType):
        return False
    return frozenset(arg for arg in get_args(tp) if arg is not type(None)) == _DECIMAL_OR_OBJECT_ARGS


_event_data_unstructure = converter.get_unstructure_hook(EventData)


def _unstructure_event_data(obj: EventData) -> Any:
    # A field typed ``EventData`` holds a subclass: unstructure by the runtime class, not the declared one.
    if type(obj) is EventData:
        return _event_data_unstructure(obj)
    return converter.unstructure(obj, unstructure_as=type(obj))


converter.register_structure_hook_func(lambda t: t is StringList, _structure_string_list)
converter.register_structure_hook_func(_is_decimal_or_object, _structure_decimal_or_object)
converter.register_unstructure_hook_func(lambda t: t is EventData, _unstructure_event_data)
