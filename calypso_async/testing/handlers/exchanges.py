"""Crypto-to-crypto exchange inside the merchant account: pairs, quotes, limits, create and poll.

Why the fake moves money: an exchange is a money-moving call without an idempotency key (the SDK never
retries it blindly), so tests must be able to see whether it happened: the source amount is debited at
create (state IN_PROGRESS) and the destination amount credited when the exchange completes, which it does
the next time it is read with ``exchanges.get``. Quotes use the seeded rates minus the 0.5 % fee.

``direction`` is undocumented: ``DESTINATION``/``TO``/``BUY``/``REVERSE`` mean ``amount`` is the amount to
receive (the quote answers the amount to spend); anything else means ``amount`` is what is spent.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Any

from .._call import Call, Handler
from .._http import bad_request, not_found
from .._state import FEE_RATE, Record, State

__all__ = ["EXCHANGE_LIMIT_USD", "HANDLERS"]

EXCHANGE_LIMIT_USD = Decimal("100000")
"""Upper limit of one exchange, in USD worth of the source currency."""

_REVERSE = frozenset({"DESTINATION", "TO", "BUY", "REVERSE"})


def _pair(call: Call) -> tuple[str, str]:
    state = call.state
    source = state.currency(call.require_str("sourceCurrency")).code
    target = state.currency(call.require_str("destinationCurrency")).code
    if source == target:
        raise bad_request("sourceCurrency and destinationCurrency must differ")
    return source, target


def _receive(state: State, source: str, target: str, amount: Decimal) -> Decimal:
    return state.quantize(amount * state.rate(source, target) * (1 - FEE_RATE), target)


def _spend(state: State, source: str, target: str, wanted: Decimal) -> Decimal:
    raw = wanted / (state.rate(source, target) * (1 - FEE_RATE))
    scale = state.currencies[source].scale
    return raw.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_UP)


def _limit(state: State, source: str) -> Decimal:
    return state.quantize(EXCHANGE_LIMIT_USD / state.usd[source], source)


def pairs(call: Call) -> Any:
    codes = list(call.state.currencies)
    return {"currencyPairs": {code: [other for other in codes if other != code] for code in codes}}


def pre_calculate(call: Call) -> Any:
    state = call.state
    source, target = _pair(call)
    direction = str(call.payload.get("direction") or "").upper()
    if direction in _REVERSE:
        amount = call.amount("amount", target)
        quoted = _spend(state, source, target, amount)
    else:
        amount = call.amount("amount", source)
        quoted = _receive(state, source, target, amount)
    return {"sourceCurrency": source, "destinationCurrency": target, "amount": quoted}


def get_limit(call: Call) -> Any:
    source, target = _pair(call)
    return {"sourceCurrency": source, "destinationCurrency": target, "amount": _limit(call.state, source)}


def get_average_rate(call: Call) -> Any:
    source, target = _pair(call)
    return {"rate": call.state.rate(source, target)}


def create(call: Call) -> Any:
    state = call.state
    source, target = _pair(call)
    amount = call.amount("amount", source)
    limit = _limit(state, source)
    if amount > limit:
        raise bad_request(f"Exchange amount {amount} {source} exceeds the limit {limit} {source}")
    receive = _receive(state, source, target, amount)
    if receive <= 0:
        raise bad_request(f"Exchange amount {amount} {source} is too small")
    state.debit(call.account, source, amount, f"exchange of {amount} {source}")
    exchange_id = int(state.next_id())
    data = {
        "id": exchange_id,
        "account": call.account,
        "sourceCurrency": source,
        "sourceAmount": amount,
        "destinationCurrency": target,
        "destinationAmount": receive,
        "state": "IN_PROGRESS",
        "createdDate": state.now_iso(),
    }
    state.exchanges[exchange_id] = Record(call.account, data)
    return dict(data)


def get(call: Call) -> Any:
    state = call.state
    exchange_id = call.payload.get("id")
    record = state.exchanges.get(exchange_id) if isinstance(exchange_id, int) else None
    if record is None or record.account != call.account:
        raise not_found(f"Exchange {exchange_id}")
    data = record.data
    if data["state"] == "IN_PROGRESS":
        state.credit(record.account, data["destinationCurrency"], data["destinationAmount"])
        data["state"] = "COMPLETED"
    return dict(data)


HANDLERS: dict[str, Handler] = {
    "exchanges.pairs": pairs,
    "exchanges.pre_calculate": pre_calculate,
    "exchanges.get_limit": get_limit,
    "exchanges.get_average_rate": get_average_rate,
    "exchanges.create": create,
    "exchanges.get": get,
}
