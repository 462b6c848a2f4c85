"""Starting and stopping: async context, latency, ``run_in_thread``, the pytest plugin, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from calypso_async import AsyncCalypso
from calypso_async.testing import FakeCalypso, Fault


async def test_start_stop_and_base_url() -> None:
    server = FakeCalypso()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    await server.start(host="127.0.0.1", port=0)
    assert server.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        await server.start()
    await server.stop()
    await server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = server.base_url


async def test_latency_is_added_to_answers() -> None:
    async with FakeCalypso(latency=0.05) as server:
        async with server.client() as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await client.account.get()
            assert loop.time() - started >= 0.05


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_run_in_thread_serves_sync_callers() -> None:
    with FakeCalypso.run_in_thread(seed=3) as server:
        status, body = _post(server.base_url + "/api/v1/account", b"{}", {"Key": "nope", "Sign": "x"})
        assert (status, body["errorCode"]) == (401, "002")

        async def use() -> str:
            async with server.client() as client:
                return (await client.account.get()).account or ""

        assert asyncio.run(use()) == server.account_id
        # Helpers called from this thread run on the server's loop.
        server.set_balance(server.account_id, "BTC", Decimal("2"))
        assert server.balance(server.account_id, "BTC") == Decimal("2")
        assert [r.status for r in server.requests] == [401, 200]
        with pytest.raises(LookupError):
            server.balance("0xnope", "BTC")

        async def invoice() -> str:
            async with server.client() as client:
                created = await client.invoices.create_single(amount=Decimal("1"), currency="TRX", description="x")
                assert created.id is not None
                return created.id

        invoice_id = asyncio.run(invoice())
        assert server.pay_invoice(invoice_id)["state"] == "COMPLETED"
        server.inject("api/v1/account", Fault.status(503))  # leading slash optional
        assert server.pending_faults == 1
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_plugin_thread_fixture(fake_calypso_thread: FakeCalypso) -> None:
    status, _ = _post(fake_calypso_thread.base_url + "/api/v1/account", b"{}", {})
    assert status == 401


async def test_plugin_async_fixtures(fake_calypso: FakeCalypso, fake_calypso_client: AsyncCalypso) -> None:
    assert fake_calypso_client.base_url == fake_calypso.base_url
    assert (await fake_calypso_client.account.get()).account == fake_calypso.account_id


def test_standalone_entry_point() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "calypso_async.testing", "--port", "0", "--seed", "5", "--skew", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        info: dict[str, str] = {}
        for line in proc.stdout:
            if "=" in line:
                name, _, value = line.strip().partition("=")
                info[name] = value
            if line.startswith("Ctrl-C"):
                break
        expected = FakeCalypso(seed=5)
        assert info["CALYPSO_API_KEY"] == expected.api_key
        assert info["CALYPSO_SECRET_KEY"] == expected.secret_key
        assert info["CALYPSO_ACCOUNT"] == expected.account_id
        status, body = _post(info["CALYPSO_BASE_URL"] + "/api/v1/account", b"{}", {})
        assert (status, body["errorCode"]) == (401, "002")
    finally:
        proc.send_signal(2)  # SIGINT, like Ctrl-C
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


def test_plugin_enabled_the_documented_way(tmp_path: Path) -> None:
    """``pytest_plugins = ["calypso_async.testing.pytest_plugin"]`` in a user's conftest gives the fixtures."""
    root = tmp_path
    (root / "conftest.py").write_text('pytest_plugins = ["calypso_async.testing.pytest_plugin"]\n')
    (root / "test_user.py").write_text(
        "async def test_async(fake_calypso, fake_calypso_client):\n"
        "    assert (await fake_calypso_client.account.get()).account == fake_calypso.account_id\n"
        "\n"
        "def test_sync(fake_calypso_thread):\n"
        "    assert fake_calypso_thread.base_url.startswith('http://127.0.0.1:')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "-W",
            "error",
            str(root),
        ],
        capture_output=True,
        text=True,
        cwd=str(root),
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
