"""Address shapes per chain family: a payout to an address of the wrong chain is refused with 400 / 001.

Why shapes and not checksums: the fake server must catch the mistakes integrations make (a TRON address for an
ERC-20 payout, ``0xabc`` pasted for USDT_TRX, a truncated copy), not re-implement base58check and bech32.
The rules are one table keyed by the chain of the currency (:data:`~._state.CURRENCIES`); a chain missing from
it accepts any address without spaces.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["ADDRESS_RULES", "AddressRule", "address_problem"]

_B58 = "1-9A-HJ-NP-Za-km-z"
"""Base58 alphabet: digits and letters without 0, O, I and l."""


@attrs.frozen
class AddressRule:
    family: str
    """Human name of the chain family, used in the error message."""
    shape: str
    """What a valid address looks like, in words."""
    pattern: re.Pattern[str]


def _rule(family: str, shape: str, pattern: str) -> AddressRule:
    return AddressRule(family, shape, re.compile(pattern))


_EVM = _rule("EVM (Ethereum, ERC-20, BSC, Polygon)", "'0x' followed by 40 hexadecimal digits", r"0x[0-9a-fA-F]{40}")

ADDRESS_RULES: dict[str, AddressRule] = {
    "tron": _rule("TRON (TRX, TRC-20)", "base58, 'T' followed by 33 characters", rf"T[{_B58}]{{33}}"),
    "ethereum": _EVM,
    "bsc": _EVM,
    "polygon": _EVM,
    "bitcoin": _rule(
        "Bitcoin",
        "bech32 'bc1...' (14-74 characters) or base58 starting with 1 or 3 (26-35 characters)",
        rf"bc1[a-z0-9]{{11,71}}|BC1[A-Z0-9]{{11,71}}|[13][{_B58}]{{25,34}}",
    ),
    "litecoin": _rule(
        "Litecoin",
        "bech32 'ltc1...' (15-75 characters) or base58 starting with L, M or 3 (26-34 characters)",
        rf"ltc1[a-z0-9]{{11,71}}|LTC1[A-Z0-9]{{11,71}}|[LM3][{_B58}]{{25,33}}",
    ),
}
"""Chain (``Currency.chain``) -> the shape its addresses must have."""


def address_problem(address: str, chain: str, currency: str) -> str | None:
    """Why ``address`` cannot receive ``currency`` on ``chain``, or ``None`` when its shape fits.

    >>> address_problem("0xabc", "tron", "USDT_TRX")
    "'0xabc' is not a TRON (TRX, TRC-20) address for USDT_TRX (expected base58, 'T' followed by 33 characters)"
    """
    rule = ADDRESS_RULES.get(chain)
    if rule is None or rule.pattern.fullmatch(address):
        return None
    shown = address if len(address) <= 80 else address[:77] + "..."
    return f"{shown!r} is not a {rule.family} address for {currency} (expected {rule.shape})"
