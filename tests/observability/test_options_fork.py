"""A sync ``with_options`` copy made before ``fork()`` follows its client into the child: own pool, same options."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from calypso_async.testing import FakeCalypso

from ..conftest import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process model")


SCRIPT = """
import os, traceback, warnings
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
from calypso_sync import Calypso

client = Calypso(max_retries=0)
fast = client.with_options(timeout=4.5)
fast.account.get()
parent_inner = fast._async_client
parent_pool = client._async_client._transport

pid = os.fork()
if pid == 0:
    code = 0
    try:
        checks = [
            fast.account.get().account == os.environ["CALYPSO_ACCOUNT"],
            fast._async_client is not parent_inner,                              # rebuilt in the child
            fast._async_client.timeout == 4.5,                                   # with its own options
            fast._async_client._transport is client._async_client._transport,    # on the child's pool
            client._async_client._transport is not parent_pool,
        ]
        code = 0 if all(checks) else 10 + checks.index(False)
    except BaseException:
        traceback.print_exc()
        code = 99
    os._exit(code)

_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
fast.account.get()
fast.close()
client.close()
"""


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread() as fake:
        yield fake


def test_sync_copy_is_rebuilt_in_a_fork_child(server: FakeCalypso) -> None:
    done = run_python(SCRIPT, server)
    assert done.stdout.strip() == "child 0", done.stdout + done.stderr
    assert done.returncode == 0 and done.stderr == ""
