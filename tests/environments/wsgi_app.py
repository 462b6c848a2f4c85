"""A WSGI app that calls the sync client once per request, served by gunicorn in the environment tests.

Environment switches (set by the tests): ``CALYPSO_TEST_PATCH_ALL=1`` monkey-patches everything with gevent
before anything else is imported (as apps that patch themselves do); ``CALYPSO_TEST_CALL_AT_IMPORT=1`` makes
one call while the module is imported (in the gunicorn master under ``--preload``).
"""

from __future__ import annotations

import os

if os.environ.get("CALYPSO_TEST_PATCH_ALL") == "1":
    from gevent import monkey

    monkey.patch_all()

from collections.abc import Callable, Iterable
from typing import Any

from calypso_sync import Calypso

client = Calypso(max_retries=0)  # CALYPSO_API_KEY, CALYPSO_SECRET_KEY, CALYPSO_ACCOUNT, CALYPSO_BASE_URL

if os.environ.get("CALYPSO_TEST_CALL_AT_IMPORT") == "1":
    client.account.get()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = f"{client.account.get().account} {os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
