"""The operation table: SDK name -> handler, merged from the per-area modules, and the server-side helpers.

Why a separate table: :mod:`._server` routes by the spec's path and method and knows nothing about business
logic; each ``_handlers_*`` module owns one product area and exports ``HANDLERS``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import _handlers_core
from ._call import Handler
from ._state import State

__all__ = ["HANDLERS", "add_purse_transactions", "advance_payouts", "pay_invoice"]

HANDLERS: dict[str, Handler] = {
    **_handlers_core.HANDLERS,
}


def pay_invoice(state: State, invoice_id_or_key: str, amount: Decimal | None, currency: str | None) -> dict[str, Any]:
    raise NotImplementedError("invoices are not implemented yet")


def advance_payouts(state: State, steps: int | None) -> int:
    raise NotImplementedError("payouts are not implemented yet")


def add_purse_transactions(
    state: State, customer_id: str, n: int, currency: str, transaction_state: str
) -> list[dict[str, Any]]:
    raise NotImplementedError("customer purses are not implemented yet")
