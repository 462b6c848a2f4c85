"""calypso_async: the async Python SDK for the Calypso Pay API.

>>> from calypso_async import AsyncCalypso  # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from ._client import NOT_GIVEN, AsyncCalypso
from ._clock import ServerClock
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CalypsoError,
    ClientClosedError,
    ConflictError,
    DuplicateIdempotencyKeyError,
    EventLoopError,
    InvalidResponseError,
    InvalidTimestampError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    StructureError,
    SyncFacadeError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._hooks import EventHook, HookEvent
from ._raw import RawResponse
from ._retry import RetryPolicy
from ._transport import AiohttpTransport, AsyncTransport, Request, Response
from ._version import __version__

if TYPE_CHECKING:
    from ._model import Model, OpenEnum
    from .poller import (
        AccountSnapshot,
        BalanceChange,
        BalancePoller,
        ManualClock,
        MemoryStore,
        PollerEvent,
        PollerOptions,
        PollError,
        PollerStats,
        SnapshotStore,
        SnapshotStoreError,
        SQLiteStore,
    )
    from .webhooks import (
        WebhookEvent,
        construct_event,
        dedup_key,
        handle_webhook,
        verify_signature,
        webhook_handler,
    )

_LAZY = {
    "Model": "_model",
    "OpenEnum": "_model",
    "BalancePoller": "poller",
    "BalanceChange": "poller",
    "PollError": "poller",
    "PollerEvent": "poller",
    "AccountSnapshot": "poller",
    "PollerStats": "poller",
    "ManualClock": "poller",
    "PollerOptions": "poller",
    "SnapshotStore": "poller",
    "SnapshotStoreError": "poller",
    "MemoryStore": "poller",
    "SQLiteStore": "poller",
    "WebhookEvent": "webhooks",
    "construct_event": "webhooks",
    "dedup_key": "webhooks",
    "handle_webhook": "webhooks",
    "verify_signature": "webhooks",
    "webhook_handler": "webhooks",
}


def __getattr__(name: str) -> Any:
    # Loaded on first use: most processes that call the API never receive a webhook (the generated event
    # classes are costly), and the models' converter (cattrs) is needed only once a call is made.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'calypso_async' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountSnapshot",
    "AiohttpTransport",
    "AsyncCalypso",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "BalanceChange",
    "BalancePoller",
    "CalypsoError",
    "ClientClosedError",
    "ConflictError",
    "DuplicateIdempotencyKeyError",
    "EventHook",
    "EventLoopError",
    "HookEvent",
    "InvalidResponseError",
    "InvalidTimestampError",
    "ManualClock",
    "MemoryStore",
    "Model",
    "NotFoundError",
    "OpenEnum",
    "OutcomeUnknownError",
    "PollError",
    "PollerEvent",
    "PollerOptions",
    "PollerStats",
    "RateLimitError",
    "RawResponse",
    "Request",
    "Response",
    "RetryPolicy",
    "SQLiteStore",
    "ServerClock",
    "ServerError",
    "SnapshotStore",
    "SnapshotStoreError",
    "StructureError",
    "SyncFacadeError",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
    "construct_event",
    "dedup_key",
    "handle_webhook",
    "verify_signature",
    "webhook_handler",
]
