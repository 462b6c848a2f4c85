"""The poller benchmark runs end to end at a tiny size, so that it cannot rot. No timing is asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_poller_benchmark_runs_at_a_tiny_size(store: str) -> None:
    cmd = [
        sys.executable, "-m", "benchmarks.poller", "--accounts", "60", "--concurrency", "8", "--latency", "0.001",
        "--rounds", "2", "--repeat", "2", "--store", store, "--no-pin", "--json",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["accounts"] == 60 and result["concurrency"] == 8 and result["store"] == store
    assert len(result["rounds"]) == 2 and all(r > 0 for r in result["rounds"])
    assert [run["kind"] for run in result["runs"]] == ["baseline", "poller", "poller", "baseline"]
    assert result["errors"] == 0 and result["polls"] >= 120
    assert result["peak_rss_mb"] > 0 and result["cpu_per_poll_us"] > 0 and result["cpu_ratio"] > 0
    assert 0 < result["max_in_flight"] <= 8
    assert result["load_before"] >= 0 and result["load_after"] >= 0
    if store == "sqlite":
        assert 0 < result["store_cpu_share"] < 1


def test_report_prints_every_number() -> None:
    from benchmarks.poller.bench import PollerResult, report

    r = PollerResult(10, 2, 0.05, 0.25, rounds=[0.3, 0.28], warm_median=0.28, cold_factor=1.2, warm_factor=1.12)
    r.baseline_rounds, r.cpu_ratio, r.store = [0.27, 0.26], 1.05, "sqlite"
    text = report(r)
    for needle in (
        "rounds (s): 0.30, 0.28",
        "cold round",
        "warm round",
        "peak RSS",
        "CPU per poll",
        "store:",
        "poller / baseline: CPU 1.05x",
        "load average",
        "targets met: NO",
    ):
        assert needle in text
