"""Customers and their deposit purses: customer CRUD-ish calls, addresses, and paged deposit history.

Why :func:`add_purse_transactions`: paging only gets interesting with many items (the SDK's auto-pager is
tested over 1,000 deposits), so tests seed history directly instead of making 1,000 calls.
:func:`deposit` simulates one live deposit instead: webhooks, and the merchant balance credited.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._call import Call, Handler
from .._errors import UnknownObjectError
from .._http import not_found
from .._paging import matches, page
from .._state import Record, State

__all__ = ["COMPLIANCE", "HANDLERS", "add_purse_transactions", "deposit"]

COMPLIANCE = {
    "MEM_POOL_FOUND": "UNCHECKED",
    "PENDING_COMPLIANCE_CHECK": "IN_PROGRESS",
    "CONFIRMED": "CHECKED",
    "DECLINED": "DECLINE",
}
"""Transaction state -> compliance state shown alongside it."""


def _customer(call: Call, field: str) -> Record:
    customer_id = call.require_str(field)
    record = call.state.customers.get(customer_id)
    if record is None or record.account != call.account:
        raise not_found(f"Customer {customer_id}")
    return record


def create_customer(call: Call) -> Any:
    state = call.state
    customer_id = state.uuid()
    data = {
        "id": customer_id,
        "email": call.text("email"),
        "description": call.text("description"),
        "externalId": call.text("externalId"),
        "blocked": False,
    }
    data = {key: value for key, value in data.items() if value is not None}
    state.customers[customer_id] = Record(call.account, data)
    return dict(data)


def update_customer(call: Call) -> Any:
    record = _customer(call, "id")
    for name in ("email", "description"):
        if call.payload.get(name) is not None:
            record.data[name] = call.text(name)
    return dict(record.data)


def _set_blocked(call: Call, blocked: bool) -> Any:
    record = _customer(call, "customerId")
    record.data["blocked"] = blocked
    return dict(record.data)


def block_customer(call: Call) -> Any:
    return _set_blocked(call, True)


def unblock_customer(call: Call) -> Any:
    return _set_blocked(call, False)


def _purse(state: State, customer: Record, currency: str) -> Record:
    key = (customer.data["id"], currency)
    purse = state.purses.get(key)
    if purse is None:
        purse = Record(
            customer.account,
            {
                "id": state.uuid(),
                "address": state.address(currency),
                "customerId": customer.data["id"],
                "currency": currency,
                "status": "PENDING_PAYMENT",
                "createdDate": state.now_iso(),
            },
        )
        state.purses[key] = purse
    return purse


def get_address(call: Call) -> Any:
    customer = _customer(call, "customerId")
    currency = call.state.currency(call.require_str("currency")).code
    purse = _purse(call.state, customer, currency)
    return {"id": purse.data["id"], "address": purse.data["address"]}


def list_purses(call: Call) -> Any:
    """Undocumented answer shape: a list of purses (id, address, customerId, currency, status, createdDate)."""
    customer_id = call.text("customerId")
    if customer_id is not None:
        _customer(call, "customerId")
    return [
        dict(purse.data)
        for (owner, _), purse in call.state.purses.items()
        if purse.account == call.account and (customer_id is None or owner == customer_id)
    ]


def _public(record: Record) -> dict[str, Any]:
    return {key: value for key, value in record.data.items() if key != "customerId"}


def get_transaction(call: Call) -> Any:
    transaction_id = call.require_str("transactionId")
    record = call.state.purse_transactions.get(transaction_id)
    if record is None or record.account != call.account:
        raise not_found(f"Transaction {transaction_id}")
    return _public(record)


def find_transactions(call: Call) -> Any:
    payload = call.payload
    customer_id = call.text("customerId")
    currency_filter = payload.get("currencyFilter")
    state_filter = payload.get("transactionStateFilter")
    found = [
        _public(record)
        for record in call.state.purse_transactions.values()
        if record.account == call.account
        and (customer_id is None or record.data["customerId"] == customer_id)
        and matches(record.data["currency"], currency_filter)
        and matches(record.data["transactionState"], state_filter)
    ]
    return page(found, payload)


def _transaction(state: State, purse: Record, amount: Decimal, transaction_state: str, created: float) -> Record:
    data = purse.data
    transaction_id = state.uuid()
    record = Record(
        purse.account,
        {
            "id": transaction_id,
            "amount": amount,
            "addressFrom": state.address(data["currency"]),
            "currency": data["currency"],
            "transactionHash": state.tx_hash(data["currency"]),
            "transactionState": transaction_state,
            "complianceState": COMPLIANCE.get(transaction_state, "UNCHECKED"),
            "translationToAccountCompleted": transaction_state == "CONFIRMED",
            "createdDate": state.now_iso(created - state.now()),
            "customerId": data["customerId"],
        },
    )
    state.purse_transactions[transaction_id] = record
    return record


def add_purse_transactions(
    state: State, customer_id: str, n: int, currency: str, transaction_state: str
) -> list[dict[str, Any]]:
    customer = state.customers.get(customer_id)
    if customer is None:
        raise UnknownObjectError(f"no customer {customer_id!r}")
    state.currency(currency)
    purse = _purse(state, customer, currency)
    start = state.now() - n - 60
    created: list[dict[str, Any]] = []
    for index in range(n):
        amount = state.quantize(Decimal(state.rng.randint(100, 500_000)) / Decimal(100) / state.usd[currency], currency)
        created.append(dict(_transaction(state, purse, amount, transaction_state, start + index).data))
    return created


def deposit(state: State, customer_id: str, currency: str, amount: Decimal) -> dict[str, Any]:
    """A live deposit to the customer's purse: events through to TRANSLATION_TO_ACCOUNT_COMPLETED, balance credited."""
    customer = state.customers.get(customer_id)
    if customer is None:
        raise UnknownObjectError(f"no customer {customer_id!r}")
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValueError("amount must be a positive Decimal")
    purse = _purse(state, customer, state.currency(currency).code)
    record = _transaction(state, purse, amount, "MEM_POOL_FOUND", state.now())
    data = record.data
    common = {
        "customerId": customer_id,
        "customerBlocked": customer.data["blocked"],
        "purseId": purse.data["id"],
        "transactionId": data["id"],
        "currency": data["currency"],
        "amount": amount,
        "address": purse.data["address"],
    }
    state.emit("CUSTOMER_PURSE_MEM_POOL_FOUND", "CUSTOMER_PURSE", {"type": "CUSTOMER_PURSE_MEM_POOL_FOUND", **common})
    data.update(transactionState="PENDING_COMPLIANCE_CHECK", complianceState="IN_PROGRESS")
    state.emit(
        "CUSTOMER_PURSE_PENDING_COMPLIANCE", "CUSTOMER_PURSE", {"type": "CUSTOMER_PURSE_PENDING_COMPLIANCE", **common}
    )
    data.update(transactionState="CONFIRMED", complianceState="CHECKED")
    state.emit(
        "CUSTOMER_PURSE_FUNDS_RECEIVED_FOR_PURSE",
        "CUSTOMER_PURSE",
        {"type": "CUSTOMER_PURSE_FUNDS_RECEIVED_FOR_PURSE", **common},
    )
    fee = state.fee(amount, data["currency"])
    state.credit(purse.account, data["currency"], amount - fee)
    data["translationToAccountCompleted"] = True
    state.emit(
        "CUSTOMER_PURSE_TRANSLATION_TO_ACCOUNT_COMPLETED",
        "CUSTOMER_PURSE",
        {"type": "CUSTOMER_PURSE_TRANSLATION_TO_ACCOUNT_COMPLETED", **common, "fee": fee},
    )
    return _public(record)


HANDLERS: dict[str, Handler] = {
    "customer_purse.create_customer": create_customer,
    "customer_purse.update_customer": update_customer,
    "customer_purse.block_customer": block_customer,
    "customer_purse.unblock_customer": unblock_customer,
    "customer_purse.get_address": get_address,
    "customer_purse.list_purses": list_purses,
    "customer_purse.get_transaction": get_transaction,
    "customer_purse.find_transactions": find_transactions,
}
