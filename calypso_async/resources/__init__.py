"""PLACEHOLDER until scripts/generate_api.py exists: hand-written stand-in with the generated shape.

The generator replaces this whole package. Shape it must keep:
  * ``AsyncResources``: base class of AsyncCalypso, one annotated attribute per resource, ``_init_resources``;
  * ``OPERATIONS``: ``{"resource.method": Operation}`` for every operation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import attrs

from .._model import Model, field
from .._operation import Operation
from .._resource import AsyncResource

if TYPE_CHECKING:
    from .._client import AsyncCalypso


@attrs.define(kw_only=True)
class AccountBalance(Model):
    currency: str | None = field("currency")
    amount: Decimal | None = field("amount")


@attrs.define(kw_only=True)
class AccountResponseDTO(Model):
    account: str | None = field("account")
    name: str | None = field("name")
    owner_id: str | None = field("ownerId")
    balances: list[AccountBalance] | None = field("balances")


ACCOUNT_GET = Operation(
    name="account.get", method="POST", path="/api/v1/account", account=True, payload="none",
    response=AccountResponseDTO,
)

OPERATIONS: dict[str, Operation] = {op.name: op for op in (ACCOUNT_GET,)}


class AsyncAccount(AsyncResource):
    async def get(
        self, *, account: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> AccountResponseDTO:
        """Get the account. ``POST /api/v1/account``.

        >>> await client.account.get()  # doctest: +SKIP
        """
        result: AccountResponseDTO = await self._client._call(
            ACCOUNT_GET, None, account=account, timeout=timeout, max_retries=max_retries
        )
        return result


class AsyncResources:
    account: AsyncAccount

    def _init_resources(self) -> None:
        client = cast("AsyncCalypso", self)
        self.account = AsyncAccount(client)


__all__ = ["AsyncResources", "OPERATIONS", "AsyncAccount"]
_ = Any
