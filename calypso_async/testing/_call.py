"""What a handler gets: the checked request, reduced to the parts an operation needs.

Handlers are plain functions ``(Call) -> data``: the protocol checks (key, signature, timestamp, envelope,
schema) have all passed by the time one runs, so handlers only do business logic. They return JSON-ready data
(``Decimal`` for amounts) or raise :class:`~calypso_async.testing._http.ApiError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._http import bad_request
from ._state import State

__all__ = ["Call", "Handler", "check_amount"]


@attrs.frozen
class Call:
    operation: str
    state: State
    account: str
    """The envelope's account ("" for operations without one)."""
    payload: Mapping[str, Any]
    path_params: Mapping[str, str] = attrs.field(factory=dict)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.payload.get(name, default)
        return None if value is None else str(value)

    def require_str(self, name: str) -> str:
        value = self.payload.get(name)
        if value is None or value == "":
            raise bad_request(f"payload.{name} is required")
        return str(value)

    def amount(self, name: str, currency: str | None = None) -> Decimal:
        """A required positive amount, within ``currency``'s decimal places when given."""
        found = self.optional_amount(name, currency)
        if found is None:
            raise bad_request(f"payload.{name} is required")
        return found

    def optional_amount(self, name: str, currency: str | None = None) -> Decimal | None:
        return check_amount(self.state, self.payload.get(name), f"payload.{name}", currency)


def check_amount(state: State, value: Any, where: str, currency: str | None = None) -> Decimal | None:
    """``value`` as a positive Decimal (``None`` stays ``None``), else 001 naming ``where``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise bad_request(f"{where} must be a number")
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise bad_request(f"{where} must be a number, got {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise bad_request(f"{where} must be positive, got {value}")
    if currency is not None and currency in state.currencies:
        scale = state.currencies[currency].scale
        exponent = amount.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            raise bad_request(f"{where} {amount} has more decimal places than {currency} allows ({scale})")
    return amount


Handler = Callable[[Call], Any]
