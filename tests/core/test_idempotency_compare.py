"""Comparing what a keyed create sent with the object its key found (``_idempotency.mismatches``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from calypso_async._idempotency import mismatches

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=8)
    | st.text(max_size=20)
)
wire: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)


@given(st.dictionaries(st.text(max_size=8), wire, max_size=6))
def test_what_was_sent_always_matches_itself(sent: dict[str, Any]) -> None:
    assert mismatches(sent, sent) == []


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=18), st.decimals(allow_nan=False, allow_infinity=False)
)
def test_amounts_match_exactly_as_decimals(amount: Decimal, other: Decimal) -> None:
    sign, digits, exponent = amount.as_tuple()
    padded = Decimal((sign, (*digits, 0), int(exponent) - 1))  # the same value with one more trailing zero
    assert mismatches({"amount": amount}, {"amount": padded}) == []
    assert mismatches({"amount": amount}, {"amount": str(padded)}) == []
    assert (mismatches({"amount": amount}, {"amount": other}) == []) == (amount == other)


def test_echoed_fields_are_compared_and_the_rest_ignored() -> None:
    sent = {
        "amount": Decimal("5"),
        "currency": "usdt_trx",
        "depositAddress": "0xAbC",
        "externalId": "order-1",
        "comment": "not echoed",
        "executionDate": "2026-12-05",
        "withdrawals": [{"depositAddress": "a", "amount": 1}, {"depositAddress": "b", "amount": 2}],
        "notificationServiceTypes": ["INVOICE", "PAYOUT"],
    }
    found = {
        "amount": "5.00",
        "currency": "USDT_TRX",
        "depositAddress": "0xabc",
        "externalId": "order-1",
        "executionDate": "2026-12-05T00:00:00Z",
        "withdrawals": [{"depositAddress": "a", "amount": "1.0", "id": 7}, {"depositAddress": "b", "amount": 2}],
        "notificationServiceTypes": ["PAYOUT", "INVOICE"],
        "fee": "0.1",
    }
    assert mismatches(sent, found) == []
    assert mismatches({**sent, "externalId": "ORDER-1"}, found) == ["externalId"]
    assert mismatches({**sent, "amount": Decimal("5.001")}, found) == ["amount"]
    wrong_recipient = [{"depositAddress": "a", "amount": 1}, {"depositAddress": "c", "amount": 2}]
    assert mismatches({**sent, "withdrawals": wrong_recipient}, found) == ["withdrawals[1].depositAddress"]
    assert mismatches({**sent, "withdrawals": wrong_recipient[:1]}, found) == ["withdrawals"]
