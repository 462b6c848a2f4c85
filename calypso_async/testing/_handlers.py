"""The operation table: SDK name -> handler, merged from the per-area modules; seeding of the read-only data.

Why a separate table: :mod:`._server` routes by the spec's path and method and knows nothing about business
logic; each ``_handlers_*`` module owns one product area and exports ``HANDLERS``. The server-side helpers
(``pay_invoice``, ``advance_payouts``...) are re-exported from the module that owns their objects.
"""

from __future__ import annotations

from . import (
    _handlers_core,
    _handlers_exchanges,
    _handlers_fiat,
    _handlers_invoices,
    _handlers_payouts,
    _handlers_purses,
    _handlers_settlement,
    _handlers_webhooks,
)
from ._call import Handler
from ._handlers_invoices import pay_invoice, select_widget_currency
from ._handlers_payouts import advance_payouts, fail_payout
from ._handlers_purses import add_purse_transactions, deposit
from ._state import State

__all__ = [
    "HANDLERS",
    "add_purse_transactions",
    "advance_payouts",
    "deposit",
    "fail_payout",
    "pay_invoice",
    "seed",
    "select_widget_currency",
]

HANDLERS: dict[str, Handler] = {
    **_handlers_core.HANDLERS,
    **_handlers_invoices.HANDLERS,
    **_handlers_payouts.HANDLERS,
    **_handlers_exchanges.HANDLERS,
    **_handlers_purses.HANDLERS,
    **_handlers_settlement.HANDLERS,
    **_handlers_fiat.HANDLERS,
    **_handlers_webhooks.HANDLERS,
}


def seed(state: State) -> None:
    """Seed the data only readable through the API (fixed order keeps it deterministic)."""
    _handlers_payouts.seed(state)
    _handlers_settlement.seed(state)
    _handlers_fiat.seed(state)
