"""Process-level behaviour, each in a fresh interpreter with warnings as errors: fork, interpreter exit."""

from __future__ import annotations

import sys
import textwrap

import pytest

from calypso_async.testing import FakeCalypso

from ..conftest import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process model")

FORK_SCRIPT = """
import os, sys, traceback, warnings
# Python 3.12+ warns when fork() is called with threads running (here: the parent's loop thread, by design).
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
from calypso_sync import Calypso
from calypso_sync._portal import PORTAL

client = Calypso()               # module-level client, as an app imported by gunicorn --preload
unused = Calypso()               # created before fork, never used by the parent
client.timeout = 7.5             # set on the facade: must survive the rebuild in the child
spare = Calypso()                # the child only drops it: its parent-side session must stay untouched
{parent_calls}
parent = (PORTAL._loop, PORTAL._thread, client._async_client, client._async_client._transport._session)

pid = os.fork()
if pid == 0:
    code = 0
    try:
        account = client.account.get().account
        unused.user.current()
        inner = client._async_client
        checks = [
            account == os.environ["CALYPSO_ACCOUNT"],
            PORTAL._loop is not None and PORTAL._loop is not parent[0],      # its own loop ...
            PORTAL._thread is not parent[1] and PORTAL._thread.is_alive(),  # ... on its own thread
            {inner_rebuilt},
            inner._transport._session is not parent[3],                    # its own session
            inner.timeout == 7.5,
            parent[0] is None or not parent[0].is_closed(),                 # the parent's: untouched
            parent[3] is None or not parent[3].closed,
        ]
        code = 0 if all(checks) else 10 + checks.index(False)
        del spare            # a parent-era client garbage-collected in the child: orphaned, so silent
        del client, unused   # the child's own clients: their close is scheduled on the child's loop
        import gc
        gc.collect()
    except BaseException:
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    {child_exit}(code)

_, status = os.waitpid(pid, 0)
child = os.waitstatus_to_exitcode(status)
assert client.account.get().account == os.environ["CALYPSO_ACCOUNT"]  # the parent's loop still serves it
assert parent[0] is None or PORTAL._loop is parent[0]
client.close()
unused.close()
print("child", child)
"""


EXIT_PROBE = """
import atexit, gc, threading

def probe():
    # Registered before calypso_sync is imported, so it runs after calypso_sync's exit hook (LIFO), while
    # stderr and warnings still work: drop every reference and collect. Whatever was left open would now
    # warn "Unclosed client session"/"Unclosed connector" (an error under -W error, printed to stderr).
    from calypso_sync._portal import PORTAL
    PORTAL._tracked.clear()
    for name in [n for n in globals() if not n.startswith("_") and n not in {"atexit", "gc", "threading"}]:
        del globals()[name]
    gc.collect()
    print("threads", threading.active_count(), flush=True)

atexit.register(probe)
"""


@pytest.mark.parametrize("child_exit", ["os._exit", "sys.exit"])
def test_fork_after_use_child_builds_its_own_loop_and_session(server: FakeCalypso, child_exit: str) -> None:
    script = FORK_SCRIPT.format(
        parent_calls="client.account.get(); spare.account.get()",
        inner_rebuilt="inner is not parent[2]",
        child_exit=child_exit,
    )
    done = run_python(script, server)
    assert done.stdout.strip() == "child 0", done.stdout + done.stderr
    assert done.returncode == 0 and done.stderr == ""


def test_fork_before_any_call_gunicorn_preload(server: FakeCalypso) -> None:
    script = FORK_SCRIPT.format(
        parent_calls="assert not PORTAL.running; spare.account.get()",
        inner_rebuilt="PORTAL.generation == 1",
        child_exit="os._exit",
    )
    done = run_python(script, server)
    assert done.stdout.strip() == "child 0", done.stdout + done.stderr
    assert done.returncode == 0 and done.stderr == ""


