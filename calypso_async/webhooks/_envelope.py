"""The delivery envelope (:class:`WebhookEvent`), its parsing, and the de-duplication key.

Why parse by hand around the converter: the class of ``data`` depends on the envelope's ``eventType`` (with
its aliases, and ``data.type`` when ``eventType`` is missing), and a type this version does not know must
still parse — into :class:`UnknownEventData` — because an exception would make the receiver answer non-200
and Calypso would redeliver it for days, then block the subscription.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .._errors import WebhookPayloadError
from .._model import Model, converter, field
from ..models._enums import WebhookEventType, WebhookLevel, WebhookServiceType
from ._events import EVENT_ALIASES, EVENT_CLASSES
from ._types import EventData, UnknownEventData

__all__ = ["WebhookEvent", "canonical_event_type", "dedup_key", "event_class_for", "parse_event"]


@attrs.define(kw_only=True)
class WebhookEvent(Model):
    """One delivery: the envelope fields and the typed ``data``.

    ``id`` is kept as a string (it arrives as a number), like every id in calypso. ``event_type`` is the
    spelling that was delivered; :attr:`type` is the canonical name (aliases resolved).

    >>> event = construct_event(body, request.headers, secret_key)   # doctest: +SKIP
    >>> event.type, event.data.amount                                # doctest: +SKIP
    ('INVOICE_PAID', Decimal('0.01'))
    """

    request_id: str | None = field("requestId")
    """The subscription that produced the delivery (its client-chosen ``requestId``)."""
    id: str | None = field("id")
    """Event id; with ``request_id`` it identifies the delivery (see :func:`dedup_key`)."""
    created_date: datetime | None = field("createdDate")
    """When the event happened; delivered without a zone and read as UTC."""
    level: WebhookLevel | None = field("level")
    service: WebhookServiceType | None = field("service")
    """The event group (``INVOICE``, ``PAYOUT``, ...)."""
    event_type: WebhookEventType | None = field("eventType")
    """The event type as delivered (an alias stays an alias here; see :attr:`type`)."""
    data: EventData = attrs.field(factory=UnknownEventData, metadata={"wire": "data"})
    """The event's fields: an instance of the generated class for the type (``InvoicePaidData``, ...),
    :class:`UnknownEventData` for a type this version does not know."""

    @property
    def type(self) -> str | None:
        """The canonical event type: ``eventType`` (or ``data.type`` when absent) with aliases resolved.

        >>> event.type   # doctest: +SKIP
        'INVOICE_PENDING_COMPLIANCE'
        """
        name = self.event_type if self.event_type is not None else self.data.type
        return None if name is None else canonical_event_type(name)

    @property
    def is_known(self) -> bool:
        """False when the event type is not in this version's catalogue (``data`` is ``UnknownEventData``)."""
        return not isinstance(self.data, UnknownEventData)


def canonical_event_type(name: str) -> str:
    """Resolve a variant spelling to the canonical event type; other names are returned unchanged.

    >>> canonical_event_type("INVOICE_COMPLIANCE_CHECK")
    'INVOICE_PENDING_COMPLIANCE'
    """
    return EVENT_ALIASES.get(str(name), str(name))


def event_class_for(name: str | None) -> type[EventData]:
    """The ``data`` class for an event type (canonical or alias); :class:`UnknownEventData` if unknown.

    >>> event_class_for("INVOICE_PAID").__name__
    'InvoicePaidData'
    """
    if name is None:
        return UnknownEventData
    return EVENT_CLASSES.get(str(name), UnknownEventData)


_TEXT_FIELDS: dict[str, tuple[str, type[str]]] = {
    "requestId": ("request_id", str),
    "level": ("level", WebhookLevel),
    "service": ("service", WebhookServiceType),
    "eventType": ("event_type", WebhookEventType),
}


def parse_event(payload: Any) -> WebhookEvent:
    """Build a :class:`WebhookEvent` from a decoded envelope (numbers already ``Decimal``; see ``_json.loads``).

    Lenient about every field's shape (an unexpected value is kept in ``extra``), strict about the envelope
    itself: raises :class:`~calypso_async.WebhookPayloadError` unless the body is a JSON object with an event
    ``id`` (integer or string), an event type (``eventType``, or ``data.type``) and, when present, an object
    as ``data``.

    >>> parse_event({"id": 1, "eventType": "INVOICE_PAID", "data": {"amount": Decimal("1")}}).data.amount
    Decimal('1')
    """
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError(f"webhook body must be a JSON object, got {_kind(payload)}")
    # The envelope is read field by field (not through the converter) so that its few rules are exact:
    # text fields must be strings, the id an integer or a string, anything else stays in ``extra``.
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    raw_data: Any = None
    for key, value in payload.items():
        if key == "data":
            raw_data = value
        elif value is None:
            continue
        elif key == "id":
            if isinstance(value, int) and not isinstance(value, bool):
                kwargs["id"] = str(value)
            elif isinstance(value, str) and value.strip():
                kwargs["id"] = value
            else:
                extra[key] = value
        elif key in _TEXT_FIELDS:
            attribute, cls = _TEXT_FIELDS[key]
            if isinstance(value, str):
                kwargs[attribute] = cls(value)
            else:
                extra[key] = value
        elif key == "createdDate":
            try:
                kwargs["created_date"] = converter.structure(value, datetime)
            except (ValueError, TypeError, ArithmeticError, OSError):
                extra[key] = value
        else:
            extra[key] = value
    if raw_data is not None and not isinstance(raw_data, Mapping):
        raise WebhookPayloadError(f"webhook 'data' must be a JSON object, got {_kind(raw_data)}")
    if "id" not in kwargs:
        raise WebhookPayloadError("webhook body has no usable event 'id' (an integer or a string)")
    name: str | None = kwargs.get("event_type")
    if name is None and raw_data is not None and isinstance(raw_data.get("type"), str):
        name = raw_data["type"]
    if not name:
        raise WebhookPayloadError("webhook body names no event type ('eventType' or 'data.type')")
    data = event_class_for(name).from_dict(dict(raw_data) if raw_data is not None else {})
    return WebhookEvent(extra=extra, data=data, **kwargs)


def _structure_event(value: Any, _: Any) -> WebhookEvent:
    return parse_event(value)


converter.register_structure_hook(WebhookEvent, _structure_event)


def dedup_key(event: WebhookEvent) -> str:
    """The natural de-duplication key of a delivery: ``"<requestId>:<id>"``.

    Delivery is at least once and may be out of order: store this key with the work the event caused
    (in the same transaction) and skip an event whose key is already stored.

    >>> dedup_key(event)   # doctest: +SKIP
    'bf9348b7-2c14-46d7-868c-b597852da319:1'
    """
    return f"{event.request_id or ''}:{event.id or ''}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "a number" if isinstance(value, (int, float, Decimal)) else "a value"
