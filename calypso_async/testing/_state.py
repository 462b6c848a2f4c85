"""The fake server's world: accounts, balances, rates and every object created through the API.

Why one state object: operations touch each other (a payout debits the balance ``account.get`` shows, a paid
invoice credits it, an exchange moves money between currencies), so they share one coherent store. Everything
random comes from ``random.Random(seed)``: two servers with the same seed start identical, and the same
sequence of calls yields the same ids, addresses and hashes. Money is ``Decimal`` throughout.

Objects are kept as their wire dicts (camelCase, what the API answers) wrapped in small records that add what
the API does not show (owning account, amounts received so far).
"""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._http import ApiError, bad_request, iso

if TYPE_CHECKING:
    from ._webhooks import WebhookDispatcher

__all__ = [
    "CURRENCIES",
    "FIATS",
    "Account",
    "Currency",
    "Emit",
    "Record",
    "State",
    "trim",
]

Emit = Callable[[str, str, dict[str, Any]], None]


@attrs.frozen
class Currency:
    code: str
    scale: int
    usd: Decimal
    """Reference price in USD before the seeded jitter."""
    chain: str
    token: bool = False


CURRENCIES: tuple[Currency, ...] = (
    Currency("BTC", 8, Decimal("67000"), "bitcoin"),
    Currency("ETH", 18, Decimal("3500"), "ethereum"),
    Currency("LTC", 8, Decimal("85"), "litecoin"),
    Currency("TRX", 6, Decimal("0.12"), "tron"),
    Currency("USDT_TRX", 6, Decimal("1"), "tron", token=True),
    Currency("USDT_ERC20", 6, Decimal("1"), "ethereum", token=True),
    Currency("USDC_ERC20", 6, Decimal("1"), "ethereum", token=True),
    Currency("BNB", 18, Decimal("590"), "bsc"),
    Currency("USDT_BSC", 18, Decimal("1"), "bsc", token=True),
    Currency("POL", 18, Decimal("0.5"), "polygon"),
)

FIATS: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "BRL": Decimal("5.05"),
    "ARS": Decimal("905"),
}
"""Units of each fiat per 1 USD."""

