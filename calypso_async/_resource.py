"""Base of the resource classes (``client.payouts``, ``client.invoices``, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import AsyncCalypso

__all__ = ["AsyncResource"]


class AsyncResource:
    """A group of operations sharing the client's transport, clock and retry policy."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncCalypso) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
