"""The spec-driven validator: types, required fields, x-decimal exactness, oneOf, allOf, x-exactly-one-of."""

from __future__ import annotations

from typing import Any

import pytest

from calypso_async.testing._validation import RawNumber, Validator, decode_raw, load_spec, operations

V = Validator()


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _check(name: str, body: bytes) -> str | None:
    return V.check(_schema(name), decode_raw(body), "payload")


PAYOUT = "PayoutCreatePayload"


@pytest.mark.parametrize(
    "body",
    [
        b'{"depositAddress":"T1","amount":1,"currency":"TRX"}',
        b'{"depositAddress":"T1","amount":0.000000000000000001,"currency":"ETH"}',
        b'{"depositAddress":"T1","amount":12.5,"currency":"TRX","brandNew":{"x":[1]}}',
        b'{"depositAddress":"T1","amount":1,"currency":"TRX","comment":null}',
    ],
)
def test_valid_payloads(body: bytes) -> None:
    assert _check(PAYOUT, body) is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"amount":1,"currency":"TRX"}', "payload.depositAddress is required"),
        (b'{"depositAddress":"T1","amount":"1","currency":"TRX"}', "payload.amount must be a number"),
        (b'{"depositAddress":"T1","amount":true,"currency":"TRX"}', "payload.amount must be a number"),
        (b'{"depositAddress":"T1","amount":1e-8,"currency":"TRX"}', "exponent"),
        (b'{"depositAddress":"T1","amount":0.1000000000000000001,"currency":"TRX"}', "19 decimal places"),
        (b'{"depositAddress":5,"amount":1,"currency":"TRX"}', "payload.depositAddress must be a string"),
        (b"[1]", "payload must be an object"),
    ],
)
def test_invalid_payloads(body: bytes, fragment: str) -> None:
    problem = _check(PAYOUT, body)
    assert problem is not None and fragment in problem


def test_exactly_one_of() -> None:
    name = "ByIdOrIdempotencyKeyRequestDTO"
    assert _check(name, b'{"id":"1"}') is None
    assert _check(name, b'{"idempotencyKey":"k"}') is None
    assert "exactly one" in (_check(name, b"{}") or "")
    assert "exactly one" in (_check(name, b'{"id":"1","idempotencyKey":"k"}') or "")


def test_one_of_currency_code_or_object_and_arrays() -> None:
    name = "PGRatesRequestDTO"
    assert _check(name, b'{"fromCurrencies":["BTC",{"name":"ETH","scale":18}]}') is None
    assert "payload.fromCurrencies[1]" in (_check(name, b'{"fromCurrencies":["BTC",7]}') or "")
    assert "must be an array" in (_check(name, b'{"fromCurrencies":"BTC"}') or "")


def test_integers_and_booleans() -> None:
    assert "must be an integer" in (V.check({"type": "integer"}, RawNumber("1.0"), "x") or "")
    assert "must be an integer" in (V.check({"type": "integer"}, True, "x") or "")
    assert V.check({"type": "boolean"}, False, "x") is None
    assert "must be a boolean" in (V.check({"type": "boolean"}, 0, "x") or "")
    assert V.check({"description": "anything"}, {"a": 1}, "x") is None


def test_all_of_is_applied() -> None:
    schema = {"allOf": [{"type": "object", "required": ["a"]}, {"properties": {"a": {"type": "string"}}}]}
    assert "x.a is required" in (V.check(schema, {}, "x") or "")
    assert "x.a must be a string" in (V.check(schema, {"a": 1}, "x") or "")


def test_every_operation_has_a_resolvable_payload_schema() -> None:
    ops = operations()
    assert len(ops) == 55 == len({op.name for op in ops})
    assert {op.method for op in ops} == {"POST", "DELETE"}
    for op in ops:
        schema = V.payload_schema(op.request_schema)
        if op.payload == "none":
            assert schema is None, op.name
            continue
        assert schema is not None, op.name
        V.check(schema, {}, "payload")  # never raises, whatever the schema holds


def test_spec_is_the_vendored_copy() -> None:
    assert load_spec()["openapi"].startswith("3.")


def test_non_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        decode_raw(b"{nope")
    with pytest.raises(ValueError):
        decode_raw(b'{"a": NaN}')
