"""Ctrl-C (a real SIGINT) ends every long-running command quietly, with the documented status.

Each test waits for the command to show it is running (output read with a deadline, never a sleep), sends the
signal, and checks the exit code and that nothing but the expected lines reached stderr: no traceback, no
"Task exception was never retrieved". Every process is killed when its test ends, passed or failed
(``tests/cli/conftest.py``).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import IO

import pytest

from calypso_async.testing import FakeCalypso, Fault
from calypso_sync import Calypso

from .conftest import cli_env, spawn

Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def procs() -> Spawn:
    return spawn  # conftest kills whatever is still running when the test ends


def _server_env(server: FakeCalypso) -> dict[str, str]:
    return cli_env(
        CALYPSO_API_KEY=server.api_key,
        CALYPSO_SECRET_KEY=server.secret_key,
        CALYPSO_ACCOUNT=server.account_id,
        CALYPSO_BASE_URL=server.base_url,
        CALYPSO_CONFIG=os.devnull,
    )


def _read_until(stream: IO[bytes] | None, done: Callable[[bytes], bool], timeout: float = 30.0) -> bytes:
    """Read ``stream`` until ``done(everything read)``; fail (not hang) after ``timeout``."""
    assert stream is not None
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while not done(seen):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"not ready within {timeout} s; got {seen!r}")
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"stream ended early; got {seen!r}")
            seen += chunk
    return seen


def _interrupt(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


def _assert_no_noise(err: str) -> None:
    for noise in ("Traceback", "never retrieved", "StopAsyncIteration", "Unclosed", "Error"):
        assert noise not in err, err


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(seed=21) as srv:
        yield srv


def test_ctrl_c_ends_balances_watch_quietly_with_status_130(server: FakeCalypso, procs: Spawn) -> None:
    proc = procs("balances", "--watch", "--interval", "0.2", env=_server_env(server))
    _read_until(proc.stderr, lambda seen: b"Ctrl-C to stop" in seen)
    code, out, err = _interrupt(proc)
    assert code == 130, err
    assert err == ""
    _assert_no_noise(out)


def test_ctrl_c_ends_a_watch_with_json_lines_quietly(server: FakeCalypso, procs: Spawn) -> None:
    proc = procs("balances", "--watch", "--json", "--interval", "0.2", env=_server_env(server))
    _read_until(proc.stdout, lambda seen: b'"event":"snapshot"' in seen.replace(b" ", b""))
    code, _, err = _interrupt(proc)
    assert code == 130
    assert err == ""


def test_ctrl_c_during_a_paging_export_exits_130_without_traceback(server: FakeCalypso, procs: Spawn) -> None:
    with Calypso(server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url) as client:
        customer = client.customer_purse.create_customer(email="c@example.com").id
    assert customer
    server.add_purse_transactions(customer, 50)
    path = "/api/v1/customer-purse/transaction/find"
    server.inject(path, Fault.delay(0.0))  # the first page answers at once ...
    server.inject(path, Fault.delay(120.0))  # ... the second hangs until the interruption
    proc = procs("purse", "transactions", "--all", "--csv", "--page-size", "10", env=_server_env(server))
    _read_until(proc.stdout, lambda seen: seen.count(b"\n") >= 11)  # header and the first page
    code, out, err = _interrupt(proc)
    assert code == 130
    assert err.strip().splitlines()[-1] == "calypso: interrupted"
    _assert_no_noise(err)
    assert len(out.splitlines()) == 0  # nothing after the first page, which was already read


def test_ctrl_c_stops_the_webhook_receiver_with_its_summary(procs: Spawn) -> None:
    proc = procs("webhooks", "listen", "--port", "0", env=cli_env(CALYPSO_WEBHOOK_SECRET="s"))
    _read_until(proc.stdout, lambda seen: b"listening on" in seen)
    code, _, err = _interrupt(proc)
    assert code == 0, err
    assert "stopped: 0 delivery(ies) accepted, 0 rejected" in err
    _assert_no_noise(err)


def test_ctrl_c_stops_the_fake_server(procs: Spawn) -> None:
    proc = procs("fake-server", "--port", "0", env=cli_env(CALYPSO_CONFIG=os.devnull))
    _read_until(proc.stdout, lambda seen: b"Ctrl-C to stop" in seen)
    code, _, err = _interrupt(proc)
    assert code == 0, err
    _assert_no_noise(err)
