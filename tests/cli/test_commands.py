"""Every API command against the fake server: output for people, exact ``--json`` for scripts, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from calypso_async import _json
from calypso_async.testing import FakeCalypso
from calypso_async.testing import handlers as fake_handlers

from .conftest import Cli

ADDRESS = "TXyz9wqvRz1U7d7Q3d8yX1rXoKXbqvW8Ju"


def jload(text: str) -> Any:
    """Parse CLI JSON the way a careful script would: numbers as exact Decimals."""
    return _json.loads(text)


# ------------------------------------------------------------------------------------------- whoami


def test_whoami_shows_user_accounts_and_masks_the_key(env: FakeCalypso, cli: Cli) -> None:
    r = cli("whoami")
    assert r.code == 0, r.err
    assert "environment (CALYPSO_API_KEY, CALYPSO_SECRET_KEY)" in r.out
    assert env.api_key not in r.out and env.api_key[:4] + "…" + env.api_key[-4:] in r.out
    assert env.secret_key not in r.all
    for account in env.accounts:
        assert account in r.out
    assert f"* {env.account_id}" in r.out  # the default account is marked


def test_whoami_json(env: FakeCalypso, cli: Cli) -> None:
    r = cli("whoami", "--json")
    assert r.code == 0
    data = json.loads(r.out)
    assert data["defaultAccount"] == env.account_id
    assert data["baseUrl"] == env.base_url
    assert [a["account"] for a in data["user"]["availableAccounts"]] == env.accounts
    assert env.secret_key not in r.all


# ----------------------------------------------------------------------------------------- balances


def test_balances_table_is_exact_and_aligned(env: FakeCalypso, cli: Cli) -> None:
    env.set_balance(env.account_id, "BTC", Decimal("0.000000000000000001"))
    env.set_balance(env.account_id, "ETH", Decimal("1E+3"))
    r = cli("balances", "--currency", "btc", "--currency", "ETH")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith(f"Account {env.account_id}")
    assert lines[1].split() == ["CURRENCY", "AMOUNT"]
    btc = next(line for line in lines if line.startswith("BTC"))
    eth = next(line for line in lines if line.startswith("ETH"))
    assert "0.000000000000000001" in btc and "E" not in btc
    assert "1000" in eth and "E+" not in eth
    assert btc.index(".") == eth.index("1000") + 4  # decimal points line up (ETH has none: right after 1000)


def test_balances_json_keeps_every_digit(env: FakeCalypso, cli: Cli) -> None:
    env.set_balance(env.account_id, "USDT_TRX", Decimal("12.500"))
    r = cli("balances", "--json", "--currency", "USDT_TRX")
    assert r.code == 0
    assert '"amount": 12.500' in r.out  # a bare JSON number, trailing zero kept
    data = jload(r.out)
    assert data == [
        {
            "account": env.account_id,
            "name": "Main account",
            "balances": [{"currency": "USDT_TRX", "amount": Decimal("12.500")}],
        }
    ]


def test_balances_of_several_accounts(env: FakeCalypso, cli: Cli) -> None:
    first, second = env.accounts[:2]
    r = cli("balances", "--account", first, "--account", second, "--currency", "BTC")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].split()[:3] == ["ACCOUNT", "NAME", "CURRENCY"]
    assert first in r.out and second in r.out


def test_global_options_work_before_the_command(env: FakeCalypso, cli: Cli) -> None:
    r = cli("--json", "balances", "--currency", "BTC")
    assert r.code == 0
    assert jload(r.out)[0]["account"] == env.account_id


# ----------------------------------------------------------------------------------------- invoices


def test_invoice_create_and_get(env: FakeCalypso, cli: Cli) -> None:
    r = cli("invoices", "create", "--amount", "0.015", "--currency", "ETH", "--description", "Order #1042", "--json")
    assert r.code == 0, r.err
    invoice = jload(r.out)
    assert invoice["amount"] == Decimal("0.015") and invoice["state"] == "PENDING_PAYMENT"
    request = next(q for q in env.requests if q.operation == "invoices.create_single")
    assert b'"amount":0.015' in request.body  # sent as an exact number, never a float
    env.pay_invoice(invoice["id"], Decimal("0.015"))

    by_id = cli("invoices", "get", invoice["id"])
    assert by_id.code == 0
    assert "PENDING_PAYMENT" not in by_id.out and invoice["idempotencyKey"] in by_id.out
    assert "0.015 ETH" in by_id.out

    by_key = cli("invoices", "get", "--idempotency-key", invoice["idempotencyKey"], "--json")
    assert jload(by_key.out)["id"] == invoice["id"]


def test_invoice_get_needs_exactly_one_lookup(env: FakeCalypso, cli: Cli) -> None:
    r = cli("invoices", "get")
    assert r.code == 2
    assert "exactly one" in r.err
    assert not env.requests


def test_invoice_amount_must_be_a_decimal(env: FakeCalypso, cli: Cli) -> None:
    r = cli("invoices", "create", "--amount", "0.1.2", "--currency", "ETH", "--description", "x")
    assert r.code == 2
    assert "not a decimal amount" in r.err
    r = cli("invoices", "create", "--amount", "nan", "--currency", "ETH", "--description", "x")
    assert r.code == 2
    r = cli("invoices", "create", "--amount", "1", "--currency", "ETH", "--description", "x", "--expiration", "soon")
    assert r.code == 2 and "not an ISO-8601 date-time" in r.err
    assert not env.requests


# ------------------------------------------------------------------------------------------ payouts


def test_payout_create_with_yes_prints_the_key_first(env: FakeCalypso, cli: Cli) -> None:
    before = env.balance(env.account_id, "USDT_TRX")
    r = cli("payouts", "create", "--amount", "25.5", "--currency", "USDT_TRX", "--address", ADDRESS, "--yes")
    assert r.code == 0, r.err
    key = r.err.split("idempotency key: ")[1].split()[0]
    assert f"idempotency key  {key}" in r.out
    assert "25.5 USDT_TRX" in r.out
    assert env.balance(env.account_id, "USDT_TRX") < before
    found = cli("payouts", "get", "--idempotency-key", key, "--json")
    assert jload(found.out)["idempotencyKey"] == key


def test_payout_create_reuses_a_given_key(env: FakeCalypso, cli: Cli) -> None:
    key = "6f1c7a38-3bb6-4bd6-9d41-8f6a5a8a1e01"
    args = ("payouts", "create", "--amount", "1", "--currency", "USDT_TRX", "--address", ADDRESS, "-y")
    first = cli(*args, "--idempotency-key", key, "--json")
    assert first.code == 0
    assert jload(first.out)["idempotencyKey"] == key
    same = cli(*args, "--idempotency-key", key, "--json")
    assert same.code == 0  # the same request again: the first payout, never a second one
    assert jload(same.out)["id"] == jload(first.out)["id"]
    other = ("payouts", "create", "--amount", "2", "--currency", "USDT_TRX", "--address", ADDRESS, "-y")
    again = cli(*other, "--idempotency-key", key)
    assert again.code == 1  # the key reused for another payout is refused
    assert "errorCode 016" in again.err
    assert sum(1 for p in env.state.payouts.values() if p.data.get("idempotencyKey") == key) == 1


def test_payout_create_without_terminal_or_yes_sends_nothing(env: FakeCalypso, cli: Cli) -> None:
    r = cli("payouts", "create", "--amount", "1", "--currency", "USDT_TRX", "--address", ADDRESS)
    assert r.code == 2
    assert "--yes" in r.err and "Nothing was sent" in r.err
    assert not any(q.operation == "payouts.create" for q in env.requests)


def test_payout_create_asks_on_a_terminal(env: FakeCalypso, cli: Cli) -> None:
    args = ("payouts", "create", "--amount", "2", "--currency", "USDT_TRX", "--address", ADDRESS)
    declined = cli(*args, stdin="n\n", tty=True)
    assert declined.code == 2
    assert "Send 2 USDT_TRX to " + ADDRESS in declined.err and "[y/N]" in declined.err
    assert not any(q.operation == "payouts.create" for q in env.requests)
    accepted = cli(*args, stdin="y\n", tty=True)
    assert accepted.code == 0, accepted.err
    assert sum(q.operation == "payouts.create" for q in env.requests) == 1


def _recipients(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "recipients.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["address", "amount", "comment"])
        for address, amount in rows:
            writer.writerow([address, amount, "salary"])
    return path


def test_mass_payout_waits_with_progress(
    env: FakeCalypso, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _recipients(
        tmp_path, [(ADDRESS, "10"), ("TQ5NB2ZgE8d7CPL8DPk6ZxSRj9dnoPDmkr", "0.000001"), (ADDRESS, "2.5")]
    )
    real_get_mass = fake_handlers.HANDLERS["payouts.get_mass"]

    def get_mass_then_advance(call: Any) -> Any:
        fake_handlers.advance_payouts(call.state, 1)  # the world moves one step per poll: no clock involved
        return real_get_mass(call)

    monkeypatch.setitem(fake_handlers.HANDLERS, "payouts.get_mass", get_mass_then_advance)
    r = cli(
        "payouts", "mass", "--file", str(path), "--currency", "USDT_TRX", "--yes", "--wait",
        "--poll-interval", "0.01",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "mass payout" in r.err and "created: CREATION_IN_PROGRESS" in r.err
    assert "IN_PROGRESS, 0/3 withdrawal(s) completed" in r.err
    assert "COMPLETED, 3/3 withdrawal(s) completed" in r.err
    assert re.search(r"^withdrawals +3$", r.out, re.M) and "12.500001 USDT_TRX" in r.out
    sent = next(q for q in env.requests if q.operation == "payouts.create_mass")
    assert b'"amount":0.000001' in sent.body


def test_mass_payout_rejects_bad_rows_before_sending(env: FakeCalypso, cli: Cli, tmp_path: Path) -> None:
    path = _recipients(tmp_path, [(ADDRESS, "10"), (ADDRESS, "ten")])
    r = cli("payouts", "mass", "--file", str(path), "--currency", "USDT_TRX", "--yes")
    assert r.code == 2
    assert "line 3" in r.err and "not a decimal amount" in r.err
    assert not env.requests


def test_mass_payout_from_stdin_and_get_mass(env: FakeCalypso, cli: Cli) -> None:
    r = cli(
        "payouts", "mass", "-f", "-", "--currency", "USDT_TRX", "-y", "--json", stdin=f"address,amount\n{ADDRESS},3\n"
    )
    assert r.code == 0, r.err
    payout = jload(r.out)
    assert payout["amount"] == Decimal("3")
    shown = cli("payouts", "get", payout["id"], "--mass")
    assert shown.code == 0
    assert "WITHDRAWAL" in shown.out and ADDRESS in shown.out


# ----------------------------------------------------------------------------------------- exchange


def test_exchange_quote_create_get(env: FakeCalypso, cli: Cli) -> None:
    quote = cli("exchange", "quote", "--from", "USDT_TRX", "--to", "BTC", "--amount", "100", "--json")
    assert quote.code == 0, quote.err
    quoted = jload(quote.out)["amount"]
    assert isinstance(quoted, Decimal) and quoted > 0
    human = cli("exchange", "quote", "--from", "USDT_TRX", "--to", "BTC", "--amount", "100")
    assert "you give   100 USDT_TRX" in human.out

    refused = cli("exchange", "create", "--from", "USDT_TRX", "--to", "BTC", "--amount", "100")
    assert refused.code == 2
    done = cli("exchange", "create", "--from", "USDT_TRX", "--to", "BTC", "--amount", "100", "--yes", "--json")
    assert done.code == 0, done.err
    exchange = jload(done.out)
    assert exchange["sourceAmount"] == Decimal("100")
    got = cli("exchange", "get", str(exchange["id"]))
    assert got.code == 0
    assert "100 USDT_TRX" in got.out


# ---------------------------------------------------------------------------------------------- raw


def test_raw_call_is_signed_and_exact(env: FakeCalypso, cli: Cli) -> None:
    r = cli("raw", "/api/v1/account")
    assert r.code == 0, r.err
    assert jload(r.out)["account"] == env.account_id
    rates = cli("raw", "rate", '{"fromCurrencies": ["BTC"], "toCurrencies": ["USDT_TRX"]}', "--no-account")
    assert rates.code == 0, rates.err
    assert jload(rates.out)["currencyRates"][0]["fromCurrency"] == "BTC"


def test_raw_payload_from_stdin_keeps_decimals(env: FakeCalypso, cli: Cli) -> None:
    body = '{"amount": 0.123456789012345678, "currency": "ETH", "description": "raw"}'
    r = cli("raw", "/api/v1/invoice/single/create", "-", stdin=body)
    assert r.code == 0, r.err
    assert jload(r.out)["amount"] == Decimal("0.123456789012345678")
    sent = next(q for q in env.requests if q.operation == "invoices.create_single")
    assert b'"amount":0.123456789012345678' in sent.body


def test_raw_rejects_bad_json_and_urls(env: FakeCalypso, cli: Cli) -> None:
    assert cli("raw", "/api/v1/account", "{nope").code == 2
    assert cli("raw", "https://evil.example/api/v1/account").code == 2
    assert not env.requests


# -------------------------------------------------------------------------------------------- purse


def _customer(env: FakeCalypso, cli: Cli) -> str:
    r = cli("raw", "/api/v1/customer-purse/customer/create", '{"email": "c@example.com"}')
    assert r.code == 0, r.err
    customer_id: str = jload(r.out)["id"]
    return customer_id


def test_purse_export_all_pages_as_csv_with_progress(env: FakeCalypso, cli: Cli) -> None:
    customer = _customer(env, cli)
    env.add_purse_transactions(customer, 250)
    r = cli("purse", "transactions", "--all", "--csv", "--page-size", "100")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 250
    assert len({row["id"] for row in rows}) == 250
    assert set(rows[0]) == {
        "id", "createdDate", "currency", "amount", "transactionState", "complianceState",
        "translationToAccountCompleted", "addressFrom", "transactionHash",
    }  # fmt: skip
    for row in rows:
        assert "E" not in row["amount"] and Decimal(row["amount"]) > 0
    assert "exported 100 transaction(s) (1 page(s))" in r.err
    assert "exported 200 transaction(s) (2 page(s))" in r.err
    assert r.err.rstrip().endswith("exported 250 transaction(s)")
    pages = [q.json["payload"]["pageNumber"] for q in env.requests if q.operation == "customer_purse.find_transactions"]
    assert pages == [0, 1, 2]  # lazy auto-paging: one request per page, stops at the short page


def test_purse_export_quiet_and_json_lines(env: FakeCalypso, cli: Cli) -> None:
    customer = _customer(env, cli)
    env.add_purse_transactions(customer, 3, currency="ETH")
    r = cli("purse", "transactions", "--all", "--json", "--quiet", "--currency", "eth", "--customer", customer)
    assert r.code == 0
    assert r.err == ""
    items = [jload(line) for line in r.out.splitlines()]
    assert len(items) == 3 and all(item["currency"] == "ETH" for item in items)


def test_purse_one_page_table(env: FakeCalypso, cli: Cli) -> None:
    customer = _customer(env, cli)
    env.add_purse_transactions(customer, 5)
    r = cli("purse", "transactions", "--page-size", "2")
    assert r.code == 0
    assert r.out.splitlines()[0].split() == ["CREATED", "CURRENCY", "AMOUNT", "STATE", "ID"]
    assert len(r.out.splitlines()) == 3
    assert "page 0: 2 of 5 transaction(s)" in r.err
    too_big = cli("purse", "transactions", "--all", "--page-size", "5000")
    assert too_big.code == 2


def test_quiet_still_records_a_generated_payout_key(env: FakeCalypso, cli: Cli) -> None:
    args = ("payouts", "create", "--amount", "1", "--currency", "USDT_TRX", "--address", ADDRESS, "-y", "-q")
    generated = cli(*args, "--json")
    assert generated.code == 0
    key = jload(generated.out)["idempotencyKey"]
    assert generated.err == f"idempotency key: {key}\n"  # the one line --quiet keeps: it finds the payout
    given = cli(*args, "--idempotency-key", "0b7c2a54-8a40-4c55-9a8e-3c9d3e9f2a10")
    assert given.code == 0 and given.err == ""
