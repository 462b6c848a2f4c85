"""``balances --watch``: the BalancePoller drives the output; ``--max-changes`` ends it deterministically.

The fake server's ``account.get`` handler is wrapped so the world changes *per request* (after the CLI's
first read, on the poller's n-th poll), never by wall-clock time; the short ``--interval`` only keeps the run
fast.
"""

from __future__ import annotations

import io
import re
import sys
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import _json
from calypso_async.cli import main
from calypso_async.testing import FakeCalypso
from calypso_async.testing import handlers as fake_handlers
from calypso_async.testing._http import ApiError

from .conftest import Cli


def script_account_get(
    monkeypatch: pytest.MonkeyPatch, steps: dict[tuple[str, int], Callable[[Any], None]]
) -> Counter[str]:
    """Run ``steps[(account, n)](call)`` before the n-th ``account.get`` of that account is answered."""
    real = fake_handlers.HANDLERS["account.get"]
    calls: Counter[str] = Counter()

    def handler(call: Any) -> Any:
        calls[call.account] += 1
        step = steps.get((call.account, calls[call.account]))
        if step is not None:
            step(call)
        return real(call)

    monkeypatch.setitem(fake_handlers.HANDLERS, "account.get", handler)
    return calls


def set_balance(currency: str, amount: str) -> Callable[[Any], None]:
    def apply(call: Any) -> None:
        call.state.accounts[call.account].balances[currency] = Decimal(amount)

    return apply


def test_watch_prints_a_change_and_stops_after_max_changes(
    env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.set_balance(env.account_id, "BTC", Decimal("1.5"))
    script_account_get(monkeypatch, {(env.account_id, 2): set_balance("BTC", "2.25")})
    r = cli("balances", "--watch", "--interval", "0.05", "--max-changes", "1", "--currency", "BTC")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == f"Account {env.account_id} (Main account)"
    assert lines[2].split() == ["BTC", "1.5"]
    change = lines[-1]
    assert f"{env.account_id}  BTC  1.5 -> 2.25  (+0.75)" in change
    assert "watching 1 account(s) every 0.05 s" in r.err


def test_watch_json_lines_and_poll_errors_do_not_stop_it(
    env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(call: Any) -> None:
        raise ApiError(503, "000", "maintenance")

    env.set_balance(env.account_id, "ETH", Decimal("3"))
    script_account_get(
        monkeypatch,
        {(env.account_id, 2): down, (env.account_id, 3): set_balance("ETH", "3.000000000000000001")},
    )
    r = cli("balances", "--watch", "--json", "--interval", "0.05", "--max-changes", "1", "--currency", "ETH")
    assert r.code == 0, r.err
    snapshot, change = (_json.loads(line) for line in r.out.splitlines())
    assert snapshot == {
        "event": "snapshot",
        "account": env.account_id,
        "balances": [{"currency": "ETH", "amount": Decimal("3")}],
    }
    assert change["event"] == "change"
    assert (change["previous"], change["new"], change["delta"]) == (
        Decimal("3"),
        Decimal("3.000000000000000001"),
        Decimal("0.000000000000000001"),
    )
    assert f"calypso: warning: polling {env.account_id} failed: ServerError: maintenance (HTTP 503" in r.err


def test_watch_several_accounts(env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = env.accounts[:2]
    calls = script_account_get(monkeypatch, {(first, 2): set_balance("LTC", "1"), (second, 2): set_balance("LTC", "2")})
    r = cli(
        "balances", "--watch", "--interval", "0.05", "--max-changes", "2", "--currency", "LTC",
        "--account", first, "--account", second,
    )  # fmt: skip
    assert r.code == 0, r.err
    changes = [line for line in r.out.splitlines() if "->" in line]
    assert sorted(c.split()[1] for c in changes) == sorted([first, second])
    assert calls[first] >= 2 and calls[second] >= 2


def test_watch_fails_fast_with_bad_keys(env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_API_KEY", "not-the-key")
    r = cli("balances", "--watch", "--interval", "0.05")
    assert r.code == 1
    assert "AuthenticationError" in r.err and "errorCode 002" in r.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_watch_on_a_terminal_redraws_the_table(env: FakeCalypso, monkeypatch: pytest.MonkeyPatch) -> None:
    env.set_balance(env.account_id, "BTC", Decimal("1"))
    script_account_get(monkeypatch, {(env.account_id, 2): set_balance("BTC", "0.5")})
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    monkeypatch.setenv("COLUMNS", "200")  # no line wraps: one terminal row per line
    code = main(["balances", "--watch", "--interval", "0.05", "--max-changes", "1", "--currency", "BTC"])
    assert code == 0
    text = screen.getvalue()
    frames = re.split(r"\r\x1b\[\d+A\x1b\[J", text)  # up over the previous frame, clear below, redraw
    assert len(frames) == 2
    assert "\x1b[2J" not in text and "\x1b[H" not in text  # the screen is never cleared
    assert int(re.findall(r"\x1b\[(\d+)A", text)[0]) == len(frames[0].splitlines())
    assert frames[0].splitlines()[1].split() == ["BTC", "1", "-"]
    assert frames[1].splitlines()[1].split() == ["BTC", "0.5", "-0.5"]
    assert "1 change(s)" in frames[1] and "Ctrl-C to stop" in frames[1]
