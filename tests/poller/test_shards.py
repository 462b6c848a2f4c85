"""Sharding: a stable hash splits the accounts between pollers that do not coordinate; several real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from calypso_async import AsyncCalypso, BalancePoller, PollerOptions
from calypso_async.poller import shard_of
from calypso_async.testing import FakeCalypso

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("shard_worker.py")
SHARDS = 4


def test_shard_of_is_stable_and_spreads_the_accounts() -> None:
    ids = FakeCalypso(seed=1, accounts=4000).accounts
    # A pinned value: the same in every process and Python version (blake2b, not the salted built-in hash).
    assert shard_of("0xc195f8a1d38b24e61f9f0c2a4e9d2b5a7d3e82f8b", 8) == 3
    counts = Counter(shard_of(a, 4) for a in ids)
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 850


def test_a_poller_keeps_only_its_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = FakeCalypso(seed=1, accounts=500).accounts
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9")
    kept = [set(BalancePoller(client, ids, shard=(i, 3)).accounts) for i in range(3)]
    assert set().union(*kept) == set(ids) and sum(map(len, kept)) == len(ids)
    monkeypatch.setenv("CALYPSO_POLLER_SHARD", "2/3")
    from_env = BalancePoller(client, ids)
    assert from_env.shard == (2, 3) and set(from_env.accounts) == kept[2]
    assert set(BalancePoller(client, ids, options=PollerOptions(shard="0/3")).accounts) == kept[0]
    assert "shard 2/3" in repr(from_env)


@pytest.mark.parametrize("bad", ["3/3", "-1/2", "1", "a/b", "0/0"])
def test_a_bad_shard_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        PollerOptions(shard=bad)
    monkeypatch.setenv("CALYPSO_POLLER_SHARD", bad)
    with pytest.raises(ValueError, match="CALYPSO_POLLER_SHARD"):
        BalancePoller(None)


def run_shards(server: FakeCalypso, tmp_path: Path, accounts: int) -> list[dict[str, Any]]:
    """Every shard in its own process at once; each killed if anything goes wrong."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for index in range(SHARDS):
            env = dict(os.environ, PYTHONPATH=str(ROOT), CALYPSO_POLLER_SHARD=f"{index}/{SHARDS}")
            args = [server.base_url, server.api_key, server.secret_key, str(server.seed), str(accounts)]
            store = str(tmp_path / f"shard-{index}.db")
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), *args, store],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_processes_split_the_accounts_without_overlap_and_keep_the_split(tmp_path: Path) -> None:
    count = 400
    with FakeCalypso.run_in_thread(seed=11, accounts=count) as server:
        first = run_shards(server, tmp_path, count)
        polled = Counter(r.json["account"] for r in server.requests if r.operation == "account.get" and r.json)
        assert set(polled) == set(server.accounts) and set(polled.values()) == {1}  # each polled by one shard, once
        split = [set(r["accounts"]) for r in first]
        assert set().union(*split) == set(server.accounts) and sum(map(len, split)) == count
        assert all(r["changes"] == [] for r in first)

        moved = server.accounts[-1]
        server.set_balance(moved, "BTC", Decimal("7"))
        again = run_shards(server, tmp_path, count)  # a restart of every shard, each on its own store
    assert [set(r["accounts"]) for r in again] == split
    changes = [c for r in again for c in r["changes"]]
    owner = next(i for i, accounts in enumerate(split) if moved in accounts)
    assert [c[:4] for c in again[owner]["changes"]] == [[moved, "BTC", "1", "7"]]
    assert len(changes) == 1
