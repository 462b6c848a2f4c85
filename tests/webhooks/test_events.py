"""Typed events: every catalogue type parses into its class with exact amounts; aliases, unknown types and
unknown fields are kept; lenient about documented inconsistencies; dedup keys."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from calypso_async import _json
from calypso_async.webhooks import (
    EVENT_ALIASES,
    EVENT_CLASSES,
    EVENT_SERVICES,
    CustomerPurseFundsReceivedForPurseData,
    EventData,
    FiatDepositOrderCreatedData,
    InvoiceCreateInvoiceData,
    InvoicePaidData,
    InvoicePendingComplianceData,
    UnknownEventData,
    WebhookEvent,
    WebhookEventType,
    WebhookLevel,
    WebhookServiceType,
    canonical_event_type,
    construct_event,
    dedup_key,
    event_class_for,
    parse_event,
)

from .conftest import SECRET, signed_headers

SPEC = Path(__file__).resolve().parents[2] / "calypso_async" / "_spec" / "events.json"
CATALOGUE: list[dict[str, Any]] = json.loads(SPEC.read_text("utf-8"))
AMOUNT = "12345678901.123456789012345678"  # more digits than a float holds


def sample_value(wire: str, spec: str) -> Any:
    kind = spec.split(";", 1)[0].strip()
    if wire == "type":
        return None  # filled per event
    if wire == "fiatAmount":
        return {"amount": Decimal("99.99"), "currency": "USD"} if kind == "object" else Decimal("99.99")
    if kind.startswith("array"):
        return ["a-1", 2]
    if kind == "boolean":
        return True
    if wire.endswith(("Id", "Ids")):
        return 4242
    if kind == "number" or wire.lower().endswith("amount"):
        return Decimal(AMOUNT) if kind == "number" else AMOUNT  # documented-as-string amounts arrive as text
    if wire.endswith("Date"):
        return "2022-03-15T12:13:03.157015"
    return f"{wire}-value"


def sample_body(event: dict[str, Any], event_type: str | None = None) -> bytes:
    name = event_type or event["type"]
    data = {wire: sample_value(wire, spec) for wire, spec in event["payload_fields"].items()}
    data["type"] = name
    data["someNewField"] = {"nested": [1, Decimal("0.5")]}
    envelope = {
        "requestId": "bf9348b7-2c14-46d7-868c-b597852da319",
        "id": 1331293,
        "createdDate": "2022-03-15T12:13:05.909616",
        "level": "SUCCESS",
        "service": event["service"],
        "eventType": name,
        "data": data,
        "newEnvelopeField": "kept",
    }
    return _json.dumps(envelope)


@pytest.mark.parametrize("event", CATALOGUE, ids=[e["type"] for e in CATALOGUE])
def test_every_catalogue_event_parses_into_its_class(event: dict[str, Any]) -> None:
    body = sample_body(event)
    parsed = construct_event(body, signed_headers(body), SECRET)
    cls = EVENT_CLASSES[event["type"]]
    assert type(parsed.data) is cls
    assert cls.EVENT_TYPE == event["type"] and cls.SERVICE == event["service"]
    assert parsed.is_known and parsed.type == event["type"]
    assert parsed.id == "1331293" and parsed.request_id == "bf9348b7-2c14-46d7-868c-b597852da319"
    assert parsed.created_date == datetime(2022, 3, 15, 12, 13, 5, 909616, tzinfo=timezone.utc)
    assert parsed.level == WebhookLevel.SUCCESS
    assert parsed.extra == {"newEnvelopeField": "kept"}
    assert parsed.data.type == event["type"]
    assert parsed.data.extra == {"someNewField": {"nested": [1, Decimal("0.5")]}}
    # Every documented field landed on a typed attribute (none fell back into extra).
    fields = {f.metadata["wire"]: f for f in attrs.fields(cls) if "wire" in f.metadata}
    for wire in event["payload_fields"]:
        assert wire in fields, f"{cls.__name__} lacks {wire}"
        value = getattr(parsed.data, fields[wire].name)
        assert value is not None, f"{cls.__name__}.{fields[wire].name} did not parse"
        if wire.lower().endswith("amount") and wire != "fiatAmount":
            assert value == Decimal(AMOUNT) and isinstance(value, Decimal)
        elif wire.endswith(("Id", "Ids")):
            assert value == "4242" or value == ["a-1", "2"]
        elif wire.endswith("Date"):
            assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0
    # Nothing is lost on the way back.
    assert parsed.data.to_dict()["someNewField"] == {"nested": [1, Decimal("0.5")]}


@pytest.mark.parametrize("alias", sorted(EVENT_ALIASES))
def test_aliases_parse_into_the_canonical_class(alias: str) -> None:
    canonical = EVENT_ALIASES[alias]
    event = next(e for e in CATALOGUE if e["type"] == canonical)
    body = sample_body(event, alias)
    parsed = construct_event(body, signed_headers(body), SECRET)
    assert type(parsed.data) is EVENT_CLASSES[canonical]
    assert parsed.event_type == alias  # as delivered
    assert parsed.type == canonical  # resolved
    assert alias in EVENT_CLASSES[canonical].ALIASES


def test_catalogue_is_covered_exactly() -> None:
    canonical = {e["type"] for e in CATALOGUE}
    aliases = {a: e["type"] for e in CATALOGUE for a in e.get("aliases", [])}
    assert len(canonical) == 30
    assert set(EVENT_CLASSES) == canonical | set(aliases)
    assert dict(EVENT_ALIASES) == aliases
    assert dict(EVENT_SERVICES) == {e["type"]: e["service"] for e in CATALOGUE}
    # The generated API enum (calypso_async.models) agrees with the catalogue, aliases included.
    assert WebhookEventType.known_values() == canonical
    assert dict(WebhookEventType.ALIASES) == aliases
    assert len({cls for cls in EVENT_CLASSES.values()}) == 30
    assert all(issubclass(cls, EventData) for cls in EVENT_CLASSES.values())


def test_documented_examples_parse() -> None:
    first = next(e for e in CATALOGUE if e["type"] == "INVOICE_CREATE_INVOICE")["example"]
    event = parse_event(_json.loads(json.dumps(first)))
    data = event.data
    assert isinstance(data, InvoiceCreateInvoiceData)
    assert data.amount == Decimal("0.01") and data.parent_external_id == "3"
    assert data.fiatcurrency == "USD" and data.message == "Invoice example"
    assert data.created_date == datetime(2022, 3, 15, 12, 13, 3, 157015, tzinfo=timezone.utc)

    # The documented purse example has no data at all: still the right (empty) class.
    second = next(e for e in CATALOGUE if e["type"] == "CUSTOMER_PURSE_FUNDS_RECEIVED_FOR_PURSE")["example"]
    event = parse_event(_json.loads(json.dumps(second)))
    assert isinstance(event.data, CustomerPurseFundsReceivedForPurseData)
    assert event.level == WebhookLevel.INFO and event.service == WebhookServiceType.CUSTOMER_PURSE
    assert event.created_date == datetime(2025, 10, 30, 14, 8, 39, 960680, tzinfo=timezone.utc)


def test_unknown_event_type_keeps_raw_data() -> None:
    body = (
        b'{"requestId":"r","id":7,"createdDate":"2025-01-01T00:00:00.000001","level":"INFO",'
        b'"service":"SOMETHING_NEW","eventType":"FIAT_APPLIER_WITHDRAWAL_SUCCESS",'
        b'"data":{"type":"FIAT_APPLIER_WITHDRAWAL_SUCCESS","orderId":"o-1","amount":1.10}}'
    )
    event = construct_event(body, signed_headers(body), SECRET)
    assert isinstance(event.data, UnknownEventData) and not event.is_known
    assert event.type == "FIAT_APPLIER_WITHDRAWAL_SUCCESS"
    assert not event.event_type.is_known and not event.service.is_known  # type: ignore[union-attr]
    assert event.data.raw == {"type": "FIAT_APPLIER_WITHDRAWAL_SUCCESS", "orderId": "o-1", "amount": Decimal("1.10")}
    assert str(event.data.extra["amount"]) == "1.10"  # exact, trailing zero included


def test_event_type_falls_back_to_data_type() -> None:
    event = parse_event({"id": 1, "data": {"type": "INVOICE_PAID", "amount": Decimal("5")}})
    assert isinstance(event.data, InvoicePaidData) and event.type == "INVOICE_PAID" and event.event_type is None


def test_envelope_wins_over_data_type() -> None:
    event = parse_event({"id": 1, "eventType": "INVOICE_PAID", "data": {"type": "INVOICE_EXPIRED"}})
    assert isinstance(event.data, InvoicePaidData) and event.data.type == "INVOICE_EXPIRED"


@pytest.mark.parametrize(
    ("fiat", "expected"),
    [
        (Decimal("10.50"), Decimal("10.50")),
        (10, Decimal(10)),
        ("10.50", Decimal("10.50")),
        ({"amount": Decimal("1.5"), "currency": "EUR"}, {"amount": Decimal("1.5"), "currency": "EUR"}),
    ],
)
def test_fiat_amount_number_string_or_object(fiat: Any, expected: Any) -> None:
    for event_type in ("INVOICE_PAID", "INVOICE_EXPIRED"):
        event = parse_event({"id": 1, "eventType": event_type, "data": {"fiatAmount": fiat}})
        assert event.data.fiat_amount == expected  # type: ignore[attr-defined]
        assert type(event.data.fiat_amount) is type(expected)  # type: ignore[attr-defined]


def test_lenient_fields() -> None:
    event = parse_event(
        {
            "id": "abc",  # ids may be strings
            "eventType": "INVOICE_COMPLIANCE_CHECK",
            "data": {
                "parentExternalId": 3,  # number -> "3"
                "transactionId": "tx-1",  # a single id -> one-item list
                "amount": "0.000000000000000001",  # numeric string -> Decimal
                "createdDate": "2022-03-15T12:13:03Z",
                "paymentDate": 1735689600000,  # epoch milliseconds
                "fiatAmount": "lots",  # wrong shape -> kept raw in extra
            },
        }
    )
    data = event.data
    assert isinstance(data, InvoicePendingComplianceData)
    assert event.id == "abc" and data.parent_external_id == "3" and data.transaction_id == ["tx-1"]
    assert data.amount == Decimal("1E-18")
    assert data.created_date == datetime(2022, 3, 15, 12, 13, 3, tzinfo=timezone.utc)
    assert data.payment_date == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert data.fiat_amount is None and data.extra["fiatAmount"] == "lots"


def test_wrong_shapes_of_text_and_flag_fields_are_kept_raw() -> None:
    event = parse_event(
        {
            "id": 1,
            "eventType": "CUSTOMER_PURSE_EXPIRED",
            "data": {"address": ["not", "a", "string"], "customerBlocked": "false"},
        }
    )
    assert event.data.customer_blocked is False  # type: ignore[attr-defined]
    assert event.data.address is None and event.data.extra["address"] == ["not", "a", "string"]  # type: ignore[attr-defined]


def test_fiat_deposit_amounts_documented_as_strings() -> None:
    event = parse_event(
        {"id": 2, "eventType": "FIAT_APPLIER_ORDER_CREATED", "data": {"cryptoAmount": "100.25", "fiatAmount": "9000"}}
    )
    assert isinstance(event.data, FiatDepositOrderCreatedData)
    assert event.data.crypto_amount == Decimal("100.25") and event.data.fiat_amount == Decimal(9000)


def test_malformed_envelope_fields_are_kept_not_fatal() -> None:
    event = parse_event(
        {"id": 1, "eventType": "INVOICE_PAID", "createdDate": "yesterday", "level": 5, "service": {"x": 1}}
    )
    assert event.created_date is None and event.level is None and event.service is None
    assert event.extra == {"createdDate": "yesterday", "level": 5, "service": {"x": 1}}


def test_dedup_key() -> None:
    a = parse_event({"requestId": "sub-1", "id": 10, "eventType": "INVOICE_PAID"})
    b = parse_event({"requestId": "sub-1", "id": "10", "eventType": "INVOICE_PAID", "data": {"amount": 1}})
    c = parse_event({"requestId": "sub-2", "id": 10, "eventType": "INVOICE_PAID"})
    assert dedup_key(a) == dedup_key(b) == "sub-1:10"
    assert dedup_key(c) != dedup_key(a)
    assert dedup_key(parse_event({"id": 10, "eventType": "X"})) == ":10"


def test_round_trip_to_dict() -> None:
    wire = {
        "requestId": "r",
        "id": 5,
        "eventType": "INVOICE_PAID",
        "level": "SUCCESS",
        "data": {"type": "INVOICE_PAID", "amount": Decimal("0.10"), "x": 1},
    }
    event = parse_event(wire)
    out = event.to_dict()
    assert out["data"] == {"type": "INVOICE_PAID", "amount": Decimal("0.10"), "x": 1}
    assert out["id"] == "5" and out["eventType"] == "INVOICE_PAID"
    assert WebhookEvent.from_dict(wire) == event
    assert _json.dumps(out)  # encodable


def test_helpers() -> None:
    assert canonical_event_type("CUSTOMER_PURSE_PENDING_COMLIANCE") == "CUSTOMER_PURSE_PENDING_COMPLIANCE"
    assert canonical_event_type("NEW_TYPE") == "NEW_TYPE"
    assert event_class_for("INVOICE_PAID") is InvoicePaidData
    assert event_class_for("NEW_TYPE") is UnknownEventData
    assert event_class_for(None) is UnknownEventData
    assert WebhookEvent().data == UnknownEventData()