FEE_RATE = Decimal("0.005")
"""Service fee on payouts, invoices and exchanges: 0.5 %."""

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def trim(value: Decimal) -> Decimal:
    """Drop trailing fractional zeros, never into exponent form (``Decimal('100')``, not ``Decimal('1E+2')``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@attrs.define
class Account:
    id: str
    name: str
    owner_id: str
    balances: dict[str, Decimal]


class AccountBook(MutableMapping[str, "Account"]):
    """The server's accounts by id: explicit ones (seeded, added) plus ``generated`` ones made on first use.

    Why lazy: a fake server with 100,000 accounts for a poller test or benchmark costs a counter until an account
    is read; each generated account gets the same plain balances (1 BTC, 100 USDT_TRX) when it is first touched.
    Generated ids share a prefix derived from the seed and end in the account's index (hex).
    """

    def __init__(self, seed: int, owner: str) -> None:
        self._explicit: dict[str, Account] = {}
        self._made: dict[int, Account] = {}
        self._deleted: set[int] = set()
        self._generated = 0
        self._owner = owner
        self._prefix = "0x" + hashlib.sha256(f"calypso-accounts:{seed}".encode()).hexdigest()[:16]

    def generate(self, count: int) -> None:
        """Add ``count`` generated accounts (created when first read)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self._generated += count

    def explicit(self) -> list[Account]:
        """The accounts that are not generated (seeded or added), in order."""
        return list(self._explicit.values())

    def generated_id(self, index: int) -> str:
        return f"{self._prefix}{index:024x}"

    def _index(self, key: object) -> int | None:
        if not isinstance(key, str) or len(key) != 42 or not key.startswith(self._prefix):
            return None
        try:
            index = int(key[18:], 16)
        except ValueError:
            return None
        return index if index < self._generated and index not in self._deleted else None

    def __getitem__(self, key: str) -> Account:
        found = self._explicit.get(key)
        if found is not None:
            return found
        index = self._index(key)
        if index is None:
            raise KeyError(key)
        account = self._made.get(index)
        if account is None:
            balances = {"BTC": Decimal("1"), "USDT_TRX": Decimal("100")}
            account = self._made[index] = Account(key, f"Account {index + 1}", self._owner, balances)
        return account

    def __contains__(self, key: object) -> bool:
        return key in self._explicit or self._index(key) is not None

    def __setitem__(self, key: str, value: Account) -> None:
        index = self._index(key)
        if index is not None:
            self._made[index] = value
        else:
            self._explicit[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._explicit:
            del self._explicit[key]
            return
        index = self._index(key)
        if index is None:
            raise KeyError(key)
        self._made.pop(index, None)
        self._deleted.add(index)

    def __iter__(self) -> Iterator[str]:
        yield from list(self._explicit)
        deleted = self._deleted
        for index in range(self._generated):
            if index not in deleted:
                yield self.generated_id(index)

    def __len__(self) -> int:
        return len(self._explicit) + self._generated - len(self._deleted)


@attrs.define
class Record:
    """One stored object: its wire dict plus what only the server knows."""

    account: str
    data: dict[str, Any]
    received: Decimal = Decimal(0)
    extra: dict[str, Any] = attrs.field(factory=dict)


def _noop_emit(event_type: str, service: str, data: dict[str, Any]) -> None:
    return None


class State:
    """All data of one fake server; deterministic from ``seed``."""

    def __init__(
        self, seed: int, clock: Callable[[], float], emit: Emit = _noop_emit, *, accounts: int | None = None
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.emit = emit
        keys = random.Random(f"calypso-keys:{seed}")
        self.api_key = f"{keys.getrandbits(128):032x}"
        self.secret_key = f"{keys.getrandbits(128):032x}"
        self.rng = random.Random(f"calypso-data:{seed}")
        self._counter = 1000 + self.rng.randrange(1000, 9000)
        self.currencies: dict[str, Currency] = {c.code: c for c in CURRENCIES}
        self.usd: dict[str, Decimal] = {
            c.code: (c.usd * Decimal(self.rng.randint(9800, 10200)) / Decimal(10000)).quantize(Decimal("0.000001"))
            for c in CURRENCIES
        }
        self.fiat_per_usd: dict[str, Decimal] = dict(FIATS)
        self.accounts = AccountBook(seed, owner="")
        """``accounts=N``: exactly N accounts (the first seeded ones, then generated ones made on first use)."""
        self._account_count = accounts
        self.user: dict[str, Any] = {}
        # Stores filled by the handler modules (keys: system id).
        self.invoices: dict[str, Record] = {}
        self.invoice_keys: dict[str, str] = {}
        self.widgets: dict[str, Record] = {}
        self.payouts: dict[str, Record] = {}
        self.payout_keys: dict[str, str] = {}
        self.withdrawals: dict[str, Record] = {}
        self.settlement_payouts: dict[str, Record] = {}
        self.settlement_keys: dict[str, str] = {}
        self.settlement_withdrawals: dict[str, Record] = {}
        self.exchanges: dict[int, Record] = {}
        self.customers: dict[str, Record] = {}
        self.purses: dict[tuple[str, str], Record] = {}
        self.purse_transactions: dict[str, Record] = {}
        self.settlement_wallets: dict[str, Record] = {}
        self.settlement_transactions: list[Record] = []
        self.fiat_withdrawal_orders: dict[str, Record] = {}
        self.fiat_deposit_orders: dict[str, Record] = {}
        self.fiat_deposit_keys: dict[str, Record] = {}
        self.fiat_orders: dict[str, Record] = {}
        self.c2f_orders: dict[str, Record] = {}
        self.geos: list[dict[str, Any]] = []
        self.webhook_created: dict[str, str] = {}
        self.webhooks: WebhookDispatcher | None = None
        """Subscriptions live in the server's dispatcher; attached by the server."""
        self._seed_accounts()

    # ------------------------------------------------------------------------------------ generators

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_id(self) -> str:
        """System ids: numeric strings (webhooks carry them as numbers)."""
        self._counter += 1
        return str(self._counter)

    def hex(self, chars: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(chars))

    def address(self, currency: str) -> str:
        chain = self.currency(currency).chain if currency in self.currencies else "ethereum"
        if chain == "bitcoin":
            return "bc1q" + "".join(self.rng.choice(string.ascii_lowercase + "023456789") for _ in range(38))
        if chain == "litecoin":
            return "ltc1q" + "".join(self.rng.choice(string.ascii_lowercase + "023456789") for _ in range(38))
        if chain == "tron":
            return "T" + "".join(self.rng.choice(_B58) for _ in range(33))
        return "0x" + self.hex(40)

    def tx_hash(self, currency: str) -> str:
        chain = self.currency(currency).chain if currency in self.currencies else "ethereum"
        return ("0x" if chain in ("ethereum", "bsc", "polygon") else "") + self.hex(64)

    def now(self) -> float:
        return self.clock()

    def now_iso(self, offset: float = 0.0) -> str:
        return iso(self.clock() + offset)

    # ----------------------------------------------------------------------------------- currencies

    def currency(self, code: str) -> Currency:
        found = self.currencies.get(code)
        if found is None:
            raise bad_request(f"Unsupported currency {code!r}; supported: {', '.join(self.currencies)}")
        return found

    def quantize(self, amount: Decimal, code: str) -> Decimal:
        """Round down to the currency's scale, without trailing zeros (``0.5``, not ``0.500000000000000000``)."""
        scale = self.currencies[code].scale if code in self.currencies else 8
        return trim(amount.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN))

    def rate(self, source: str, target: str) -> Decimal:
        """How many ``target`` one ``source`` buys (crypto or fiat codes), 12 significant decimals."""
        return trim((self.price_usd(source) / self.price_usd(target)).quantize(Decimal("0.000000000001")))

    def price_usd(self, code: str) -> Decimal:
        if code in self.usd:
            return self.usd[code]
        if code in self.fiat_per_usd:
            return Decimal(1) / self.fiat_per_usd[code]
        raise bad_request(f"Unsupported currency {code!r}")

    # ------------------------------------------------------------------------------------ accounts

    def account(self, account_id: str) -> Account:
        found = self.accounts.get(account_id)
        if found is None:
            raise ApiError(400, "004", f"Account {account_id} not found or not available to this API key")
        return found

    def balance(self, account_id: str, currency: str) -> Decimal:
        return self.account(account_id).balances.get(currency, Decimal(0))

    def credit(self, account_id: str, currency: str, amount: Decimal) -> None:
        balances = self.account(account_id).balances
        balances[currency] = balances.get(currency, Decimal(0)) + amount

    def debit(self, account_id: str, currency: str, amount: Decimal, what: str) -> None:
        """Take ``amount`` or refuse with 001 and a message that says how much is missing."""
        available = self.balance(account_id, currency)
        if available < amount:
            raise bad_request(f"Insufficient balance for {what}: {currency} available {available}, required {amount}")
        self.account(account_id).balances[currency] = available - amount

    def fee(self, amount: Decimal, currency: str) -> Decimal:
        return self.quantize(amount * FEE_RATE, currency)

    def _seed_accounts(self) -> None:
        rng = self.rng
        owner = self.uuid()
        company = self.uuid()
        names = ["Main account", "Treasury", "Payouts", "Marketplace"]
        for index, name in enumerate(names[: 3 + rng.randint(0, 1)]):
            account_id = "0x" + self.hex(40)
            balances: dict[str, Decimal] = {}
            for currency in CURRENCIES:
                usd_value = Decimal(rng.randint(20_000, 250_000)) if index == 0 else Decimal(rng.randint(0, 20_000))
                amount = usd_value / self.usd[currency.code]
                balances[currency.code] = trim(
                    amount.quantize(Decimal(1).scaleb(-min(currency.scale, 8)), rounding=ROUND_DOWN)
                )
            self.accounts[account_id] = Account(account_id, name, owner, balances)
        self.accounts._owner = owner
        wanted = self._account_count
        if wanted is not None:
            if wanted < 1:
                raise ValueError("accounts must be >= 1")
            for extra in list(self.accounts)[wanted:]:
                del self.accounts[extra]
            self.accounts.generate(wanted - len(self.accounts))
        permission_groups = [
            {"groupId": 1, "name": "INVOICE", "permissionData": {"create": "true", "read": "true"}},
            {"groupId": 2, "name": "PAYOUT", "permissionData": {"create": "true", "read": "true"}},
            {"groupId": 3, "name": "EXCHANGE", "permissionData": {"create": "true", "read": "true"}},
            {"groupId": 4, "name": "CUSTOMER_PURSE", "permissionData": {"create": "true", "read": "true"}},
        ]
        self.user = {
            "userFullInfo": {
                "id": owner,
                "username": f"merchant{rng.randint(100, 999)}@example.com",
                "companyId": company,
                "companyName": rng.choice(["Acme Payments Ltd", "Northwind Traders", "Globex Digital"]),
                "active": True,
                "blocked": False,
                "roles": ["ADMIN"],
            },
            "permissions": [
                {"accountId": a.id, "accountName": a.name, "permissionGroups": permission_groups}
                for a in self.accounts.explicit()
            ],
            "availableAccounts": [{"account": a.id, "name": a.name} for a in self.accounts.explicit()],
        }
