"""Commands that own the process: ``demo``, ``fake-server`` (served until a signal), ``python -m calypso_async.cli``.

Short, bounded runs: each process is read with a deadline (``read_until``/``finish``) and never waited for by
sleeping; servers are stopped with a signal once the test has used them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from calypso_async import _json
from calypso_async.testing import FakeCalypso

from .conftest import REPO, Cli, cli_env, finish, read_until, spawn


def test_installed_command_adds_the_sync_turn_to_the_demo() -> None:
    code, out, err = finish(spawn("demo", module="calypso_sync.cli"), timeout=60)
    assert code == 0, err
    assert "== The same from sync code (calypso_sync)" in out
    assert out.index("== Clock:") < out.index("== The same from sync code") < out.index("Done. Every request")


def test_demo_runs_the_tour() -> None:
    code, out, err = finish(spawn("demo"), timeout=40)
    assert code == 0, err
    sections = (
        "== Who am I",
        "== Balances of",
        "== Invoice paid",
        "== Payout whose connection drops",
        "== Exchange: quote, then execute",
        "== Clock:",
        "Done. Every request above was signed",
    )
    for section in sections:
        assert section in out


def test_fake_server_prints_its_keys_and_serves_until_interrupted(
    clean_env: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = spawn("fake-server", "--port", "0", "--seed", "5", "--skew", "90")
    try:
        head = read_until(proc, "Ctrl-C to stop")
        settings = dict(line.split("=", 1) for line in head.splitlines() if line.startswith("CALYPSO_") and "=" in line)
        assert set(settings) == {"CALYPSO_BASE_URL", "CALYPSO_API_KEY", "CALYPSO_SECRET_KEY", "CALYPSO_ACCOUNT"}
        assert "accounts: " + settings["CALYPSO_ACCOUNT"] in head
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        r = cli("whoami")  # the printed settings are all a client needs (and the 90 s skew is absorbed)
        assert r.code == 0, r.err
        assert settings["CALYPSO_ACCOUNT"] in r.out
        proc.send_signal(signal.SIGINT)
    finally:
        code, _, err = finish(proc)
    assert code == 0, err


def test_listen_stops_cleanly_on_sigterm() -> None:
    proc = spawn("webhooks", "listen", "--port", "0", env=cli_env(CALYPSO_WEBHOOK_SECRET="s"))
    try:
        read_until(proc, "listening on")
        proc.send_signal(signal.SIGTERM)
    finally:
        code, _, err = finish(proc)
    assert code == 0, err
    assert "stopped: 0 delivery(ies) accepted, 0 rejected" in err


def test_python_dash_m_and_exit_codes_reach_the_shell(tmp_path: Path) -> None:
    env = cli_env(HOME=str(tmp_path), CALYPSO_CONFIG=str(tmp_path / "none.ini"))
    done = subprocess.run(
        [sys.executable, "-m", "calypso_async.cli", "--help"], capture_output=True, cwd=REPO, env=env, timeout=30
    )
    assert done.returncode == 0 and b"usage: calypso" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "calypso_async.cli", "balances"], capture_output=True, cwd=REPO, env=env, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.startswith(b"calypso: error: no API credentials")


def test_export_into_a_closed_pipe_ends_quietly(env: FakeCalypso, cli: Cli) -> None:
    created = cli("raw", "/api/v1/customer-purse/customer/create", '{"email": "c@example.com"}')
    env.add_purse_transactions(_json.loads(created.out)["id"], 3000)  # far more than a pipe buffer holds
    proc = spawn(
        "purse", "transactions", "--all", "--csv", "--page-size", "1000",
        env=cli_env(
            CALYPSO_API_KEY=env.api_key, CALYPSO_SECRET_KEY=env.secret_key,
            CALYPSO_ACCOUNT=env.account_id, CALYPSO_BASE_URL=env.base_url,
        ),
    )  # fmt: skip
    try:
        assert read_until(proc, "\n").startswith("id,createdDate,currency,amount")
        assert proc.stdout is not None
        proc.stdout.close()  # like `| head -1`
    finally:
        code, _, err = finish(proc)
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err
