"""Every operation through a recording transport: exact path, method, envelope and payload; typed result.

The spec is read independently (``_spec.py``): each call passes every argument with a sample value and the
body must be exactly the envelope of ``x-envelope`` with the camelCase payload, Decimals as bare numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from calypso_async import _json
from calypso_async._model import Model
from calypso_async.resources import OPERATIONS
from calypso_async.testing import MockTransport as RecordingTransport

from ..conftest import ACCOUNT, client
from . import _spec

NAMES = list(OPERATIONS)


def canned_answer(name: str) -> Any:
    response = OPERATIONS[name].response
    if response is None:
        return [{"anything": 1}] if name != "webhooks.delete" else None
    return _spec.sample_wire(_spec.SCHEMAS[response.__name__])


def canonical(value: Any) -> bytes:
    def sort(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: sort(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return [sort(i) for i in v]
        return v

    return _json.dumps(sort(value))


def expected_url_path(name: str, path_params: dict[str, str]) -> str:
    return OPERATIONS[name].path.format(**path_params)


async def call(name: str, kwargs: dict[str, Any], answer: Any) -> tuple[Any, RecordingTransport]:
    transport = RecordingTransport(_json.dumps(answer) if answer is not None else None)
    resource, method = name.split(".")
    async with client(transport) as api:
        result = await getattr(getattr(api, resource), method)(**kwargs)
    return result, transport


@pytest.mark.parametrize("name", NAMES)
async def test_full_call(name: str) -> None:
    op = OPERATIONS[name]
    kwargs, payload, path_params = _spec.full_call(name)
    answer = canned_answer(name)
    result, transport = await call(name, kwargs, answer)

    assert len(transport.requests) == 1
    request = transport.requests[0]
    assert request.method == op.method
    assert transport.paths == [expected_url_path(name, path_params)]
    body = transport.bodies[0]
    spec_op = _spec.SPEC_OPS[name][2]
    keys = ["timestamp"]
    if spec_op["x-envelope"]["account"]:
        keys.insert(0, "account")
    if spec_op["x-envelope"]["payload"] != "none":
        keys.append("payload")
    assert list(body) == keys, "envelope keys, in order"
    assert isinstance(body["timestamp"], int)
    if "account" in body:
        assert body["account"] == ACCOUNT
    if "payload" in keys:
        assert canonical(body["payload"]) == canonical(payload)
    # Decimal amounts travel as bare numbers, digits kept.
    if any(a.kind == "decimal" for a in _spec.args_of(name)):
        assert b":12.340" in request.body and b'"12.340"' not in request.body

    if op.response is None:
        assert result == (_json.loads(_json.dumps(answer)) if answer is not None else None)
    else:
        assert isinstance(result, op.response)
        assert isinstance(result, Model)
        assert canonical(result.to_dict()) == canonical(answer)
        assert result.extra == {}


@pytest.mark.parametrize("name", NAMES)
async def test_minimal_call(name: str) -> None:
    op = OPERATIONS[name]
    kwargs, payload = _spec.minimal_call(name)
    _result, transport = await call(name, kwargs, canned_answer(name))
    body = transport.bodies[0]
    sent = body.get("payload")
    if op.idempotency_field is not None:
        assert sent is not None
        key = sent.pop(op.idempotency_field)
        assert isinstance(key, str) and len(key) == 36  # a generated UUID
    if op.payload == "none" or (op.payload == "optional" and not payload and op.idempotency_field is None):
        assert "payload" not in body
    else:
        assert canonical(sent) == canonical(payload)


async def test_idempotency_key_given_is_sent_and_set_on_result() -> None:
    transport = RecordingTransport(_json.dumps(canned_answer("payouts.create") | {"idempotencyKey": None}))
    async with client(transport) as api:
        payout = await api.payouts.create(
            deposit_address="TAddr", amount=Decimal("1.000000001"), currency="USDT_TRX", idempotency_key="key-1"
        )
    assert transport.bodies[0]["payload"]["idempotencyKey"] == "key-1"
    assert b'"amount":1.000000001' in transport.requests[0].body
    assert payout.idempotency_key == "key-1"


async def test_account_override_and_no_account_calls() -> None:
    transport = RecordingTransport(_json.dumps(canned_answer("account.get")))
    async with client(transport) as api:
        await api.account.get(account="0x" + "1" * 40)
        await api.user.current()
        await api.rates.get(from_currencies=["BTC"])
    bodies = transport.bodies
    assert bodies[0]["account"] == "0x" + "1" * 40
    assert list(bodies[1]) == ["timestamp"]
    assert list(bodies[2]) == ["timestamp", "payload"]


async def test_models_accepted_as_nested_arguments() -> None:
    from calypso_async.models import Currency, PurseTransactionState, StringFilter, TransactionStateFilter

    transport = RecordingTransport(_json.dumps({"result": [], "page": 0, "size": 10, "total": 0, "totalElements": 0}))
    async with client(transport) as api:
        await api.customer_purse.find_transactions(
            currency_filter=StringFilter(in_=["USDT_TRX", "BTC"]),
            transaction_state_filter=TransactionStateFilter(equals=PurseTransactionState.CONFIRMED),
            page_number=0,
            page_size=10,
        )
        transport.answer = _json.dumps({"currencyRates": []})
        await api.rates.get(from_currencies=[Currency(name="BTC"), "ETH"], to_currencies=("USDT_TRX",))
    assert transport.bodies[0]["payload"] == {
        "currencyFilter": {"in": ["USDT_TRX", "BTC"]},
        "transactionStateFilter": {"equals": "CONFIRMED"},
        "pageNumber": 0,
        "pageSize": 10,
    }
    assert transport.bodies[1]["payload"] == {"fromCurrencies": [{"name": "BTC"}, "ETH"], "toCurrencies": ["USDT_TRX"]}


async def test_path_parameter_is_one_encoded_segment() -> None:
    transport = RecordingTransport(_json.dumps({"minLimit": 1}))
    async with client(transport) as api:
        await api.crypto_to_fiat.get_limit(type="CA/RD ?", fiat_currency="EUR")
    assert transport.requests[0].url.endswith("/api/v1/c2f/order/CA%2FRD%20%3F/limit")


async def test_mass_payout_extra_fields_are_sent() -> None:
    transport = RecordingTransport(_json.dumps(canned_answer("payouts.create_mass")))
    recipients = [{"address": "T1", "amount": Decimal("1.5")}]
    async with client(transport) as api:
        await api.payouts.create_mass(currency="USDT_TRX", idempotency_key="k", extra={"withdrawals": recipients})
    assert transport.bodies[0]["payload"] == {
        "withdrawals": [{"address": "T1", "amount": Decimal("1.5")}],
        "currency": "USDT_TRX",
        "idempotencyKey": "k",
    }
    assert b'"amount":1.5' in transport.requests[0].body


async def test_webhook_delete_is_a_delete_with_a_signed_body() -> None:
    transport = RecordingTransport(None)
    async with client(transport) as api:
        result = await api.webhooks.delete(request_id="sub-1")
    assert result is None
    request = transport.requests[0]
    assert request.method == "DELETE"
    assert transport.bodies[0]["payload"] == {"requestId": "sub-1"}
    assert request.headers["Sign"]
