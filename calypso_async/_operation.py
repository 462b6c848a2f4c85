"""What the client needs to know about one API operation (generated from the spec, see ``scripts/``)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = ["IDEMPOTENT_LOOKUP", "NO_BLIND_RETRY", "Lookup", "Operation"]


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


@attrs.frozen
class Lookup:
    """How to find the object a create made, by the key it was created with.

    ``operation`` is called with ``{field: key}``; when ``in_list`` is set, ``operation`` is a list call (no
    payload) and the object is the item of that attribute whose ``field`` equals the key.
    """

    operation: str
    field: str
    in_list: str | None = None


IDEMPOTENT_LOOKUP: dict[str, Lookup] = {
    "invoices.create_single": Lookup("invoices.get", "idempotencyKey"),
    "invoices.create_single_fiat": Lookup("invoices.get", "idempotencyKey"),
    "invoices.create_bound": Lookup("invoices.get", "idempotencyKey"),
    "invoices.create_unlimited": Lookup("invoices.get", "idempotencyKey"),
    "payment_widgets.create_unlimited_linked": Lookup("payment_widgets.get_unlimited_linked", "requestId"),
    "payment_widgets.create_single_fiat": Lookup("payment_widgets.get_single_fiat", "requestId"),
    "payouts.create": Lookup("payouts.get", "idempotencyKey"),
    "payouts.create_mass": Lookup("payouts.get_mass", "idempotencyKey"),
    "webhooks.create": Lookup("webhooks.list", "requestId", in_list="subscriptions"),
}
"""Create -> how to find what it created, for the retry recipe's "fetch by key" step.

Hand-written: the spec does not link them (widgets are read by ``requestId``, presumed to be the creating key;
a subscription is found in ``webhooks.list`` by its ``requestId``). A create missing here
(``fiat_deposits.generate_key``) raises the duplicate-key error to the caller, with the key, instead.
"""
