"""examples/balance_poller.py runs against the fake server, async and sync, and ends cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [[], ["--sync"]], ids=["async", "sync"])
def test_example_runs_and_stops_cleanly(mode: list[str]) -> None:
    cmd = [sys.executable, "-X", "dev", "examples/balance_poller.py", *mode, "--seconds", "1.5", "--interval", "0.2"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "NotFoundError; failure 1" in done.stdout  # the missing account is reported and backed off
    assert "USDT_TRX" in done.stdout and " -> " in done.stdout  # at least one credit was seen
    assert "PollerStats(" in done.stdout and "in_flight=0" in done.stdout
    for bad in ("Traceback", "Unclosed", "Task was destroyed", "never awaited"):
        assert bad not in done.stderr, done.stderr
