"""Exit codes scripts can rely on, and errors people can read: one line with errorCode and traceId."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from calypso_async.cli import (
    EXIT_API_ERROR,
    EXIT_CONNECTION,
    EXIT_INTERRUPTED,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_USAGE,
)
from calypso_async.testing import FakeCalypso, Fault

from .conftest import Cli

ADDRESS = "TXyz9wqvRz1U7d7Q3d8yX1rXoKXbqvW8Ju"


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("calypso: error:")]


def test_api_error_is_one_line_with_error_code_and_trace_id(env: FakeCalypso, cli: Cli) -> None:
    r = cli("invoices", "get", "999999")
    assert r.code == EXIT_API_ERROR
    assert r.out == ""
    lines = _error_lines(r.err)
    assert len(lines) == 1 and len(r.err.splitlines()) == 1
    line = lines[0]
    assert "NotFoundError" in line and "errorCode 004" in line and "operation invoices.get" in line
    trace_id = env.requests[-1]
    assert "traceId " in line
    assert "Traceback" not in r.err
    assert trace_id.status == 400


def test_server_error_after_retries_exits_1(env: FakeCalypso, cli: Cli) -> None:
    env.inject("/api/v1/account", Fault.status(500, times=1))
    r = cli("balances", "--max-retries", "0")
    assert r.code == EXIT_API_ERROR
    assert "ServerError" in r.err and "HTTP 500" in r.err and "errorCode 000" in r.err


def test_timeout_exits_3(env: FakeCalypso, cli: Cli) -> None:
    env.inject("/api/v1/account", Fault.delay(30.0))
    r = cli("balances", "--timeout", "0.2", "--max-retries", "0")
    assert r.code == EXIT_CONNECTION
    assert "APITimeoutError" in r.err
    assert len(r.err.splitlines()) == 1


def test_keyed_payout_timeout_exits_3_and_says_how_to_check(env: FakeCalypso, cli: Cli) -> None:
    env.inject("/api/v1/payout/create", Fault.delay(30.0))
    r = cli(
        "payouts", "create", "--amount", "1", "--currency", "USDT_TRX", "--address", ADDRESS, "--yes",
        "--timeout", "0.2", "--max-retries", "0",
    )  # fmt: skip
    assert r.code == EXIT_CONNECTION
    key = r.err.split("idempotency key: ")[1].split()[0]
    error = _error_lines(r.err)[0]
    assert f"calypso payouts get --idempotency-key {key}" in error
    # the answer was only delayed: the payout exists, and the key the CLI printed finds it
    found = cli("payouts", "get", "--idempotency-key", key)
    assert found.code == 0 and key in found.out


def test_unkeyed_exchange_timeout_exits_4(env: FakeCalypso, cli: Cli) -> None:
    env.inject("/api/v1/exchange/create", Fault.delay(30.0))
    r = cli(
        "exchange", "create", "--from", "USDT_TRX", "--to", "BTC", "--amount", "10", "--yes",
        "--timeout", "0.2",
    )  # fmt: skip
    assert r.code == EXIT_OUTCOME_UNKNOWN
    assert "OutcomeUnknownError" in r.err and "calypso balances" in r.err
    assert sum(q.operation == "exchanges.create" for q in env.requests) == 1  # never retried blindly


def test_connection_refused_exits_3(clean_env: Any, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        monkeypatch.setenv("CALYPSO_API_KEY", "k" * 32)
        monkeypatch.setenv("CALYPSO_SECRET_KEY", "s" * 32)
        r = cli("whoami", "--base-url", f"http://127.0.0.1:{port}", "--max-retries", "0")
    assert r.code == EXIT_CONNECTION
    assert "APIConnectionError" in r.err


def test_missing_credentials_exit_2_with_a_clear_message(clean_env: Any, cli: Cli) -> None:
    r = cli("balances")
    assert r.code == EXIT_USAGE
    assert r.err.startswith("calypso: error: no API credentials: set CALYPSO_API_KEY and CALYPSO_SECRET_KEY")
    assert "--profile" in r.err


def test_half_the_key_pair_exits_2(clean_env: Any, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_API_KEY", "abc")
    r = cli("whoami")
    assert r.code == EXIT_USAGE
    assert "CALYPSO_API_KEY is set but CALYPSO_SECRET_KEY is not" in r.err


def test_plain_http_to_a_remote_host_is_refused(env: FakeCalypso, cli: Cli) -> None:
    r = cli("whoami", "--base-url", "http://api.example.com")
    assert r.code == EXIT_USAGE
    assert "refusing plain http://" in r.err


def test_wrong_secret_is_an_authentication_error(env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_SECRET_KEY", "0" * 32)
    r = cli("whoami")
    assert r.code == EXIT_API_ERROR
    assert "AuthenticationError" in r.err and "errorCode 003" in r.err
    assert "0" * 32 not in r.err


def test_usage_errors_exit_2(env: FakeCalypso, cli: Cli) -> None:
    assert cli().code == EXIT_USAGE
    assert cli("nonsense").code == EXIT_USAGE
    assert cli("balances", "--interval", "-1").code == EXIT_USAGE
    assert cli("payouts", "create", "--amount", "1").code == EXIT_USAGE
    assert cli("invoices", "create", "--amount", "-5", "--currency", "ETH", "--description", "x").code == EXIT_USAGE
    assert cli("balances", "--timeout", "0").code == EXIT_USAGE
    assert not env.requests


def test_help_and_version_exit_0(cli: Cli) -> None:
    r = cli("--help")
    assert r.code == 0
    for command in ("demo", "fake-server", "whoami", "balances", "invoices", "payouts", "exchange", "raw", "webhooks"):
        assert command in r.out
    assert "exit codes: 0 ok, 1 API error" in r.out
    assert cli("--version").out.startswith("calypso ")
    assert cli("payouts", "mass", "--help").code == 0


def test_debug_shows_the_traceback_and_logs(env: FakeCalypso, cli: Cli) -> None:
    r = cli("invoices", "get", "999999", "--debug")
    assert r.code == EXIT_API_ERROR
    assert "Traceback (most recent call last)" in r.err
    assert "NotFoundError" in r.err
    assert env.secret_key not in r.err
    logs = [line for line in r.err.splitlines() if line.startswith("calypso: debug: ")]
    assert logs and not any(line.startswith("calypso: debug: calypso:") for line in logs)


def test_interrupt_exits_130(env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(ctx: Any) -> int:
        raise KeyboardInterrupt  # what Ctrl-C raises in the CLI's thread (asyncio.run re-raises it too)

    monkeypatch.setattr("calypso_async.cli.account._balances", interrupted)  # handlers are bound per main() call
    r = cli("balances")
    assert r.code == EXIT_INTERRUPTED
    assert r.err == "calypso: interrupted\n"


def test_an_unexpected_bug_is_reported_not_hidden(env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr("calypso_async.cli.invoices._get", broken)
    r = cli("invoices", "get", "1")
    assert r.code == EXIT_API_ERROR
    assert r.err == (
        "calypso: error: unexpected RuntimeError: boom (a bug in calypso? run with --debug for the traceback)\n"
    )
    assert "Traceback" in cli("invoices", "get", "1", "--debug").err


def test_secrets_never_appear_in_any_output(env: FakeCalypso, cli: Cli, tmp_path: Any) -> None:
    outputs = [
        cli("whoami"),
        cli("whoami", "--json", "--debug"),
        cli("balances", "--debug"),
        cli("invoices", "get", "1", "--debug"),
        cli("raw", "/api/v1/user/current", "--no-account", "--debug"),
        cli("payouts", "create", "--amount", "1", "--currency", "USDT_TRX", "--address", ADDRESS, "-y", "--debug"),
    ]
    for result in outputs:
        assert env.secret_key not in result.all
