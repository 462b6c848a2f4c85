"""One shard of a sharded poller, as its own process (run by test_shards.py, never collected by pytest).

    CALYPSO_POLLER_SHARD=1/4 python tests/poller/shard_worker.py BASE_URL API_KEY SECRET SEED ACCOUNTS STORE

Watches every account of ``FakeCalypso(seed=SEED, accounts=ACCOUNTS)`` (the poller keeps its shard's), polls each
once on a ManualClock with a SQLiteStore, and prints one JSON line: the accounts kept and the changes seen.
"""

from __future__ import annotations

import asyncio
import json
import sys

from calypso_async import AsyncCalypso, BalanceChange, BalancePoller, ManualClock, SQLiteStore
from calypso_async.testing import FakeCalypso


async def main(base_url: str, api_key: str, secret: str, seed: int, count: int, store: str) -> None:
    ids = FakeCalypso(seed=seed, accounts=count).accounts
    changes: list[list[str]] = []

    def seen(change: BalanceChange) -> None:
        changes.append([change.account, change.currency, str(change.previous), str(change.new), change.dedup_key])

    async with AsyncCalypso(api_key, secret, base_url=base_url) as client:
        store_ = SQLiteStore(store)
        poller = BalancePoller(
            client, ids, interval=10, first_poll_spread=0, clock=ManualClock(), store=store_, on_change=seen
        )
        async with poller:
            await poller.advance(1)  # every account due at once: each polled exactly once
            polled = poller.stats().polls
    print(json.dumps({"shard": poller.shard, "accounts": poller.accounts, "polls": polled, "changes": changes}))


if __name__ == "__main__":
    url, key, secret, seed, count, store = sys.argv[1:]
    asyncio.run(main(url, key, secret, int(seed), int(count), store))
