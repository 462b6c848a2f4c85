"""Payout addresses are checked against the shape of the currency's chain: a wrong-family address is refused
with the API's 400 / 001 (single payouts) or fails its item (mass payouts); unknown chains accept anything."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async import AsyncCalypso, BadRequestError
from calypso_async.testing import FakeCalypso
from calypso_async.testing._addresses import ADDRESS_RULES, address_problem
from calypso_async.testing._state import CURRENCIES, State

TRON = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
EVM = "0x52908400098527886e0f7030069857d2e4169ee7"
BTC_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
BTC_BASE58 = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
LTC = "ltc1qg82xvdzwyvx8ecpx5m6v5pxx9fzm2nfa6ljzfp"

VALID = {"tron": TRON, "ethereum": EVM, "bsc": EVM, "polygon": EVM, "bitcoin": BTC_BECH32, "litecoin": LTC}
EXAMPLES = [TRON, EVM, BTC_BECH32, LTC, "0xabc", "T123", "bc1", "not-an-address"]


def test_every_chain_of_the_fake_server_has_a_rule() -> None:
    assert {c.chain for c in CURRENCIES} <= set(ADDRESS_RULES)


@pytest.mark.parametrize("currency", [c for c in CURRENCIES], ids=lambda c: c.code)
def test_each_currency_accepts_its_own_family_and_refuses_the_others(currency) -> None:
    good = VALID[currency.chain]
    assert address_problem(good, currency.chain, currency.code) is None
    for other in EXAMPLES:
        if other == good or (other == EVM and currency.chain in ("ethereum", "bsc", "polygon")):
            continue
        problem = address_problem(other, currency.chain, currency.code)
        assert problem is not None and currency.code in problem, other


def test_base58_bitcoin_and_upper_case_bech32_are_bitcoin_shapes() -> None:
    assert address_problem(BTC_BASE58, "bitcoin", "BTC") is None
    assert address_problem(BTC_BECH32.upper(), "bitcoin", "BTC") is None
    assert address_problem("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin", "BTC") is None


def test_tron_needs_base58_after_the_t() -> None:
    assert address_problem("T" + "0" * 33, "tron", "TRX") is not None  # 0 is not base58
    assert address_problem(TRON[:-1], "tron", "TRX") is not None


@given(st.text(min_size=1, max_size=60).filter(lambda s: not any(ch.isspace() for ch in s)))
def test_an_unknown_chain_accepts_any_address(address: str) -> None:
    assert address_problem(address, "some-new-chain", "NEW") is None


@given(st.integers(min_value=0, max_value=10_000))
def test_addresses_the_fake_server_generates_pass_its_own_rules(seed: int) -> None:
    state = State(seed, lambda: 0.0)
    for currency in CURRENCIES:
        assert address_problem(state.address(currency.code), currency.chain, currency.code) is None


async def test_usdt_trx_payout_to_an_evm_address_is_refused_with_400(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("100"))
    with pytest.raises(BadRequestError) as caught:
        await client.payouts.create(currency="USDT_TRX", amount=Decimal("1"), deposit_address="0xabc")
    assert caught.value.status_code == 400 and caught.value.error_code == "001"
    assert "depositAddress" in caught.value.message and "TRON" in caught.value.message
    assert server.balance(server.account_id, "USDT_TRX") == Decimal("100")  # nothing debited


async def test_erc20_payout_to_a_tron_address_is_refused(server: FakeCalypso, client: AsyncCalypso) -> None:
    server.set_balance(server.account_id, "USDT_ERC20", Decimal("100"))
    with pytest.raises(BadRequestError, match="EVM"):
        await client.payouts.create(currency="USDT_ERC20", amount=Decimal("1"), deposit_address=TRON)
    payout = await client.payouts.create(currency="USDT_ERC20", amount=Decimal("1"), deposit_address=EVM)
    assert payout.deposit_address == EVM


async def test_mass_payout_fails_only_the_item_with_a_wrong_family_address(
    server: FakeCalypso, client: AsyncCalypso
) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("100"))
    mass = await client.request(
        "/api/v1/payout/mass/create",
        {
            "currency": "USDT_TRX",
            "idempotencyKey": str(uuid.uuid4()),
            "withdrawals": [{"depositAddress": TRON, "amount": Decimal("1")}, {"depositAddress": EVM, "amount": 1}],
        },
    )
    assert mass["amount"] == Decimal("1")
    failed = [w for w in server.state.withdrawals.values() if w.data["state"] == "FAILED"]
    assert len(failed) == 1 and "TRON" in failed[0].data["withdrawalErrors"][0]["errorMessage"]
