"""Arguments are checked before anything is sent: the recording transport must see no request at all."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from calypso_async.resources import OPERATIONS
from calypso_async.testing import MockTransport as RecordingTransport

from ..conftest import client
from . import _spec

DECIMAL_ARGS = [(name, arg) for name in OPERATIONS for arg in _spec.args_of(name) if arg.kind == "decimal"]
REQUIRED_STR_ARGS = [
    (name, arg) for name in OPERATIONS for arg in _spec.args_of(name) if arg.required and arg.kind in ("str", "path")
]
EXACTLY_ONE = [name for name in OPERATIONS if any(a.one_of for a in _spec.args_of(name))]


async def rejected(name: str, kwargs: dict[str, Any], error: type[Exception], *words: str) -> str:
    transport = RecordingTransport({})
    resource, method = name.split(".")
    async with client(transport) as api:
        with pytest.raises(error) as info:
            await getattr(getattr(api, resource), method)(**kwargs)
    assert transport.requests == [], "nothing may be sent when validation fails"
    message = str(info.value)
    for word in words:
        assert word in message
    return message


def with_value(name: str, arg_name: str, value: Any) -> dict[str, Any]:
    kwargs, _payload, _path = _spec.full_call(name)
    kwargs[arg_name] = value
    return kwargs


def test_there_is_something_to_check() -> None:
    assert len(DECIMAL_ARGS) >= 10
    assert len(REQUIRED_STR_ARGS) >= 20
    assert set(EXACTLY_ONE) == {"invoices.get", "payouts.get", "payouts.get_mass", "settlement_payouts.get"}


@pytest.mark.parametrize(("name", "arg"), DECIMAL_ARGS, ids=lambda v: v if isinstance(v, str) else v.name)
async def test_float_amount_is_a_type_error(name: str, arg: _spec.Arg) -> None:
    message = await rejected(name, with_value(name, arg.name, 10.5), TypeError, arg.name, "float")
    assert "Decimal" in message


@pytest.mark.parametrize(("name", "arg"), DECIMAL_ARGS, ids=lambda v: v if isinstance(v, str) else v.name)
async def test_bool_amount_is_a_type_error(name: str, arg: _spec.Arg) -> None:
    await rejected(name, with_value(name, arg.name, True), TypeError, arg.name, "bool")


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("-0.01"), -1])
@pytest.mark.parametrize(("name", "arg"), DECIMAL_ARGS, ids=lambda v: v if isinstance(v, str) else v.name)
async def test_non_finite_or_negative_amount_is_a_value_error(name: str, arg: _spec.Arg, bad: Any) -> None:
    await rejected(name, with_value(name, arg.name, bad), ValueError, arg.name)


@pytest.mark.parametrize("bad", [float("nan"), math.inf, "10.5", [1]])
async def test_other_amount_types(bad: Any) -> None:
    kwargs = {"deposit_address": "T1", "currency": "USDT_TRX", "amount": bad}
    await rejected("payouts.create", kwargs, TypeError, "amount")


async def test_int_and_zero_amounts_are_accepted() -> None:
    transport = RecordingTransport({})
    async with client(transport) as api:
        await api.payouts.create(deposit_address="T1", currency="USDT_TRX", amount=5)
        await api.invoices.create_single(amount=Decimal("0"), currency="ETH", description="d")
    assert b'"amount":5,' in transport.requests[0].body
    assert b'"amount":0,' in transport.requests[1].body


@pytest.mark.parametrize("empty", ["", "   "])
@pytest.mark.parametrize(("name", "arg"), REQUIRED_STR_ARGS, ids=lambda v: v if isinstance(v, str) else v.name)
async def test_required_string_must_not_be_empty(name: str, arg: _spec.Arg, empty: str) -> None:
    await rejected(name, with_value(name, arg.name, empty), ValueError, arg.name)


@pytest.mark.parametrize(("name", "arg"), REQUIRED_STR_ARGS, ids=lambda v: v if isinstance(v, str) else v.name)
async def test_required_string_must_be_a_string(name: str, arg: _spec.Arg) -> None:
    await rejected(name, with_value(name, arg.name, 12), TypeError, arg.name)
    await rejected(name, with_value(name, arg.name, None), TypeError, arg.name)


@pytest.mark.parametrize("name", EXACTLY_ONE)
async def test_exactly_one_of_id_and_idempotency_key(name: str) -> None:
    for kwargs in ({}, {"id": "1", "idempotency_key": _spec.SAMPLE_UUID}):
        await rejected(name, kwargs, ValueError, "id", "idempotency_key")
    await rejected(name, {"id": ""}, ValueError, "id")


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_unknown_keyword_is_a_type_error(name: str) -> None:
    kwargs, _payload, _path = _spec.full_call(name)
    await rejected(name, {**kwargs, "no_such_argument": 1}, TypeError, "no_such_argument")


async def test_positional_arguments_are_refused() -> None:
    transport = RecordingTransport({})
    async with client(transport) as api:
        with pytest.raises(TypeError):
            await api.invoices.get("inv-1")  # type: ignore[misc]
    assert transport.requests == []


async def test_empty_idempotency_key_is_refused() -> None:
    kwargs = {"deposit_address": "T1", "currency": "USDT_TRX", "amount": Decimal(1), "idempotency_key": ""}
    await rejected("payouts.create", kwargs, ValueError, "idempotency_key")


@pytest.mark.parametrize(
    ("name", "kwargs", "word"),
    [
        ("customer_purse.find_transactions", {"currency_filter": 5}, "currency_filter"),
        ("customer_purse.find_transactions", {"page_number": "1"}, "page_number"),
        ("customer_purse.find_transactions", {"page_number": True}, "page_number"),
        ("rates.get", {"from_currencies": "BTC"}, "from_currencies"),
        ("rates.get", {"from_currencies": ["BTC", 3]}, "from_currencies[1]"),
        ("webhooks.create", {"url": "https://x", "notification_event_types": "INVOICE_PAID"}, "notification_event"),
        ("payouts.create", {"deposit_address": "T", "currency": "C", "amount": 1, "execution_date": 5}, "execution"),
        ("invoices.create_bound", {"lower_bound": 1, "currency": "C", "description": "d", "fiat_available": 1}, "fiat"),
        ("reports.payouts", {"zone_offset": 3}, "zone_offset"),
        ("payouts.create_mass", {"extra": ["not", "a", "dict"]}, "extra"),
    ],
)
async def test_wrong_types(name: str, kwargs: dict[str, Any], word: str) -> None:
    await rejected(name, kwargs, TypeError, word)


async def test_extra_fields_may_not_repeat_a_named_argument() -> None:
    await rejected("payouts.create_mass", {"currency": "BTC", "extra": {"currency": "ETH"}}, ValueError, "currency")


async def test_account_is_required_for_account_scoped_calls() -> None:
    transport = RecordingTransport({})
    async with client(transport, account=None) as api:
        with pytest.raises(ValueError, match="account"):
            await api.account.get()
        await api.user.current()
    assert len(transport.requests) == 1


@pytest.mark.parametrize("size", [0, -1, 1001, 10**6])
async def test_page_size_is_bounded(size: int) -> None:
    transport = RecordingTransport({"result": []})
    async with client(transport) as api:
        with pytest.raises(ValueError, match="page_size"):
            async for _ in api.customer_purse.iter_transactions(page_size=size):
                pass
        with pytest.raises(ValueError, match="page_size"):
            async for _ in api.settlement_wallets.iter_transactions(page_size=size):
                pass
    assert transport.requests == []


async def test_iterator_checks_filters_before_sending() -> None:
    transport = RecordingTransport({"result": []})
    async with client(transport) as api:
        with pytest.raises(TypeError, match="currency_filter"):
            async for _ in api.customer_purse.iter_transactions(currency_filter=5):  # type: ignore[arg-type]
                pass
        with pytest.raises(ValueError, match="first_page"):
            async for _ in api.customer_purse.iter_transactions(first_page=-1):
                pass
    assert transport.requests == []
