"""calypso_sync: the Calypso Pay SDK for synchronous code, a generated facade over ``calypso_async``.

>>> from calypso_sync import Calypso, CalypsoError  # doctest: +SKIP
>>> with Calypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     print(client.account.get().balances)

Why a facade and not a second HTTP stack: every call runs the very same ``AsyncCalypso`` coroutine (signing,
clock, retries, idempotency) on one private event-loop thread per process (``_portal.py``), so behaviour cannot
drift between the two APIs. The wrappers are generated (``scripts/generate_sync.py``); the loop, fork and exit
handling are hand-written (``_portal.py``, ``_base.py``). Errors and models are those of ``calypso_async``,
re-exported here; resource classes live in :mod:`calypso_sync.resources`.
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

from . import models
from . import resources as resources
from ._generated import Calypso
from ._portal import SyncIterator
from .models import *  # noqa: F403  (every model, as in calypso_async.models)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Calypso",
    "CalypsoError",
    "ConflictError",
    "DuplicateIdempotencyKeyError",
    "InvalidResponseError",
    "InvalidTimestampError",
    "Model",
    "NotFoundError",
    "OpenEnum",
    "OutcomeUnknownError",
    "RateLimitError",
    "RetryPolicy",
    "ServerClock",
    "ServerError",
    "StructureError",
    "SyncFacadeError",
    "SyncIterator",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
]
__all__ += models.__all__
