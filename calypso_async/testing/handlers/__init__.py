"""The operation table: SDK name -> handler, merged from the per-area modules; seeding of the read-only data.

Why a separate table: :mod:`.._server` routes by the spec's path and method and knows nothing about business
logic; each module of this package owns one product area and exports ``HANDLERS``. The server-side helpers
(``pay_invoice``, ``advance_payouts``...) are re-exported from the module that owns their objects.
"""

from __future__ import annotations

from .._call import Handler
from .._state import State
from . import core, exchanges, fiat, invoices, payouts, purses, settlement, webhooks
from .invoices import pay_invoice, select_widget_currency
from .payouts import advance_payouts, fail_payout
from .purses import add_purse_transactions, deposit

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
    **core.HANDLERS,
    **invoices.HANDLERS,
    **payouts.HANDLERS,
    **exchanges.HANDLERS,
    **purses.HANDLERS,
    **settlement.HANDLERS,
    **fiat.HANDLERS,
    **webhooks.HANDLERS,
}


def seed(state: State) -> None:
    """Seed the data only readable through the API (fixed order keeps it deterministic)."""
    payouts.seed(state)
    settlement.seed(state)
    fiat.seed(state)
