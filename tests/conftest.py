"""Shared by every test directory: the pytest plugins the suite uses and the credentials of the unit tests.

The keys are made up (the fake server derives its own from its seed); tests that need a client without a
server build it from these on a ``calypso_async.testing.MockTransport`` (``client(transport)``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from calypso_async import AsyncCalypso, AsyncTransport
from calypso_async.testing import FakeCalypso

pytest_plugins = ["pytester", "calypso_async.testing.pytest_plugin"]

API_KEY = "c529e14832b34b74972365cf7bf02430"
SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"
ROOT = Path(__file__).resolve().parents[1]


def client(transport: AsyncTransport, **kwargs: Any) -> AsyncCalypso:
    """An ``AsyncCalypso`` on ``transport`` with the test keys and ``ACCOUNT`` (unless ``account=`` is given)."""
    kwargs.setdefault("account", ACCOUNT)
    return AsyncCalypso(API_KEY, SECRET, transport=transport, **kwargs)


def python_env(server: FakeCalypso | None) -> dict[str, str]:
    """Environment of a child interpreter: this checkout first, every warning an error, ``CALYPSO_*`` set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONWARNINGS"] = "error"
    env.pop("PYTHONASYNCIODEBUG", None)
    if server is not None:
        env.update(
            CALYPSO_API_KEY=server.api_key,
            CALYPSO_SECRET_KEY=server.secret_key,
            CALYPSO_ACCOUNT=server.account_id,
            CALYPSO_BASE_URL=server.base_url,
        )
    return env


def run_python(
    code: str, server: FakeCalypso | None = None, *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``-W error`` and wait for it."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=python_env(server),
        timeout=timeout,
        check=False,
    )
