"""The sync client inside a real gunicorn (gevent, sync and gthread workers), against a fake server on loopback.

Each test starts gunicorn in a subprocess (its own process group, killed in a ``finally``), waits for its
"Listening at" line, sends concurrent requests whose handlers call ``calypso_sync``, stops it with SIGTERM and
reads everything it logged: no traceback, no calypso warning, no unclosed session, no asyncio complaint.

Concurrency is proved without clocks: the fake server holds each ``account.get`` until ``gate`` of them have
arrived, so the requests only complete if the worker really serves them at once (a gevent hub blocked by one
waiting greenlet would never let the others reach the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from calypso_async.testing import FakeCalypso

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120.0
"""Seconds any one wait may take before the test fails (never a timing assumption: only a hang guard)."""

BAD_OUTPUT = (
    "Traceback",
    "Unclosed",
    "unclosed",
    "calypso",  # no calypso log line at all (e.g. the running-loop warning)
    "cannot be called from a running event loop",
    "was never awaited",
    "Exception",
)


class GatedFake(FakeCalypso):
    """A fake server that holds ``account.get`` requests until ``gate`` of them are in flight together."""

    gate = 0
    arrived = 0
    gate_timed_out = False
    _open: asyncio.Event | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_arrived = threading.Event()

    def open_gate(self) -> None:
        """Let every held request through (from any thread)."""
        loop = self._loop
        assert loop is not None and self._open is not None
        loop.call_soon_threadsafe(self._open.set)

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        if self.gate and request.path == "/api/v1/account":
            if self._open is None:
                self._open = asyncio.Event()
            self.arrived += 1
            self.first_arrived.set()
            if self.arrived >= self.gate:
                self._open.set()
            try:
                await asyncio.wait_for(self._open.wait(), DEADLINE)
            except asyncio.TimeoutError:
                self.gate_timed_out = True
        return await super()._entry(request)


@pytest.fixture
def server() -> Iterator[GatedFake]:
    with GatedFake.run_in_thread() as fake:
        yield fake


class Gunicorn:
    """A running gunicorn master; ``output`` collects every line it and its workers wrote."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for_listening()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next_line(self, deadline: float) -> str | None:
        line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        if line is not None:
            self.output.append(line)
        return line

    def _wait_for_listening(self) -> str:
        deadline = time.monotonic() + DEADLINE
        while True:
            line = self._next_line(deadline)
            if line is None:
                raise AssertionError("gunicorn exited before listening:\n" + "".join(self.output))
            if "Listening at: " in line:
                return line.split("Listening at: ", 1)[1].split()[0]

    def wait_for_line(self, text: str) -> None:
        """Block until a line containing ``text`` is logged (already logged lines count)."""
        deadline = time.monotonic() + DEADLINE
        while not any(text in line for line in self.output):
            if self._next_line(deadline) is None:
                raise AssertionError(f"gunicorn exited before logging {text!r}:\n" + "".join(self.output))

    def get(self, n: int) -> list[str]:
        """``n`` concurrent GET requests; their bodies."""

        def one(_: int) -> str:
            with urllib.request.urlopen(self.url + "/", timeout=DEADLINE) as response:
                body: bytes = response.read()
                return body.decode()

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, range(n)))

    def terminate(self, *, send: bool = True) -> str:
        """SIGTERM the master (unless already sent), wait for it to exit, return everything logged."""
        if send:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=DEADLINE)
        self._reader.join(DEADLINE)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.output.append(line)
        return "".join(self.output)


