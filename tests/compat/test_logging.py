"""CALYPSO_LOG=debug|info: calypso's own logging to stderr, secrets redacted."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from calypso_async._logs import RedactingFilter, _redact

SCRIPT = """
from calypso_async.testing import FakeCalypso
from calypso_sync import Calypso
with FakeCalypso.run_in_thread(seed=9) as server:
    print("SECRET", server.secret_key, "KEY", server.api_key, flush=True)
    with Calypso(server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url) as c:
        c.account.get()
"""


def _run(level: str | None) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CALYPSO_LOG"}
    if level is not None:
        env["CALYPSO_LOG"] = level
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


@pytest.mark.parametrize("level", ["debug", "DEBUG"])
def test_debug_logs_each_attempt_to_stderr_without_secrets(level: str) -> None:
    stdout, stderr = _run(level)
    secret, key = stdout.split()[1], stdout.split()[3]
    assert "DEBUG calypso] calypso POST /api/v1/account -> 200" in stderr
    assert secret not in stderr
    assert key not in stderr


def test_without_the_variable_calypso_stays_silent() -> None:
    _, stderr = _run(None)
    assert stderr == ""


def test_info_level_omits_per_attempt_lines() -> None:
    _, stderr = _run("info")
    assert "POST /api/v1/account" not in stderr


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        ("Sign: 5f1c0e4b9a8d7f6e5d4c", "5f1c0e4b9a8d7f6e5d4c"),
        ("secret_key='b823a6b9ea72408583cef9ec8d67fa52'", "b823a6b9ea72408583cef9ec8d67fa52"),
        ("via http://alice:hunter2hunter2@proxy:3128", "hunter2hunter2"),
        ("Proxy-Authorization: Basic YWxpY2U6aHVudGVyMg==", "YWxpY2U6aHVudGVyMg=="),
    ],
)
def test_redacting_filter_masks_secrets_that_reach_a_message(message: str, leaked: str) -> None:
    record = logging.LogRecord("calypso", logging.INFO, __file__, 1, "%s", (message,), None)
    assert RedactingFilter().filter(record)
    assert leaked not in record.getMessage()
    assert leaked not in _redact(message)


def test_idempotency_keys_and_plain_text_are_left_alone() -> None:
    text = "payouts.create met a duplicate key on retry; idempotency_key=0b6f3c1e-9d2a-4c55-8f0e-2a1b3c4d5e6f"
    assert _redact(text) == text
