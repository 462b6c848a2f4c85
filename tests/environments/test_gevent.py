"""``calypso_sync`` in a gevent-patched interpreter (``monkey.patch_all()`` first), in a subprocess.

The gunicorn tests cover real servers; this one looks inside: the loop thread is a real OS thread, greenlets
calling at once all complete while another greenlet runs its own ``asyncio.run()``, a host name is resolved
(the private loop's resolver and executor must not need a gevent hub), a call from inside the hub is refused
at once, and the exit is silent.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from calypso_async.testing import FakeCalypso

from ..conftest import run_python

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import asyncio, logging, os, threading
    import gevent
    from calypso_sync import Calypso
    from calypso_sync._portal import PORTAL

    logging.basicConfig(level=logging.WARNING)
    PORTAL.shutdown_timeout = 120  # a hang guard only
    client = Calypso(max_retries=0)
    by_name = Calypso(max_retries=0, base_url=os.environ["CALYPSO_BASE_URL"].replace("127.0.0.1", "localhost"))

    async def other_asyncio_user():
        await asyncio.sleep(0)
        return "other loop fine"

    def call(c):
        return c.account.get().account

    jobs = [gevent.spawn(call, client) for _ in range(8)] + [gevent.spawn(call, by_name)]
    jobs.append(gevent.spawn(asyncio.run, other_asyncio_user()))
    gevent.joinall(jobs, raise_error=True)
    results = [job.value for job in jobs]
    native = monkey.get_original("_thread", "get_ident")
    print(
        set(results[:-1]) == {os.environ["CALYPSO_ACCOUNT"]},
        results[-1],
        PORTAL._thread_ident != native(),
        asyncio._get_running_loop() is None,
        flush=True,
    )
    pages = client.customer_purse.iter_transactions(customer_id="nobody-yet")
    pages.close()
    from calypso_sync import SyncFacadeError

    refused = []

    def in_the_hub():
        try:
            client.account.get()
        except SyncFacadeError as exc:
            refused.append("gevent's hub" in str(exc))

    gevent.get_hub().loop.run_callback(in_the_hub)
    gevent.sleep(0)
    print("hub-call-refused", refused == [True])
    """
)


def test_patched_process_calls_concurrently_resolves_names_and_exits_silently(tmp_path: Path) -> None:
    try:
        import gevent  # noqa: F401
    except Exception as exc:
        pytest.skip(f"gevent cannot be imported here: {exc!r}")
    with FakeCalypso.run_in_thread() as server:
        done = run_python(SCRIPT, server, timeout=300)  # killed when the (hang-guard) timeout expires
    expected = ["True", "other", "loop", "fine", "True", "True", "hub-call-refused", "True"]
    assert done.stdout.split() == expected, done.stdout + done.stderr
    assert done.returncode == 0 and done.stderr == "", done.stderr
