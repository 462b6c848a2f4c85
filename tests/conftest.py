"""Shared by every test directory: the pytest plugins the suite uses and the credentials of the unit tests.

The keys are made up (the fake server derives its own from its seed); tests that need a client without a
server build it from these on a ``calypso_async.testing.MockTransport`` (``client(transport)``).
"""

from __future__ import annotations

from typing import Any

from calypso_async import AsyncCalypso, AsyncTransport

pytest_plugins = ["pytester", "calypso_async.testing.pytest_plugin"]

API_KEY = "c529e14832b34b74972365cf7bf02430"
SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"


def client(transport: AsyncTransport, **kwargs: Any) -> AsyncCalypso:
    """An ``AsyncCalypso`` on ``transport`` with the test keys and ``ACCOUNT`` (unless ``account=`` is given)."""
    kwargs.setdefault("account", ACCOUNT)
    return AsyncCalypso(API_KEY, SECRET, transport=transport, **kwargs)
