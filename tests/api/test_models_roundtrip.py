"""Every model, with wire data generated from the spec: structure then unstructure gives the wire data back.

Unknown fields and unknown enum values are kept; Decimal amounts are exact (compared as the JSON bytes they
encode to); date-times are normalised to timezone-aware ISO-8601 (naive means UTC, ``Z`` means ``+00:00``).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calypso_async import OpenEnum, _json, models
from calypso_async._model import Model

from . import _spec

Pair = tuple[Any, Any]  # (wire data sent by the server, wire data expected back from to_dict())

MODEL_NAMES = sorted(name for name in _spec.SCHEMAS if isinstance(getattr(models, name, None), type))
MODEL_NAMES = [n for n in MODEL_NAMES if issubclass(getattr(models, n), Model)]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1))


def iso_pairs() -> st.SearchStrategy[Pair]:
    aware = st.builds(lambda dt, tz: dt.replace(tzinfo=tz), moments, offsets).map(
        lambda d: (d.isoformat(), d.isoformat())
    )
    zulu = moments.map(lambda d: d.replace(tzinfo=timezone.utc)).map(
        lambda d: (d.isoformat().replace("+00:00", "Z"), d.isoformat())
    )
    naive = moments.map(lambda d: (d.isoformat(), d.replace(tzinfo=timezone.utc).isoformat()))
    return aware | zulu | naive


def same(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Pair]:
    return strategy.map(lambda v: (v, v))


def pairs(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Pair]:
    name = _spec.ref(schema)
    if name is not None:
        return pairs(_spec.SCHEMAS[name], depth)
    if "oneOf" in schema:
        return st.one_of([pairs(option, depth) for option in schema["oneOf"]])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("x-known-values"):
            known = schema["x-known-values"] + schema.get("x-presumed-values", [])
            return same(st.sampled_from(known) | st.text(min_size=1, max_size=12))  # unknown values kept too
        if schema.get("format") == "date-time":
            return iso_pairs()
        return same(st.text(max_size=12))
    if kind == "number":
        return same(
            st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15)
            | st.integers(-(10**20), 10**20)
            | st.sampled_from(
                [Decimal("0.000000000000000001"), Decimal("12345678901234567890.123456789"), Decimal("1.10")]
            )
        )
    if kind == "integer":
        return same(st.integers(-(2**63), 2**63 - 1))
    if kind == "boolean":
        return same(st.booleans())
    if kind == "array":
        if depth > 3:
            return same(st.just([]))
        return st.lists(pairs(schema.get("items", {}), depth + 1), max_size=3).map(
            lambda items: ([a for a, _ in items], [b for _, b in items])
        )
    if "properties" in schema:
        return model_pairs(schema, depth)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return st.dictionaries(st.text(max_size=6), pairs(extra, depth + 1), max_size=3).map(
                lambda d: ({k: a for k, (a, _) in d.items()}, {k: b for k, (_, b) in d.items()})
            )
        return same(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
    return same(json_values)


def model_pairs(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Pair]:
    props: dict[str, Any] = schema.get("properties", {})
    if depth > 4:
        return same(st.just({}))
    known = st.fixed_dictionaries({}, optional={wire: pairs(prop, depth + 1) for wire, prop in props.items()})
    unknown = st.dictionaries(st.text(max_size=6).map(lambda k: "zzUnknown" + k), json_values, max_size=2)

    def combine(parts: tuple[dict[str, Pair], dict[str, Any]]) -> Pair:
        fields, extra = parts
        sent = {k: a for k, (a, _) in fields.items()} | extra
        expected = {k: b for k, (_, b) in fields.items() if b is not None} | extra  # null means absent
        return sent, expected

    return st.tuples(known, unknown).map(combine)


@functools.cache
def strategy_for(name: str) -> st.SearchStrategy[Pair]:
    return model_pairs(_spec.SCHEMAS[name], 0)


def canonical(value: Any) -> bytes:
    def sort(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: sort(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return [sort(i) for i in v]
        return v

    return _json.dumps(sort(value))


def test_every_model_schema_has_a_model() -> None:
    assert len(MODEL_NAMES) >= 110


@pytest.mark.parametrize("name", MODEL_NAMES)
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_roundtrip(name: str, data: st.DataObject) -> None:
    cls: type[Model] = getattr(models, name)
    sent, expected = data.draw(strategy_for(name))
    wire = _json.loads(_json.dumps(sent))  # as the client decodes it: numbers as Decimal / int
    model = cls.from_dict(wire)
    assert isinstance(model, cls)
    assert canonical(model.to_dict()) == canonical(expected)
    assert {k for k in sent if k.startswith("zzUnknown")} == set(model.extra)
    assert cls.from_dict(model.to_dict()) == model


def test_unknown_enum_value_is_kept_and_visible() -> None:
    invoice = models.InvoiceDTO.from_dict({"state": "ON_HOLD", "type": "SINGLE"})
    assert isinstance(invoice.state, models.InvoiceState) and isinstance(invoice.state, OpenEnum)
    assert invoice.state == "ON_HOLD" and not invoice.state.is_known
    assert invoice.type == models.InvoiceType.SINGLE and invoice.type.is_known
    assert invoice.to_dict() == {"state": "ON_HOLD", "type": "SINGLE"}


def test_decimal_amounts_are_exact() -> None:
    raw = b'{"amount":0.000000000000000001,"fee":12345678901234567890.123456789,"calypsoFee":1.10}'
    payout = models.PublicDealResponseDTO.from_dict(_json.loads(raw))
    assert payout.amount == Decimal("1E-18") and isinstance(payout.amount, Decimal)
    assert str(payout.calypso_fee) == "1.10"
    assert _json.dumps(payout.to_dict()) == raw


def test_currency_code_or_object() -> None:
    rates = models.PGRatesRequestDTO.from_dict({"fromCurrencies": ["BTC", {"name": "ETH", "scale": 8}]})
    assert rates.from_currencies is not None
    code, currency = rates.from_currencies
    assert code == "BTC"
    assert isinstance(currency, models.Currency) and currency.scale == 8
    pairs_ = models.CurrencyPairsResponse.from_dict({"currencyPairs": {"BTC": ["ETH", {"name": "TRX"}]}})
    assert pairs_.currency_pairs is not None
    assert pairs_.currency_pairs["BTC"][1] == models.Currency(name="TRX")


def test_secret_fields_are_not_shown() -> None:
    channel = models.WebhookChannelDTO.from_dict({"secretKey": "s3cr3t", "publicKey": "pub"})
    assert "s3cr3t" not in repr(channel)
    assert channel.secret_key == "s3cr3t"
    sale = models.C2fSaleRequestPayload(card="4111111111111111")
    assert "4111" not in repr(sale)


def test_keyword_fields_and_aliases() -> None:
    text = models.StringFilter(in_=["a"], not_in=["b"])
    assert text.to_dict() == {"in": ["a"], "notIn": ["b"]}
    assert models.FiatRatesRequest.from_dict({"from": ["BTC"]}).from_ == ["BTC"]
    assert models.Payout is models.PublicDealResponseDTO
    assert models.Invoice is models.InvoiceDTO


def test_bad_field_shape_is_kept_raw() -> None:
    invoice = models.InvoiceDTO.from_dict({"amount": "not a number", "createdDate": 12, "id": "i"})
    assert invoice.amount is None and invoice.extra["amount"] == "not a number"
    assert invoice.id == "i"
