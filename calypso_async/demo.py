"""The README's main job: a tour of calypso against the embedded fake Calypso server.

Run it with ``python -m calypso_async.demo``: no credentials and no network needed. It shows what a user of a
payments SDK wants to see working: balances as exact Decimals, a customer paying an invoice, a payout with its
idempotency key surviving a dropped connection, an exchange quote and execution, clock-skew correction and
retries. ``calypso demo`` and ``python -m calypso_sync.demo`` add the sync facade doing the same from plain
blocking code (that part lives in :mod:`calypso_sync.demo`: the async package never imports the sync one).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .testing import FakeCalypso, Fault

__all__ = ["main"]


def _title(text: str) -> None:
    print(f"\n== {text}")


def _balances(account: Any) -> None:
    for balance in account.balances or []:
        print(f"   {balance.currency:<12} {balance.amount:>28}")


async def _tour(server: FakeCalypso) -> None:
    async with server.client() as client:
        _title("Who am I (user.current)")
        me = await client.user.current()
        user = me.user_full_info
        print(
            f"   user {user.username if user else '?'}; usable accounts:",
            ", ".join(a.account or "?" for a in me.available_accounts or []),
        )

        _title(f"Balances of {client.account_id} (account.get) — Decimal, never float")
        _balances(await client.account.get())

        _title("Rates (rates.get)")
        rates = await client.rates.get(from_currencies=["BTC", "ETH"], to_currencies=["USDT_TRX"])
        for rate in (rates.currency_rates or [])[:4]:
            print(f"   {rate.from_currency} -> {rate.to_currency}: {rate.rates}")

        _title("Invoice paid by a (simulated) customer")
        invoice = await client.invoices.create_single(
            amount=Decimal("0.015"), currency="ETH", description="Order #1042", external_id="order-1042"
        )
        print(
            f"   created {invoice.type} invoice {invoice.id} for {invoice.amount} {invoice.currency}: {invoice.state}"
        )
        print(f"   payment link https://pay.calypso.finance/invoice/{invoice.idempotency_key}")
        server.pay_invoice(invoice.id or "", Decimal("0.015"))
        paid = await client.invoices.get(id=invoice.id)
        print(f"   after payment: {paid.state}")

        _title("Payout whose connection drops after Calypso stored it (retried safely)")
        server.inject("/api/v1/payout/create", Fault.drop_after_processing())
        payout = await client.payouts.create(
            amount=Decimal("25.5"),
            currency="USDT_TRX",
            deposit_address="TXyz9wqvRz1U7d7Q3d8yX1rXoKXbqvW8Ju",
            external_id="withdrawal-77",
        )
        print(f"   payout {payout.id}: {payout.amount} {payout.currency}, state {payout.state}")
        print(f"   idempotency key {payout.idempotency_key} (same on both attempts; one payout exists)")
        server.advance_payouts()
        done = await client.payouts.get(idempotency_key=payout.idempotency_key)
        print(f"   later: {done.state}")

        _title("Exchange: quote, then execute")
        quote = await client.exchanges.pre_calculate(
            source_currency="USDT_TRX", destination_currency="BTC", amount=Decimal("100"), direction="SOURCE"
        )
        print(f"   100 USDT_TRX -> {quote.amount} BTC (quote)")
        exchange = await client.exchanges.create(
            source_currency="USDT_TRX", destination_currency="BTC", amount=Decimal("100")
        )
        print(
            f"   exchange {exchange.id}: {exchange.source_amount} {exchange.source_currency} -> "
            f"{exchange.destination_amount} {exchange.destination_currency}, {exchange.state}"
        )
        if exchange.id is not None:
            exchange = await client.exchanges.get(id=exchange.id)
            print(f"   polled with exchanges.get: {exchange.state}")

        _title("Balances now")
        _balances(await client.account.get())

        _title("Retries: the server answers 503, then 429 with Retry-After, then succeeds")
        server.inject("/api/v1/account", Fault.status(503))
        server.inject("/api/v1/account", Fault.status(429, retry_after=0.2))
        before = len(server.requests)
        await client.account.get()
        print(f"   account.get succeeded after {len(server.requests) - before} attempts, each freshly signed")


async def _skew_demo() -> None:
    _title("Clock: the server's clock runs 4 minutes ahead of this machine")
    async with FakeCalypso(seed=7, skew=240.0) as server, server.client() as client:
        await client.account.get()
        statuses = [r.status for r in server.requests]
        print(f"   first call: answers {statuses} (rejected once with 011, corrected, re-signed)")
        print(f"   measured offset {client.clock_offset:+.1f} s; next call: ", end="")
        await client.account.get()
        print(f"answer {server.requests[-1].status} on the first attempt")


async def _main() -> None:
    async with FakeCalypso(seed=42) as server:
        print(f"Embedded fake Calypso server at {server.base_url} (api key {server.api_key[:4]}…)")
        await _tour(server)
    await _skew_demo()


def main(*, then: Callable[[], None] | None = None) -> None:
    """Run the tour; ``then`` runs after the async part (``calypso demo`` adds the sync facade's turn there)."""
    logging.basicConfig(level=logging.WARNING, format="   log: %(message)s", stream=sys.stdout)
    asyncio.run(_main())
    if then is not None:
        then()
    print("\nDone. Every request above was signed, stamped and checked by the fake server.")


if __name__ == "__main__":
    main()
