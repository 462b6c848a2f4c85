"""Fixtures for the CLI tests: a fake server in a thread, a clean environment pointing at it, and ``cli(...)``
that runs ``calypso_async.cli.main`` in-process with captured stdout/stderr and a chosen stdin.

Why in-process: it is fast (no interpreter start per command) and lets tests reach into the fake server
(faults, state) between commands. ``main`` runs its own ``asyncio.run``, so these tests are synchronous and the
server runs on its own loop thread. Subprocess helpers are here too, for the commands that serve (``fake-server``,
``webhooks listen``) or own the process (``demo``); they read output with a deadline instead of sleeping.
"""

from __future__ import annotations

import io
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from calypso_async.cli import main
from calypso_async.testing import FakeCalypso

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


class Cli(Protocol):
    def __call__(self, *argv: str, stdin: str | bytes | None = None, tty: bool = False) -> Result: ...


class _Stdin(io.TextIOWrapper):
    """A text stdin with a binary ``buffer`` (like the real one) that may claim to be a terminal."""

    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(seed=11) as srv:
        yield srv


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CALYPSO_* from the developer's shell; HOME and the config file point into tmp_path."""
    for name in list(os.environ):
        if name.startswith("CALYPSO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    config = tmp_path / "calypso.ini"
    monkeypatch.setenv("CALYPSO_CONFIG", str(config))
    return config


@pytest.fixture
def env(server: FakeCalypso, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCalypso:
    """The SDK's environment variables set for ``server``."""
    monkeypatch.setenv("CALYPSO_API_KEY", server.api_key)
    monkeypatch.setenv("CALYPSO_SECRET_KEY", server.secret_key)
    monkeypatch.setenv("CALYPSO_ACCOUNT", server.account_id)
    monkeypatch.setenv("CALYPSO_BASE_URL", server.base_url)
    return server


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    def run(*argv: str, stdin: str | bytes | None = None, tty: bool = False) -> Result:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else (stdin or b"")
        monkeypatch.setattr(sys, "stdin", _Stdin(data, tty))
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# ------------------------------------------------------------------------------------------ subprocesses


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALYPSO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "error"
    env.update(extra)
    return env


_SPAWNED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _kill_leftover_processes() -> Iterator[None]:
    """Whatever a test started and did not see end is killed when it ends, passed or failed (a failing test
    must never leave a server or a watch burning CPU)."""
    yield
    while _SPAWNED:
        proc = _SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()


def spawn(
    *argv: str, env: dict[str, str] | None = None, module: str = "calypso_async.cli", **kwargs: Any
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env if env is not None else cli_env(),
        cwd=REPO,
        **kwargs,
    )
    _SPAWNED.append(proc)
    return proc


def read_until(proc: subprocess.Popen[bytes], marker: str, *, timeout: float = 20.0) -> str:
    """Read the process's stdout until a line containing ``marker``; fail (not hang) after ``timeout``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while marker.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                proc.kill()
                raise AssertionError(f"no {marker!r} within {timeout} s; got {seen!r}")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"process ended before {marker!r}; got {seen!r}; stderr {proc.stderr.read()!r}")  # type: ignore[union-attr]
            seen += chunk
    return seen.decode()


def finish(proc: subprocess.Popen[bytes], *, timeout: float = 20.0) -> tuple[int, str, str]:
    """Wait for the process (killing it after ``timeout``) and return (code, rest of stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"process did not end within {timeout} s: {out!r} {err!r}") from None
    return proc.returncode, out.decode(), err.decode()
