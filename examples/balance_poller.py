"""Watch balances with the BalancePoller, against the embedded fake Calypso server (no keys, no network).

    python examples/balance_poller.py              # async API, runs 6 s (Ctrl-C stops it earlier)
    python examples/balance_poller.py --sync       # the same with calypso_sync, from plain blocking code
    python examples/balance_poller.py --seconds 3 --interval 0.5 --accounts 200
    python examples/balance_poller.py --store balances.db   # snapshots survive a restart: run it twice

What happens: the poller watches the fake server's accounts (``FakeCalypso(accounts=N)``) plus one account that
does not exist. A "customer" credits a random account now and then; each credit is reported once as a
BalanceChange. The missing account fails with NotFoundError and is backed off (1 s, 2 s, 4 s ...) while the
others keep their schedule. At the end the poller stops gracefully and prints its counters. With ``--store``,
the snapshots go to a SQLite file: a second run compares its first polls with them (the fake server starts
afresh each run, so the credits of the previous run show up as changes back to the starting balances).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
from decimal import Decimal

from calypso_async import BalanceChange, BalancePoller, PollError, SQLiteStore
from calypso_async.testing import FakeCalypso

MISSING = "0x" + "0" * 40


def show(event: BalanceChange | PollError) -> None:
    if isinstance(event, BalanceChange):
        was = "-" if event.previous is None else event.previous
        print(
            f"{event.observed_at:%H:%M:%S}  {event.account[:10]}…  {event.currency:<9} {was} -> {event.new}"
            f"  ({event.delta:+})"
        )
    else:
        print(
            f"{event.observed_at:%H:%M:%S}  {event.account[:10]}…  {type(event.error).__name__}; failure "
            f"{event.failures}, next try in {event.retry_in:.1f} s"
        )


def credit(server: FakeCalypso, rng: random.Random) -> None:
    """A customer pays: some account gets some USDT_TRX."""
    account = rng.choice(server.accounts)
    amount = Decimal(rng.randint(1, 500)) + Decimal(rng.randint(0, 99)) / 100
    server.set_balance(account, "USDT_TRX", server.balance(account, "USDT_TRX") + amount)


async def main_async(seconds: float, interval: float, accounts: int, store: str | None) -> None:
    rng = random.Random(1)
    async with FakeCalypso(accounts=accounts) as server, server.client() as client:
        poller = BalancePoller(
            client,
            [*server.accounts, MISSING],
            interval=interval,
            concurrency=8,
            store=SQLiteStore(store) if store else None,
        )
        async with poller:
            events = poller.events()

            async def customers() -> None:
                while True:
                    await asyncio.sleep(interval * 1.5)
                    credit(server, rng)

            async def show_events() -> None:
                async for event in events:
                    show(event)

            tasks = [asyncio.ensure_future(customers()), asyncio.ensure_future(show_events())]
            try:
                await asyncio.sleep(seconds)
            finally:
                tasks[0].cancel()
                await poller.stop()  # the event stream ends after its last event
                await asyncio.gather(*tasks, return_exceptions=True)
        print_summary(poller.stats(), poller.snapshot(server.accounts[0]))


def main_sync(seconds: float, interval: float, accounts: int, store: str | None) -> None:
    from calypso_sync import BalancePoller as SyncBalancePoller
    from calypso_sync import Calypso

    rng = random.Random(1)
    with FakeCalypso.run_in_thread(accounts=accounts) as server:
        with Calypso(server.api_key, server.secret_key, base_url=server.base_url) as client:
            poller = SyncBalancePoller(
                client,
                [*server.accounts, MISSING],
                interval=interval,
                concurrency=8,
                on_change=show,
                on_error=show,
                store=SQLiteStore(store) if store else None,
            )
            done = threading.Event()

            def customers() -> None:  # another thread: pays, then stops the poller
                while not done.wait(interval * 1.5):
                    credit(server, rng)

            def stop_later() -> None:
                done.wait(seconds)
                done.set()
                poller.stop()

            threading.Thread(target=customers, daemon=True).start()
            threading.Thread(target=stop_later, daemon=True).start()
            try:
                poller.run()  # callbacks run here, in the main thread, until stop() or Ctrl-C
            except KeyboardInterrupt:
                print("Ctrl-C: stopped")
            finally:
                done.set()
            print_summary(poller.stats(), poller.snapshot(server.accounts[0]))


def print_summary(stats: object, snapshot: object) -> None:
    print(f"\n{stats}")
    print(f"latest snapshot of the first account: {snapshot}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sync", action="store_true", help="use calypso_sync (blocking code) instead of asyncio")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to watch")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls of an account")
    parser.add_argument("--accounts", type=int, default=20, help="accounts on the fake server")
    parser.add_argument("--store", metavar="FILE", help="keep snapshots in this SQLite file (survives restarts)")
    args = parser.parse_args()
    if args.sync:
        main_sync(args.seconds, args.interval, args.accounts, args.store)
        return
    try:
        asyncio.run(main_async(args.seconds, args.interval, args.accounts, args.store))
    except KeyboardInterrupt:
        print("Ctrl-C: stopped")


if __name__ == "__main__":
    main()
