"""A calypso_sync.BalancePoller built (and even run) before os.fork() works in the child: it is rebuilt there, on
the child's own loop and client, like the sync clients are. The fork happens in a subprocess, never in pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from calypso_async.testing import FakeCalypso

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from decimal import Decimal
    from calypso_async import ManualClock
    from calypso_sync import BalancePoller, Calypso

    base_url, api_key, secret, used_before = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "used"
    accounts = sys.argv[5].split(",")
    client = Calypso(api_key, secret, base_url=base_url)
    poller = BalancePoller(client, accounts, interval=10, first_poll_spread=0, clock=ManualClock())
    if used_before:
        poller.start()
        poller.advance(1)
        poller.stop()
        poller = BalancePoller(client, accounts, interval=10, first_poll_spread=0, clock=ManualClock())
        poller.snapshot(accounts[0])  # touched on the parent's loop before the fork
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            poller.start()
            poller.advance(1)
            stats = poller.stats()
            poller.stop()
            print(json.dumps({"polls": stats.polls, "errors": stats.errors, "accounts": len(poller.accounts)}))
            sys.stdout.flush()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("before", ["built", "used"])
def test_the_sync_poller_works_in_a_forked_child(before: str) -> None:
    import json

    with FakeCalypso.run_in_thread(seed=2, accounts=12) as server:
        args = [server.base_url, server.api_key, server.secret_key, before, ",".join(server.accounts)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-W", "ignore::DeprecationWarning", "-c", SCRIPT, *args]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"polls": 12, "errors": 0, "accounts": 12}, err
