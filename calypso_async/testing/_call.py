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

__all__ = ["Call", "Handler"]


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

    def amount(self, name: str, *, required: bool = True, allow_zero: bool = False) -> Decimal | None:
        """A positive Decimal amount from the payload (schema checks already guarantee it is a number)."""
        value = self.payload.get(name)
        if value is None:
            if required:
                raise bad_request(f"payload.{name} is required")
            return None
        amount = Decimal(value)
        if amount < 0 or (amount == 0 and not allow_zero):
            raise bad_request(f"payload.{name} must be positive, got {amount}")
        return amount


Handler = Callable[[Call], Any]
