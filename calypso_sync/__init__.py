"""calypso_sync: the Calypso Pay SDK for synchronous code, a generated facade over ``calypso_async``.

>>> from calypso_sync import Calypso, CalypsoError  # doctest: +SKIP
>>> with Calypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     print(client.account.get().balances)

Why a facade and not a second HTTP stack: every call runs the very same ``AsyncCalypso`` coroutine (signing,
clock, retries, idempotency) on one private event-loop thread per process (``_portal.py``), so behaviour cannot
drift between the two APIs. The wrappers are generated (``scripts/generate_sync.py``); the loop, fork and exit
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

from calypso_async import (
    NOT_GIVEN,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CalypsoError,
    ConflictError,
    DuplicateIdempotencyKeyError,
    InvalidResponseError,
    InvalidTimestampError,
    Model,
    NotFoundError,
    OpenEnum,
    OutcomeUnknownError,
    RateLimitError,
    RetryPolicy,
    ServerClock,
    ServerError,
    StructureError,
    SyncFacadeError,
    WebhookPayloadError,
    WebhookSignatureError,
    __version__,
)
from calypso_async import models as _async_models
from calypso_async.models import *  # noqa: F403  (every model, as in calypso_async.models)
from calypso_async.webhooks import WebhookEvent, construct_event, dedup_key, handle_webhook, verify_signature

from . import models as models
from . import resources as resources
from ._generated import Calypso
from ._poller import BalancePoller, MemoryStore, PollerOptions, SnapshotStore, SnapshotStoreError, SQLiteStore
from ._portal import SyncIterator

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
    "ConflictError",
    "DuplicateIdempotencyKeyError",
    "InvalidResponseError",
    "InvalidTimestampError",
    "MemoryStore",
    "Model",
    "NotFoundError",
    "OpenEnum",
    "OutcomeUnknownError",
    "PollerOptions",
    "RateLimitError",
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
