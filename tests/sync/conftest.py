"""Fixtures for the sync facade: the fake Calypso server in its own thread, clients, a private portal."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from calypso_async.testing import FakeCalypso
from calypso_sync import Calypso
from calypso_sync._base import SyncClient, SyncResource
from calypso_sync._portal import Portal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    """A fake Calypso server on loopback, on its own loop in its own thread (not calypso_sync's)."""
    with FakeCalypso.run_in_thread() as fake:
        yield fake


def make_client(server: FakeCalypso, **overrides: object) -> Calypso:
    options: dict[str, object] = {
        "account": server.account_id,
        "base_url": server.base_url,
        "max_retries": 0,
    }
    options.update(overrides)
    return Calypso(server.api_key, server.secret_key, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(server: FakeCalypso) -> Iterator[Calypso]:
    with make_client(server) as sync_client:
        yield sync_client


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """A private portal used by every sync client of the test, shut down afterwards (isolation from PORTAL)."""
    # Generous bounds: they only guard against hangs, so a loaded machine never turns them into failures.
    private = Portal(name="calypso-sync-test", cancel_grace=60.0, shutdown_timeout=60.0)
    monkeypatch.setattr(SyncClient, "_portal", private)
    monkeypatch.setattr(SyncResource, "_portal", private)
    try:
        yield private
    finally:
        private.shutdown()


def python_env(server: FakeCalypso | None) -> dict[str, str]:
    """Environment of a child interpreter: this checkout first, every warning an error, ``CALYPSO_*`` set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONWARNINGS"] = "error"
    env.pop("PYTHONASYNCIODEBUG", None)
    if server is not None:
        env.update(
            CALYPSO_API_KEY=server.api_key,
            CALYPSO_SECRET_KEY=server.secret_key,
            CALYPSO_ACCOUNT=server.account_id,
            CALYPSO_BASE_URL=server.base_url,
        )
    return env


def run_python(
    code: str, server: FakeCalypso | None = None, *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``-W error`` and wait for it."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=python_env(server),
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def popen_python(code: str, server: FakeCalypso | None = None) -> Iterator[subprocess.Popen[str]]:
    """Start ``code`` in a fresh interpreter with ``-W error`` (pipes for stdout/stderr); killed if still running
    when the block exits (a failing test never leaves it behind)."""
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=python_env(server),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # reap it and drain its pipes
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
