"""A short soak in the suite: 2,000 async and 500 sync calls against the fake server (own process) with 1 % faults.

The full soak (``python -m benchmarks.soak``: 100,000 async + 20,000 sync calls) and its recorded figures are in
docs/RELIABILITY.md. Here the bounds are generous and nothing is timed: every call ends in its own result or a
``CalypsoError``, answers belong to their caller, no duplicates on the server, memory after warm-up does not
grow past a few MiB, and sockets, tasks and threads are back to their starting level once the client is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.soak.soak import ServerProcess, async_soak, check_server, growth, server_process, sync_soak, verdict

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def soak_server() -> Iterator[ServerProcess]:
    with server_process(fault_rate=0.01, seed=7, delay=3.0) as server:
        yield server


def assert_clean(phase: dict[str, Any], server: ServerProcess) -> None:
    phase["server"] = check_server(phase, server.stats())
    assert verdict(phase, rss_bound=24 * MiB, traced_bound=24 * MiB) == []
    assert sum(phase["outcomes"].values()) == phase["calls"]
    assert phase["outcomes"].get("ok", 0) >= phase["calls"] * 0.97
    assert growth(phase, "fds") <= 4


def test_async_soak_short(soak_server: ServerProcess) -> None:
    phase = asyncio.run(async_soak(soak_server, 2_000, concurrency=16, tag="short-a"))
    assert phase["after_close"]["tasks"] == 1
    assert_clean(phase, soak_server)


def test_sync_soak_short(soak_server: ServerProcess) -> None:
    phase = sync_soak(soak_server, 500, threads=4, tag="short-s")
    assert_clean(phase, soak_server)


def test_faults_were_served(soak_server: ServerProcess) -> None:
    stats = soak_server.stats()
    if stats["requests"] < 1000:
        pytest.skip("run with the soak tests above")
    assert sum(stats["faults_served"].values()) >= 5
    assert stats["duplicates"] == {}
