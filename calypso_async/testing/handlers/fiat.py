"""Onramp and offramp getters: fiat withdrawals, the Fiat API, fiat deposits and crypto-to-fiat.

Why mostly seeded: the calls that create these orders have no documented path (see unlocated.json), so the
fake seeds a few orders of each kind (ids in ``server.state``: ``fiat_withdrawal_orders``,
``fiat_deposit_orders``, ``fiat_orders`` (by idempotencyKey), ``c2f_orders``) and answers quotes from the
seeded rates. ``fiat_deposits.generate_key`` is the one create: keyed, so a reused key is 016.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._call import Call, Handler
from .._http import bad_request, duplicate_key, not_found
from .._state import Record, State

__all__ = ["HANDLERS", "seed"]

_GEOS = (
    ("Argentina", "AR", "ARS"),
    ("Germany", "DE", "EUR"),
    ("United Kingdom", "GB", "GBP"),
    ("Brazil", "BR", "BRL"),
    ("United States", "US", "USD"),
)
_RATE_MINUTES = 15 * 60.0
_C2F_TYPES = ("CARD", "SEPA")


def _fiat_amount(state: State, currency: str, amount: Decimal, fiat: str) -> Decimal:
    return (amount * state.rate(currency, fiat)).quantize(Decimal("0.01"))


def seed(state: State) -> None:
    rng = state.rng
    account = next(iter(state.accounts))
    state.geos = [{"id": state.uuid(), "name": name, "code": code, "fiatCurrency": fiat} for name, code, fiat in _GEOS]
    for states, store in (
        (("CREATED", "COMPLETED", "COMPLETED"), state.fiat_withdrawal_orders),
        (("CREATED", "IN_PROGRESS", "PAID", "COMPLETED", "FAILED"), state.fiat_deposit_orders),
    ):
        for order_state in states:
            currency = rng.choice(("USDT_TRX", "BTC", "ETH"))
            fiat = rng.choice(("EUR", "ARS", "USD"))
            crypto = state.quantize(Decimal(rng.randint(20, 2_000)) / state.usd[currency], currency)
            order_id = state.uuid()
            store[order_id] = Record(
                account,
                {
                    "id": order_id,
                    "cryptoAmount": crypto,
                    "fiatAmount": _fiat_amount(state, currency, crypto, fiat),
                    "fiatCurrency": fiat,
                    "currency": currency,
                    "state": order_state,
                },
            )
    for order_state in ("unpaid", "paid"):
        key = state.uuid()
        crypto = state.quantize(Decimal(rng.randint(20, 2_000)) / state.usd["USDT_TRX"], "USDT_TRX")
        fiat_amount = _fiat_amount(state, "USDT_TRX", crypto, "ARS")
        state.fiat_orders[key] = Record(
            account,
            {
                "invoiceId": state.next_id(),
                "state": order_state,
                "shopId": state.uuid(),
                "orderUnpaidType": "FULL",
                "currency": "USDT_TRX",
                "orderCryptoAmount": crypto,
                "paymentCryptoAmount": crypto if order_state == "paid" else Decimal(0),
                "fiatCurrency": "ARS",
                "orderFiatAmount": fiat_amount,
                "paymentFiatAmount": fiat_amount if order_state == "paid" else Decimal(0),
            },
        )
    for order_state in ("INIT", "COMPLETED", "FAILED"):
        order_id = state.uuid()
        currency = rng.choice(("USDT_TRX", "ETH"))
        crypto = state.quantize(Decimal(rng.randint(50, 3_000)) / state.usd[currency], currency)
        state.c2f_orders[order_id] = Record(
            account,
            {
                "orderId": order_id,
                "state": order_state,
                "currency": currency,
                "fiatCurrency": "EUR",
                "amountInCrypto": crypto,
                "amountInFiat": _fiat_amount(state, currency, crypto, "EUR"),
                "externalId": f"c2f-{rng.randint(1000, 9999)}",
            },
        )


def _order(call: Call, store: dict[str, Record], field: str, what: str) -> Any:
    wanted = call.require_str(field)
    record = store.get(wanted)
    if record is None or record.account != call.account:
        raise not_found(f"{what} {wanted}")
    return dict(record.data)


def _geo(state: State, geo_id: str | None) -> dict[str, Any] | None:
    if geo_id is None:
        return None
    for geo in state.geos:
        if geo["id"] == geo_id:
            return geo
    raise bad_request(f"Unknown geoId {geo_id}")


def _methods(call: Call, settings_type: str) -> Any:
    """Quote every method for the geo (or every geo): crypto -> fiat or fiat -> crypto, 15-minute fixed rate."""
    state = call.state
    currency = state.currency(call.text("currency") or "USDT_TRX").code
    crypto = call.optional_amount("cryptoAmount", currency)
    fiat_given = call.optional_amount("fiatAmount")
    geo = _geo(state, call.text("geoId"))
    methods = []
    for item in [geo] if geo else state.geos:
        fiat = item["fiatCurrency"]
        rate = state.rate(currency, fiat)
        if crypto is None and fiat_given is not None:
            crypto_amount = state.quantize(fiat_given / rate, currency)
            fiat_amount = fiat_given
        else:
            crypto_amount = crypto if crypto is not None else Decimal(100)
            fiat_amount = _fiat_amount(state, currency, crypto_amount, fiat)
        methods.append(
            {
                "itemId": call.text("itemId") or item["id"],
                "fiatAmount": fiat_amount,
                "cryptoAmount": crypto_amount,
                "withdrawalSettingsType": settings_type,
                "currency": currency,
                "fiatCurrency": fiat,
                "minLimit": (Decimal(10) * state.fiat_per_usd[fiat]).quantize(Decimal("0.01")),
                "maxLimit": (Decimal(10_000) * state.fiat_per_usd[fiat]).quantize(Decimal("0.01")),
            }
        )
    return {"fixedRateId": state.uuid(), "rateExpiredDate": state.now_iso(_RATE_MINUTES), "methods": methods}


def fiat_withdrawals_get(call: Call) -> Any:
    return _order(call, call.state.fiat_withdrawal_orders, "id", "Fiat withdrawal order")


def fiat_withdrawals_methods(call: Call) -> Any:
    return _methods(call, "CARD")


def list_geos(call: Call) -> Any:
    return [dict(geo) for geo in call.state.geos]


def fiat_get_order(call: Call) -> Any:
    return _order(call, call.state.fiat_orders, "idempotencyKey", "Fiat order")


def fiat_get_methods(call: Call) -> Any:
    state = call.state
    raw = call.payload.get("currency")
    code = raw.get("name") if isinstance(raw, dict) else raw
    currency = state.currency(str(code)).code
    geo = _geo(state, call.require_str("geoId"))
    assert geo is not None
    fiat = geo["fiatCurrency"]
    rate = state.rate(currency, fiat).quantize(Decimal("0.0001"))
    methods = [
        {
            "methodName": name,
            "methodCode": code_,
            "fixedRateId": state.uuid(),
            "fixedRate": rate,
            "expiredFixedRateDate": state.now_iso(_RATE_MINUTES),
            "minLimit": (Decimal(10) * state.fiat_per_usd[fiat]).quantize(Decimal("0.01")),
            "maxLimit": (Decimal(5_000) * state.fiat_per_usd[fiat]).quantize(Decimal("0.01")),
        }
        for name, code_ in (("Bank transfer", "BANK_TRANSFER"), ("Card", "CARD"))
    ]
    return {"method": methods}


def fiat_deposits_get(call: Call) -> Any:
    return _order(call, call.state.fiat_deposit_orders, "id", "Fiat deposit order")


def fiat_deposits_methods(call: Call) -> Any:
    return _methods(call, "CARD")


def generate_key(call: Call) -> Any:
    state = call.state
    key = call.text("idempotencyKey") or state.uuid()
    if key in state.fiat_deposit_keys:
        raise duplicate_key("fiat deposit key", key)
    data = {"key": state.uuid(), "expiredAt": state.now_iso(86_400.0)}
    state.fiat_deposit_keys[key] = Record(
        call.account, data, extra={name: call.payload.get(name) for name in ("merchantExternalId", "returnUrl")}
    )
    return dict(data)


def _c2f_type(call: Call) -> str:
    kind = call.path_params.get("type", "").upper()
    if kind not in _C2F_TYPES:
        raise bad_request(f"path type must be one of {', '.join(_C2F_TYPES)}, got {call.path_params.get('type')!r}")
    return kind


def _fiat(call: Call) -> str:
    fiat = call.require_str("fiatCurrency").upper()
    if fiat not in call.state.fiat_per_usd:
        raise bad_request(f"Unsupported fiatCurrency {fiat!r}")
    return fiat


def c2f_get_order(call: Call) -> Any:
    return _order(call, call.state.c2f_orders, "orderId", "C2F order")


def c2f_fix_rate(call: Call) -> Any:
    _c2f_type(call)
    state = call.state
    fiat = _fiat(call)
    currency = state.currency(call.require_str("currency")).code
    return {
        "rateId": state.uuid(),
        "rate": state.rate(currency, fiat).quantize(Decimal("0.0001")),
        "fiatCurrency": fiat,
        "currency": currency,
        "expiredDate": state.now_iso(_RATE_MINUTES),
    }


def c2f_get_limit(call: Call) -> Any:
    kind = _c2f_type(call)
    fiat = _fiat(call)
    per_usd = call.state.fiat_per_usd[fiat]
    top = Decimal(5_000) if kind == "CARD" else Decimal(50_000)
    return {
        "minLimit": (Decimal(20) * per_usd).quantize(Decimal("0.01")),
        "maxLimit": (top * per_usd).quantize(Decimal("0.01")),
        "limitCurrency": fiat,
    }


HANDLERS: dict[str, Handler] = {
    "fiat_withdrawals.get": fiat_withdrawals_get,
    "fiat_withdrawals.get_methods": fiat_withdrawals_methods,
    "fiat_withdrawals.list_geos": list_geos,
    "fiat.get_order": fiat_get_order,
    "fiat.get_methods": fiat_get_methods,
    "fiat.list_geos": list_geos,
    "fiat_deposits.get": fiat_deposits_get,
    "fiat_deposits.get_methods": fiat_deposits_methods,
    "fiat_deposits.generate_key": generate_key,
    "crypto_to_fiat.get_order": c2f_get_order,
    "crypto_to_fiat.fix_rate": c2f_fix_rate,
    "crypto_to_fiat.get_limit": c2f_get_limit,
}
