"""Fuzzed deliveries: construct_event raises nothing but CalypsoError subclasses, whatever the body.

Derandomized (a fixed example sequence, no example database) so the suite is deterministic.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calypso_async import CalypsoError
from calypso_async.webhooks import EVENT_CLASSES, WebhookEvent, construct_event, dedup_key

from .conftest import BODY, SECRET, sign

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2022-03-15T12:13:05.909616", "1E+999999", "-0", "9" * 40, "", "  ", "2022-13-45T99:99"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=5),
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "amount", "fiatAmount", "transactionId", "transactionIds", "createdDate", "paymentDate", "parentExternalId",
        "customerBlocked", "currency", "type", "approved", "cryptoAmount", "serviceFee", "x",
    ]
)  # fmt: skip
data_objects = st.dictionaries(field_names, json_values, max_size=8)
event_types = st.one_of(st.sampled_from(sorted(EVENT_CLASSES)), st.text(max_size=20), json_values)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "requestId": json_values,
        "id": st.one_of(st.integers(), st.text(max_size=10), json_values),
        "createdDate": json_values,
        "level": json_values,
        "service": json_values,
        "eventType": event_types,
        "data": st.one_of(data_objects, json_values),
        "extraField": json_values,
    },
)


def check(body: bytes, headers: Any) -> None:
    try:
        event = construct_event(body, headers, SECRET)
    except CalypsoError:
        return
    assert isinstance(event, WebhookEvent)
    assert isinstance(dedup_key(event), str)
    event.to_dict()
    repr(event)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_signed_bytes(body: bytes) -> None:
    check(body, {"Sign": sign(body)})


@FUZZ
@given(st.binary(max_size=200), st.text(max_size=140))
def test_arbitrary_bytes_and_signature_header(body: bytes, header: str) -> None:
    check(body, {"Sign": header})


@FUZZ
@given(envelopes)
def test_envelope_shaped_signed_bodies(envelope: dict[str, Any]) -> None:
    body = json.dumps(envelope).encode()
    check(body, {"Sign": sign(body)})


@FUZZ
@given(st.sampled_from(sorted(EVENT_CLASSES)), data_objects, st.integers(min_value=0, max_value=10**20))
def test_every_event_class_with_fuzzed_data(event_type: str, data: dict[str, Any], event_id: int) -> None:
    body = json.dumps({"requestId": "r", "id": event_id, "eventType": event_type, "data": data}).encode()
    try:
        event = construct_event(body, {"Sign": sign(body)}, SECRET)
    except CalypsoError:
        raise AssertionError("a well-formed envelope must parse whatever its data holds") from None
    assert type(event.data) is EVENT_CLASSES[event_type]
    for value in (getattr(event.data, name, None) for name in ("amount", "service_fee", "crypto_amount")):
        assert value is None or isinstance(value, Decimal)


@FUZZ
@given(st.integers(min_value=0, max_value=len(BODY) - 1), st.integers(min_value=1, max_value=255))
def test_mutated_known_body(index: int, xor: int) -> None:
    body = BODY[:index] + bytes([BODY[index] ^ xor]) + BODY[index + 1 :]
    check(body, {"Sign": sign(body)})
    try:
        construct_event(body, {"Sign": sign(BODY)}, SECRET)
    except CalypsoError:
        pass
    else:
        raise AssertionError("a changed body verified with the original signature")


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5))
def test_arbitrary_header_lists(headers: list[tuple[str, str]]) -> None:
    check(BODY, headers)
    check(BODY, dict(headers))