def test_multiprocessing_fork_pool_workers(server: FakeCalypso) -> None:
    script = textwrap.dedent(
        """
        import multiprocessing, os, warnings
        from calypso_sync import Calypso

        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        from calypso_sync._portal import PORTAL

        client = Calypso()
        client.account.get()

        def work(_):
            return os.getpid(), client.account.get().account, PORTAL._thread.ident

        if __name__ == "__main__":
            with multiprocessing.get_context("fork").Pool(2) as pool:
                results = pool.map(work, range(8))
            assert all(acct == os.environ["CALYPSO_ACCOUNT"] for _, acct, _ in results)
            assert os.getpid() not in {pid for pid, _, _ in results}
            client.close()
            print("ok", len(results))
        """
    )
    done = run_python(script, server)
    assert done.stdout.strip() == "ok 8", done.stdout + done.stderr
    assert done.returncode == 0 and done.stderr == ""


def test_interpreter_exit_with_unclosed_clients_is_silent(server: FakeCalypso) -> None:
    script = EXIT_PROBE + textwrap.dedent(
        """
        from calypso_sync import Calypso
        from calypso_sync._portal import PORTAL

        PORTAL.shutdown_timeout = 120  # a hang guard only: a loaded machine must not make the exit look leaky
        client = Calypso()
        client.account.get()
        other = Calypso()
        other.user.current()
        dropped = Calypso()
        dropped.account.get()
        del dropped
        gc.collect()
        never_used = Calypso()
        assert PORTAL.running
        print("bye")
        del other  # collected right before exit: its scheduled close must still run before the loop stops
        gc.collect()
        """
    )
    done = run_python(script, server)
    assert done.stdout.split() == ["bye", "threads", "1"], done.stderr  # loop thread stopped and joined
    assert done.returncode == 0
    assert done.stderr == ""  # no "Unclosed client session", no ResourceWarning, no "Event loop is closed"


def test_exit_probe_detects_a_session_left_open(server: FakeCalypso) -> None:
    script = EXIT_PROBE + textwrap.dedent(
        """
        from calypso_sync import Calypso
        from calypso_sync._portal import PORTAL

        PORTAL.shutdown = lambda *args, **kwargs: None  # negative control: no exit hook
        client = Calypso()
        client.account.get()
        """
    )
    done = run_python(script, server)
    assert "Unclosed" in done.stderr


def test_interpreter_exit_with_a_suspended_page_iterator_is_silent(server: FakeCalypso) -> None:
    script = textwrap.dedent(
        """
        from calypso_sync import Calypso

        with Calypso() as client:
            print(client.customer_purse.create_customer(description="Carol").id)
        """
    )
    done = run_python(script, server)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    customer_id = done.stdout.strip()
    server.add_purse_transactions(customer_id, 5)
    script = EXIT_PROBE + textwrap.dedent(
        f"""
        from calypso_sync import Calypso
        from calypso_sync._portal import PORTAL

        PORTAL.shutdown_timeout = 120  # a hang guard only
        client = Calypso()
        pages = client.customer_purse.iter_transactions(customer_id={customer_id!r}, page_size=2)
        print(next(pages).id is not None)  # suspended mid-page at exit
        """
    )
    done = run_python(script, server)
    assert done.stdout.split() == ["True", "threads", "1"], done.stderr
    assert done.returncode == 0 and done.stderr == ""


def test_interpreter_exit_without_any_call_starts_nothing(server: FakeCalypso) -> None:
    script = textwrap.dedent(
        """
        import atexit, threading
        from calypso_sync import Calypso
        from calypso_sync._portal import PORTAL

        client = Calypso()
        atexit.register(lambda: print("threads", threading.active_count(), PORTAL.running))
        """
    )
    done = run_python(script, server)
    assert done.stdout.strip() == "threads 1 False", done.stderr
    assert done.returncode == 0 and done.stderr == ""
