"""Concurrency: 64 tasks share one async client, 16 threads share one sync client, with faults interleaved.

Every caller works with its own values (account, amounts, external ids, idempotency keys, customer names) and
checks that what it gets back is its own; at the end the server must hold exactly one object per caller and
create (at most one for un-keyed creates that ended in ``OutcomeUnknownError``). The server clock runs 100 s
ahead (inside the ±180 s window): the client's measured offset must stay consistent for every caller, and no
request may be rejected for its timestamp.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import OutcomeUnknownError
from calypso_async.testing import FakeCalypso, Fault

from ._support import ADDRESS, async_client, fund, policy, sync_client, threaded_server

SKEW = 100.0
RETRIES = 6

# Faults the engine recovers from for reads and keyed creates, spaced out by no-op faults (a zero clock jump)
# so that they land on different calls.
RECOVERABLE = [
    Fault.drop_after_processing(),
    Fault.status(503),
    Fault.truncated(),
    Fault.malformed(b'{"trunc'),
    Fault.status(429, retry_after=0),
    Fault.drop(),
    Fault.html(502),
    Fault.empty(),
]


def queue_faults(server: FakeCalypso, count: int, spacing: int = 4) -> None:
    for i in range(count):
        server.inject("*", Fault.skew_jump(0.0, times=spacing + i % 3))
        server.inject("*", RECOVERABLE[i % len(RECOVERABLE)])


class Caller:
    """What caller ``n`` sends, and how it checks that the answers are its own."""

    def __init__(self, n: int, accounts: list[str]) -> None:
        self.n = n
        self.account = accounts[n % len(accounts)]
        self.invoice_amount = Decimal("0.5") + Decimal(n) / Decimal(10_000)
        self.payout_amount = Decimal("2") + Decimal(n) / Decimal(1_000)
        self.external_id = f"caller-{n}-{uuid.uuid4().hex[:8]}"
        self.payout_key = str(uuid.uuid4())
        self.customer = f"customer of caller {n}"
        self.offsets: list[float] = []
        self.customer_outcome = "not tried"

    def check_account(self, account: Any) -> None:
        assert account.account == self.account, "another caller's account"

    def check_invoice(self, invoice: Any) -> None:
        assert invoice.amount == self.invoice_amount and invoice.external_id == self.external_id

    def check_payout(self, payout: Any) -> None:
        assert payout.amount == self.payout_amount and payout.idempotency_key == self.payout_key


async def run_async_caller(client: Any, me: Caller) -> None:
    me.check_account(await client.account.get(account=me.account))
    invoice = await client.invoices.create_single(
        amount=me.invoice_amount, currency="ETH", description=f"order of {me.n}", external_id=me.external_id,
        account=me.account,
    )  # fmt: skip
    me.check_invoice(invoice)
    me.offsets.append(client.clock_offset)
    me.check_invoice(await client.invoices.get(id=invoice.id, account=me.account))
    payout = await client.payouts.create(
        deposit_address=ADDRESS, amount=me.payout_amount, currency="USDT_TRX", idempotency_key=me.payout_key,
        account=me.account,
    )  # fmt: skip
    me.check_payout(payout)
    me.check_payout(await client.payouts.get(idempotency_key=me.payout_key, account=me.account))
    me.offsets.append(client.clock_offset)
    try:
        customer = await client.customer_purse.create_customer(description=me.customer, account=me.account)
    except OutcomeUnknownError:
        me.customer_outcome = "unknown"
    else:
        assert customer.description == me.customer
        me.customer_outcome = "created"
    me.check_account(await client.account.get(account=me.account))
    me.offsets.append(client.clock_offset)


def run_sync_caller(client: Any, me: Caller) -> None:
    me.check_account(client.account.get(account=me.account))
    invoice = client.invoices.create_single(
        amount=me.invoice_amount, currency="ETH", description=f"order of {me.n}", external_id=me.external_id,
        account=me.account,
    )  # fmt: skip
    me.check_invoice(invoice)
    me.offsets.append(client.clock_offset)
    me.check_invoice(client.invoices.get(id=invoice.id, account=me.account))
    payout = client.payouts.create(
        deposit_address=ADDRESS, amount=me.payout_amount, currency="USDT_TRX", idempotency_key=me.payout_key,
        account=me.account,
    )  # fmt: skip
    me.check_payout(payout)
    me.check_payout(client.payouts.get(idempotency_key=me.payout_key, account=me.account))
    me.offsets.append(client.clock_offset)
    try:
        customer = client.customer_purse.create_customer(description=me.customer, account=me.account)
    except OutcomeUnknownError:
        me.customer_outcome = "unknown"
    else:
        assert customer.description == me.customer
        me.customer_outcome = "created"
    me.check_account(client.account.get(account=me.account))
    me.offsets.append(client.clock_offset)


def check_server(server: FakeCalypso, callers: list[Caller], caplog: pytest.LogCaptureFixture) -> None:
    state = server.state
    for me in callers:
        invoices = [r for r in state.invoices.values() if r.data.get("externalId") == me.external_id]
        assert len(invoices) == 1, f"caller {me.n}: {len(invoices)} invoices"
        assert invoices[0].account == me.account
        payouts = [r for r in state.payouts.values() if r.data.get("idempotencyKey") == me.payout_key]
        assert len(payouts) == 1 and payouts[0].account == me.account
        customers = [r for r in state.customers.values() if r.data.get("description") == me.customer]
        assert len(customers) == (1 if me.customer_outcome == "created" else len(customers))
        assert len(customers) <= 1, f"caller {me.n}: {len(customers)} customers"
    assert len(state.invoices) == len(callers) and len(state.payouts) == len(callers)
    for me in callers:
        assert me.offsets and all(abs(offset - SKEW) < 3.0 for offset in me.offsets), me.offsets
    rejected = [r for r in caplog.records if "timestamp rejected" in r.getMessage()]
    assert not rejected, "no request may be rejected for its timestamp"


def fund_all(server: FakeCalypso) -> None:
    fund(server)
    for account in server.accounts:
        server.set_balance(account, "USDT_TRX", Decimal("1000000"))


async def test_64_tasks_share_one_async_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="calypso")
    async with FakeCalypso(seed=21, skew=SKEW) as server:
        fund_all(server)
        callers = [Caller(n, server.accounts) for n in range(64)]
        queue_faults(server, 60)
        async with async_client(server, retry_policy=policy(RETRIES), timeout=10.0) as client:
            results = await asyncio.wait_for(
                asyncio.gather(*(run_async_caller(client, me) for me in callers), return_exceptions=True), 120
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            assert not errors, errors[:3]
            assert abs(client.clock_offset - SKEW) < 3.0
        assert server.pending_faults == 0, "every injected fault was met"
        check_server(server, callers, caplog)
        statuses = [r.status for r in server.requests]
        assert statuses.count(None) >= 1 and statuses.count(503) >= 1  # faults did hit
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_16_threads_share_one_sync_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="calypso")
    with threaded_server(seed=22, skew=SKEW) as server:
        fund_all(server)
        callers = [Caller(n, server.accounts) for n in range(16)]
        queue_faults(server, 16)
        client = sync_client(server, retry_policy=policy(RETRIES), timeout=10.0)
        errors: list[BaseException] = []
        start = threading.Barrier(len(callers))

        def worker(me: Caller) -> Callable[[], None]:
            def run() -> None:
                start.wait(30)
                try:
                    run_sync_caller(client, me)
                except BaseException as exc:
                    errors.append(exc)

            return run

        try:
            threads = [threading.Thread(target=worker(me), name=f"caller-{me.n}") for me in callers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            if any(t.is_alive() for t in threads):
                pytest.fail("a caller thread did not finish within 120 s (hang)")
            assert not errors, errors[:3]
            assert abs(client.clock_offset - SKEW) < 3.0
        finally:
            client.close()
        assert server.pending_faults == 0
        check_server(server, callers, caplog)


async def test_concurrent_first_calls_with_a_server_clock_beyond_the_window() -> None:
    """64 tasks start at once against a server 4 minutes ahead: each is rejected at most once (011) and
    re-signs; once learnt, the offset holds for everyone: a second wave of 64 calls sees no rejection."""
    async with FakeCalypso(seed=23, skew=240.0) as server:
        async with async_client(server, retry_policy=policy(RETRIES), timeout=10.0) as client:
            accounts = await asyncio.wait_for(asyncio.gather(*(client.account.get() for _ in range(64))), 60)
            assert all(a.account == server.account_id for a in accounts)
            assert abs(client.clock_offset - 240.0) < 3.0
            first_wave = list(server.requests)
            rejected = [r for r in first_wave if r.status == 400]
            assert len(rejected) <= 64 and len(first_wave) - len(rejected) == 64
            await asyncio.wait_for(asyncio.gather(*(client.account.get() for _ in range(64))), 60)
            second_wave = server.requests[len(first_wave) :]
            assert [r.status for r in second_wave] == [200] * 64
            assert abs(client.clock_offset - 240.0) < 3.0