@contextlib.contextmanager
def gunicorn(server: FakeCalypso, tmp_path: Path, *args: str, **env: str) -> Iterator[Gunicorn]:
    environ = dict(os.environ)
    environ.pop("PYTHONASYNCIODEBUG", None)
    environ.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")])),
        PYTHONWARNINGS="always::ResourceWarning",  # unclosed sessions/transports are printed, then caught above
        CALYPSO_API_KEY=server.api_key,
        CALYPSO_SECRET_KEY=server.secret_key,
        CALYPSO_ACCOUNT=server.account_id,
        CALYPSO_BASE_URL=server.base_url,
        **env,
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--graceful-timeout",
        "30",
        "--log-level",
        "info",
        "--control-socket",
        str(tmp_path / "gunicorn.ctl"),
        *args,
        "tests.environments.wsgi_app:app",
    ]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the finally below kills master and workers together
    )
    try:
        yield Gunicorn(proc)
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=DEADLINE)
        if proc.stdout is not None:
            proc.stdout.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _gevent_or_skip() -> Any:
    try:
        import gevent
        import gevent.monkey
    except Exception as exc:  # not installed, or no wheel for this Python
        pytest.skip(f"gevent cannot be imported here: {exc!r}")
    return gevent.monkey


def check_run(run: Gunicorn, server: GatedFake, concurrent: int) -> None:
    server.gate = concurrent
    bodies = run.get(concurrent)
    assert not server.gate_timed_out
    accounts = {body.split()[0] for body in bodies}
    assert accounts == {server.account_id}, bodies
    server.gate = 0
    assert run.get(1)[0].startswith(server.account_id)  # and again, after the burst
    output = run.terminate()
    assert run.proc.returncode == 0, output
    # gunicorn's sync worker exits without closing its copy of the listening socket: not calypso's to judge
    port = run.url.rsplit(":", 1)[1]
    ours = "".join(
        line
        for line in output.splitlines(keepends=True)
        if f"laddr=('127.0.0.1', {port})>" not in line and "Enable tracemalloc" not in line
    )
    for bad in BAD_OUTPUT:
        assert bad not in ours, output
    assert "Shutting down: Master" in output, output


GEVENT_MODES = {
    "gevent": ([], {}),
    "gevent-preload": (["--preload"], {}),
    "gevent-preload-call-in-master": (["--preload"], {"CALYPSO_TEST_CALL_AT_IMPORT": "1"}),
    # gunicorn's control server (asyncio.run in a patched thread of the master) must not find a loop running
    "gevent-patch-all-call-in-master": (
        ["--preload"],
        {"CALYPSO_TEST_PATCH_ALL": "1", "CALYPSO_TEST_CALL_AT_IMPORT": "1"},
    ),
}


@pytest.mark.parametrize("mode", list(GEVENT_MODES))
def test_gevent_worker_serves_concurrent_sync_calls(server: GatedFake, tmp_path: Path, mode: str) -> None:
    _gevent_or_skip()
    args, env = GEVENT_MODES[mode]
    with gunicorn(server, tmp_path, "--worker-class", "gevent", "--worker-connections", "50", *args, **env) as run:
        check_run(run, server, concurrent=4)


@pytest.mark.parametrize(
    ("worker", "concurrent"), [(["--worker-class", "sync"], 1), (["--worker-class", "gthread", "--threads", "4"], 4)]
)
def test_preloaded_sync_and_gthread_workers(
    server: GatedFake, tmp_path: Path, worker: list[str], concurrent: int
) -> None:
    with gunicorn(server, tmp_path, *worker, "--preload", CALYPSO_TEST_CALL_AT_IMPORT="1") as run:
        check_run(run, server, concurrent=concurrent)


def test_sigterm_during_a_sync_call_in_a_gevent_worker_lets_it_finish(server: GatedFake, tmp_path: Path) -> None:
    _gevent_or_skip()
    with gunicorn(server, tmp_path, "--worker-class", "gevent", "--preload") as run:
        server.gate = 2  # the one request below is held at the server until the gate is opened
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(run.get, 1)
            assert server.first_arrived.wait(DEADLINE)  # the worker's sync call is in flight
            run.proc.send_signal(signal.SIGTERM)
            run.wait_for_line("Handling signal: term")
            server.open_gate()
            assert answer.result(DEADLINE)[0].startswith(server.account_id)  # graceful: the call completed
        output = run.terminate(send=False)  # already terminating: wait for the exit, collect the output
    assert run.proc.returncode == 0, output
    for bad in BAD_OUTPUT:
        assert bad not in output, output
