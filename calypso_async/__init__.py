"""calypso_async: the async Python SDK for the Calypso Pay API.

>>> from calypso_async import AsyncCalypso  # doctest: +SKIP
"""

from ._client import NOT_GIVEN, AsyncCalypso
from ._clock import ServerClock
from ._errors import (
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
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    StructureError,
    SyncFacadeError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._model import Model, OpenEnum
from ._retry import RetryPolicy
from ._transport import AiohttpTransport, AsyncTransport, Request, Response
from ._version import __version__

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AiohttpTransport",
    "AsyncCalypso",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
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
    "Request",
    "Response",
    "RetryPolicy",
    "ServerClock",
    "ServerError",
    "StructureError",
    "SyncFacadeError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
]
