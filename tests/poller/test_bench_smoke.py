"""The poller benchmark runs end to end at a tiny size, so that it cannot rot. No timing is asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_poller_benchmark_runs_at_a_tiny_size() -> None:
    cmd = [
        sys.executable, "-m", "benchmarks.poller",
        "--accounts", "60", "--concurrency", "8", "--latency", "0.001", "--rounds", "2", "--no-pin", "--json",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["accounts"] == 60 and result["concurrency"] == 8
    assert len(result["rounds"]) == 2 and all(r > 0 for r in result["rounds"])
    assert result["errors"] == 0 and result["polls"] >= 120
    assert result["peak_rss_mb"] > 0 and result["cpu_per_poll_us"] > 0
    assert 0 < result["max_in_flight"] <= 8


def test_report_prints_every_number() -> None:
    from benchmarks.poller.bench import PollerResult, report

    r = PollerResult(10, 2, 0.05, 0.25, rounds=[0.3, 0.28], warm_median=0.28, cold_factor=1.2, warm_factor=1.12)
    text = report(r)
    for needle in ("rounds (s): 0.30, 0.28", "cold round", "warm round", "peak RSS", "CPU per poll", "targets met"):
        assert needle in text
