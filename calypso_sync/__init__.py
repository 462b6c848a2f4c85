"""calypso_sync: the Calypso Pay SDK for synchronous code, a generated facade over ``calypso_async``.

>>> from calypso_sync import Calypso, CalypsoError  # doctest: +SKIP
>>> with Calypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     print(client.account.get().balances)

Why a facade and not a second HTTP stack: every call runs the very same ``AsyncCalypso`` coroutine (signing,
clock, retries, idempotency) on one private event-loop thread per process (``_portal.py``), so behaviour cannot
drift between the two APIs. The wrappers are generated (``python -m scripts.codegen``); the loop, fork and exit
handling are hand-written (``_portal.py``, ``_base.py``). Errors and models are those of ``calypso_async``,
re-exported here; resource classes live in :mod:`calypso_sync.resources`.

Where it works:

* any thread, any number at once: share one client (it has one connection pool; ``aiohttp``'s default limit
  of 100 connections applies across all threads);
* inside a running event loop (notebook cell, ``async def``): the call blocks that loop while it runs; a one-time
  log warning suggests ``calypso_async`` there. Calls made *on* calypso_sync's own loop thread raise
  ``SyncFacadeError`` instead of deadlocking;
* Ctrl-C during a call cancels the request on the loop before ``KeyboardInterrupt`` reaches you;
* pre-fork servers: with ``gunicorn --preload app:app`` (or multiprocessing's ``fork`` start method) create the
  client at import time as usual; nothing is needed in ``post_fork``. Each worker builds its own loop thread and
  connection pool at its first call and never touches the master's. Best practice is still to make no calls in
  the master before forking: then it has no loop thread at all, and Python 3.12+ does not warn that ``fork()``
  is called in a multi-threaded process;
* exit: ``close()`` or ``with``; clients left open are closed on their loop by an ``atexit`` hook, silently.
"""

from typing import TYPE_CHECKING, Any

from calypso_async import (
    NOT_GIVEN,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CalypsoError,
    ClientClosedError,
    ConflictError,
    DuplicateIdempotencyKeyError,
    EventHook,
    EventLoopError,
    HookEvent,
    InvalidResponseError,
    InvalidTimestampError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RawResponse,
    ServerClock,
    ServerError,
    StructureError,
    SyncFacadeError,
    WebhookPayloadError,
    WebhookSignatureError,
    __version__,
)
from calypso_async import models as _async_models

from ._generated import Calypso
from ._portal import SyncIterator

if TYPE_CHECKING:
    from calypso_async import Model, OpenEnum, RetryPolicy
    from calypso_async.models import *  # noqa: F403  (every model, as in calypso_async.models)
    from calypso_async.webhooks import WebhookEvent, construct_event, dedup_key, handle_webhook, verify_signature

    from . import models as models
    from . import resources as resources
    from ._poller import BalancePoller, MemoryStore, PollerOptions, SnapshotStore, SnapshotStoreError, SQLiteStore

_LAZY = {
    "Model": "calypso_async",
    "OpenEnum": "calypso_async",
    "RetryPolicy": "calypso_async",
    "WebhookEvent": "calypso_async.webhooks",
    "construct_event": "calypso_async.webhooks",
    "dedup_key": "calypso_async.webhooks",
    "handle_webhook": "calypso_async.webhooks",
    "verify_signature": "calypso_async.webhooks",
    "BalancePoller": "calypso_sync._poller",
    "MemoryStore": "calypso_sync._poller",
    "PollerOptions": "calypso_sync._poller",
    "SnapshotStore": "calypso_sync._poller",
    "SnapshotStoreError": "calypso_sync._poller",
    "SQLiteStore": "calypso_sync._poller",
}


def __getattr__(name: str) -> Any:
    # Models, webhook helpers, the poller and the submodules load on first use, so that ``import calypso_sync``
    # costs little more than ``import aiohttp``.
    import importlib

    if name in ("models", "resources"):
        value: Any = importlib.import_module(f"{__name__}.{name}")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _async_models.__all__:
        value = getattr(_async_models, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BalancePoller",
    "Calypso",
    "CalypsoError",
    "ClientClosedError",
    "ConflictError",
    "DuplicateIdempotencyKeyError",
    "EventHook",
    "EventLoopError",
    "HookEvent",
    "InvalidResponseError",
    "InvalidTimestampError",
    "MemoryStore",
    "Model",
    "NotFoundError",
    "OpenEnum",
    "OutcomeUnknownError",
    "PollerOptions",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "SQLiteStore",
    "ServerClock",
    "ServerError",
    "SnapshotStore",
    "SnapshotStoreError",
    "StructureError",
    "SyncFacadeError",
    "SyncIterator",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
    "construct_event",
    "dedup_key",
    "handle_webhook",
    "verify_signature",
]
__all__ += _async_models.__all__
