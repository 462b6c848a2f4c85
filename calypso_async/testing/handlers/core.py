"""Account, user and rates: the read-only calls every integration makes first.

Why they read straight from :class:`~calypso_async.testing._state.State`: balances shown by ``account.get`` are
the very numbers payouts debit and payments credit, so a test can follow money end to end; rates come from the
seeded USD prices, so quotes, fiat invoices and exchanges agree with ``rates.get``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._call import Call, Handler
from .._http import bad_request

__all__ = ["HANDLERS"]

_FIAT_RATE_STEP = Decimal("0.00000001")


def _codes(items: Any) -> list[str]:
    """Currency lists may hold codes or Currency objects (``CurrencyCodeOrObject``)."""
    codes: list[str] = []
    for item in items or []:
        code = item.get("name") if isinstance(item, dict) else item
        if not isinstance(code, str) or not code:
            raise bad_request("currencies must be codes or Currency objects with a name")
        codes.append(code)
    return codes


def account_get(call: Call) -> Any:
    account = call.state.account(call.account)
    return {
        "account": account.id,
        "name": account.name,
        "ownerId": account.owner_id,
        "balances": [{"currency": code, "amount": amount} for code, amount in account.balances.items()],
    }


def user_current(call: Call) -> Any:
    return call.state.user


def rates_get(call: Call) -> Any:
    state = call.state
    sources = _codes(call.payload.get("fromCurrencies")) or list(state.currencies)
    targets = _codes(call.payload.get("toCurrencies")) or ["USDT_TRX"]
    now = state.now_iso()
    return {
        "currencyRates": [
            {"fromCurrency": s, "toCurrency": t, "rates": state.rate(s, t), "ratesDate": now}
            for s in sources
            for t in targets
        ]
    }


def rates_fiat(call: Call) -> Any:
    state = call.state
    sources = _codes(call.payload.get("from")) or list(state.currencies)
    targets = [str(code) for code in call.payload.get("to") or ["USD", "EUR"]]
    return {
        "ratesMap": {
            source: {target: state.rate(source, target).quantize(_FIAT_RATE_STEP) for target in targets}
            for source in sources
        }
    }


HANDLERS: dict[str, Handler] = {
    "account.get": account_get,
    "user.current": user_current,
    "rates.get": rates_get,
    "rates.fiat": rates_fiat,
}
