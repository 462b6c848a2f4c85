"""The demo's sync turn: the same client from plain blocking code, after the async tour.

``python -m calypso_sync.demo`` (and ``calypso demo``) runs the whole tour of :mod:`calypso_async.demo`, then
this part; it lives here because the async package never imports the sync one.
"""

from __future__ import annotations

from decimal import Decimal

from calypso_async import demo as _async_demo
from calypso_async.testing import FakeCalypso

from . import Calypso

__all__ = ["main", "sync_turn"]


def sync_turn() -> None:
    """A blocking client against a fake server on its own thread: what a Flask view or a script does."""
    print("\n== The same from sync code (calypso_sync)")
    with (
        FakeCalypso.run_in_thread(seed=3) as server,
        Calypso(server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url) as client,
    ):
        account = client.account.get()
        total = sum((b.amount or Decimal(0) for b in account.balances or []), Decimal(0))
        print(f"   {len(account.balances or [])} balances, sum of amounts {total} (blocking call, private loop)")


def main() -> None:
    """The whole tour: async flows, then the sync facade."""
    _async_demo.main(then=sync_turn)


if __name__ == "__main__":
    main()
