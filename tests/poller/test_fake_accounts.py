"""FakeCalypso(accounts=N): thousands of accounts are cheap (made on first use) and behave like any other."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from calypso_async.testing import FakeCalypso


def test_exactly_n_accounts_with_stable_ids() -> None:
    server = FakeCalypso(seed=4, accounts=20_000)
    ids = server.accounts
    assert len(ids) == 20_000 and len(set(ids)) == 20_000
    assert all(a.startswith("0x") and len(a) == 42 for a in ids[:10] + ids[-10:])
    assert ids == FakeCalypso(seed=4, accounts=20_000).accounts  # deterministic from the seed
    assert ids[:3] == FakeCalypso(seed=4).accounts[:3]  # the seeded accounts come first
    assert FakeCalypso(seed=4, accounts=2).accounts == ids[:2]


def test_accounts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FakeCalypso(accounts=0)


async def test_generated_accounts_answer_and_can_be_changed() -> None:
    async with FakeCalypso(seed=4, accounts=5_000) as server, server.client() as client:
        account = server.accounts[4_321]
        answer = await client.account.get(account=account)
        assert {b.currency: b.amount for b in answer.balances or ()} == {"BTC": Decimal(1), "USDT_TRX": Decimal(100)}
        server.set_balance(account, "ETH", Decimal("2.5"))
        assert server.balance(account, "ETH") == Decimal("2.5")
        with pytest.raises(LookupError, match="5,000 accounts"):
            server.balance("0x" + "f" * 40, "BTC")


async def test_add_account() -> None:
    async with FakeCalypso(seed=4) as server, server.client() as client:
        before = len(server.accounts)
        made = server.add_account(balances={"BTC": Decimal("0.5")})
        named = server.add_account("0x" + "ab" * 20, name="Cold wallet")
        assert server.accounts[-2:] == [made, named] and len(server.accounts) == before + 2
        answer = await client.account.get(account=made)
        assert [(b.currency, b.amount) for b in answer.balances or ()] == [("BTC", Decimal("0.5"))]
        with pytest.raises(ValueError, match="exists already"):
            server.add_account(named)
        with pytest.raises(TypeError):
            server.add_account(balances={"BTC": 1})  # type: ignore[dict-item]
    await asyncio.sleep(0)
