"""Exact-decimal JSON: the wire codec every body and answer goes through."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async import _json


def test_eighteen_decimals_round_trip_exactly() -> None:
    text = b'{"amount":0.123456789012345678}'
    data = _json.loads(text)
    assert data["amount"] == Decimal("0.123456789012345678")
    assert _json.dumps(data) == text


def test_decimals_are_written_without_exponent() -> None:
    assert _json.dumps({"a": Decimal("1E-18"), "b": Decimal("1E+3")}) == b'{"a":0.000000000000000001,"b":1000}'


def test_compact_output_matches_stdlib_for_plain_data() -> None:
    value = {"s": 'é"\n', "i": -3, "t": True, "f": False, "n": None, "l": [1, "x", {}], "o": {}}
    assert _json.dumps(value) == json.dumps(value, separators=(",", ":")).encode()


@pytest.mark.parametrize("bad", [0.1, float("nan"), float("inf")])
def test_floats_are_refused(bad: float) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        _json.dumps({"amount": bad})


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimals_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        _json.dumps({"amount": bad})


def test_nan_in_an_answer_is_refused() -> None:
    with pytest.raises(ValueError):
        _json.loads(b'{"amount": NaN}')


def test_integers_stay_integers() -> None:
    assert _json.loads(b'{"timestamp": 1735689600000}')["timestamp"] == 1735689600000


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: abs(d.adjusted()) < 40))
def test_any_finite_decimal_round_trips(value: Decimal) -> None:
    assert _json.loads(_json.dumps([value]))[0] == value


_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))  # what a UTF-8 body can hold
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


def _full_path(text: str) -> object:
    try:
        return _json._strict_decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        return type(exc)


def _loads(text: str) -> object:
    try:
        return _json.loads(text.encode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        return type(exc)


@given(_JSON_VALUES, st.sampled_from(["", " ", "\n\t "]), st.sampled_from(["", " ", "\r\n", "x", ",1"]))
def test_loads_agrees_with_the_full_decoder_around_any_document(value: object, before: str, after: str) -> None:
    text = before + json.dumps(value) + after
    assert _loads(text) == _full_path(text)


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_loads_agrees_with_the_full_decoder_on_any_text(text: str) -> None:
    assert _loads(text) == _full_path(text)
