"""Fixtures for the sync facade: the fake Calypso server in its own thread, clients, a private portal."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from calypso_async.testing import FakeCalypso
from calypso_sync import Calypso
from calypso_sync._base import SyncClient, SyncResource
from calypso_sync._portal import Portal

from ..conftest import ROOT, python_env


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
