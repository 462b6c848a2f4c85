"""Mass-payout recipients are a model checked before sending; the payout report is a typed model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async import _json
from calypso_async.models import MassPayoutRecipient, PayoutReportResponse
from calypso_async.testing import MockTransport as RecordingTransport

from ..conftest import client

ADDRESS = "TQ5Xr8A7kUmTfLJ5yVvJ6GkUe7wJ9pYz3N"
MASS_ANSWER = {"id": "1", "state": "CREATION_IN_PROGRESS", "amount": 3}


async def create_mass(withdrawals: Any) -> RecordingTransport:
    transport = RecordingTransport(MASS_ANSWER)
    async with client(transport) as api:
        await api.payouts.create_mass(currency="USDT_TRX", idempotency_key="k", withdrawals=withdrawals)
    return transport


async def test_recipients_as_models_or_wire_dicts_send_the_same_body() -> None:
    models = [MassPayoutRecipient(deposit_address=ADDRESS, amount=Decimal("1.5"), comment="May")]
    dicts = [{"depositAddress": ADDRESS, "amount": Decimal("1.5"), "comment": "May"}]
    sent = [(await create_mass(value)).requests[0] for value in (models, dicts)]
    payloads = [_json.loads(request.body)["payload"] for request in sent]
    assert payloads[0] == payloads[1]
    assert payloads[0]["withdrawals"] == [{"depositAddress": ADDRESS, "amount": Decimal("1.5"), "comment": "May"}]


async def test_a_misspelt_recipient_field_is_refused_before_sending() -> None:
    transport = RecordingTransport(MASS_ANSWER)
    async with client(transport) as api:
        with pytest.raises(ValueError, match=r"depositAdress.*did you mean 'depositAddress'"):
            await api.payouts.create_mass(
                currency="USDT_TRX", withdrawals=[{"depositAdress": ADDRESS, "amount": Decimal("1")}]
            )
    assert transport.requests == []


@given(key=st.text(min_size=1, max_size=20).filter(lambda k: k not in {"depositAddress", "amount", "comment"}))
async def test_any_unknown_recipient_field_is_refused(key: str) -> None:
    transport = RecordingTransport(MASS_ANSWER)
    async with client(transport) as api:
        with pytest.raises(ValueError, match="withdrawals"):
            await api.payouts.create_mass(currency="USDT_TRX", withdrawals=[{key: "x", "amount": Decimal("1")}])
    assert transport.requests == []


async def test_a_recipient_amount_is_checked_like_any_amount() -> None:
    with pytest.raises(TypeError, match=r"withdrawals\[0\]\.amount"):
        await create_mass([{"depositAddress": ADDRESS, "amount": 1.5}])


async def test_recipients_with_unknown_fields_in_extra_are_refused() -> None:
    recipient = MassPayoutRecipient(deposit_address=ADDRESS, amount=Decimal("1"))
    recipient.extra["depositAdress"] = "typo"
    with pytest.raises(ValueError, match="depositAdress"):
        await create_mass([recipient])


async def test_the_raw_extra_path_still_sends_anything() -> None:
    transport = RecordingTransport(MASS_ANSWER)
    async with client(transport) as api:
        await api.payouts.create_mass(currency="USDT_TRX", extra={"withdrawals": [{"address": ADDRESS, "amount": 1}]})
    assert _json.loads(transport.requests[0].body)["payload"]["withdrawals"] == [{"address": ADDRESS, "amount": 1}]


async def test_payout_report_is_a_typed_model() -> None:
    transport = RecordingTransport({"data": {"rows": [{"id": "1"}]}, "generatedAt": "now"})
    async with client(transport) as api:
        report = await api.reports.payouts()
    assert isinstance(report, PayoutReportResponse)
    assert report.data == {"rows": [{"id": "1"}]}
    assert report.extra == {"generatedAt": "now"}


async def test_a_payout_report_of_another_shape_is_kept_raw() -> None:
    transport = RecordingTransport({"data": "base64-csv"})
    async with client(transport) as api:
        report = await api.reports.payouts()
    assert report.data is None and report.extra == {"data": "base64-csv"}
