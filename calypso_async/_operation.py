"""What the client needs to know about one API operation (generated from the spec, see ``scripts/``)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = ["IDEMPOTENT_LOOKUP", "NO_BLIND_RETRY", "Operation"]


@attrs.frozen
class Operation:
    """One operation of the reference: ``client.<resource>.<method_name>``."""

    name: str
    """``resource.method_name``, as in operations.json."""
    method: str
    path: str
    """May hold ``{param}`` placeholders (``/api/v1/c2f/order/{type}/rate``)."""
    account: bool
    """The envelope carries ``account``."""
    payload: Literal["required", "optional", "none"]
    response: Any = None
    """Model class the answer is structured into; ``None`` returns the decoded JSON."""
    idempotency_field: str | None = None
    """Payload field that makes a create unique (``idempotencyKey``)."""
    money_moving: bool = False
    confidence: str = "openapi"


NO_BLIND_RETRY = frozenset({"exchanges.create", "customer_purse.create_customer"})
"""Creates with no idempotency field whose repetition has effects: retried only when provably unsent.

The reference lists exactly these two (README, Idempotency); any ``x-money-moving`` operation without an
idempotency field is treated the same way.
"""

IDEMPOTENT_LOOKUP: dict[str, tuple[str, str]] = {
    "invoices.create_single": ("invoices.get", "idempotencyKey"),
    "invoices.create_single_fiat": ("invoices.get", "idempotencyKey"),
    "invoices.create_bound": ("invoices.get", "idempotencyKey"),
    "invoices.create_unlimited": ("invoices.get", "idempotencyKey"),
    "payment_widgets.create_unlimited_linked": ("payment_widgets.get_unlimited_linked", "requestId"),
    "payment_widgets.create_single_fiat": ("payment_widgets.get_single_fiat", "requestId"),
    "payouts.create": ("payouts.get", "idempotencyKey"),
    "payouts.create_mass": ("payouts.get_mass", "idempotencyKey"),
}
"""Create -> (get operation, payload field) that finds the object by its idempotency key.

Used by the retry recipe's "fetch by key" step. Hand-written: the spec does not link them (widgets are read
by ``requestId``, presumed to be the creating key). A create missing here (``fiat_deposits.generate_key``)
raises the duplicate-key error to the caller, with the key, instead of fetching.
"""
