"""Every exception calypso raises, in one tree.

::

    CalypsoError                      root: ``except calypso_async.CalypsoError`` catches all of them
    ├── APIError                      the service answered with an error (status_code, error_code, message,
    │   │                             trace_id, operation, idempotency_key)
    │   ├── BadRequestError           400 / errorCode 001: the request was invalid
    │   ├── AuthenticationError       401 / 002 (bad API key) / 003 (bad signature)
    │   ├── NotFoundError             404 / 004
    │   ├── InvalidTimestampError     011: the signed timestamp was outside the ±3-minute window
    │   ├── ConflictError             409 / wrong object state (006 invoice, 012 payout)
    │   │   └── DuplicateIdempotencyKeyError   016: an object with this idempotencyKey already exists
    │   ├── RateLimitError            429
    │   └── ServerError               5xx / 000
    ├── InvalidResponseError          a 2xx answer that is not the JSON calypso expects (HTML, truncated, too large)
    │   └── StructureError            data that cannot be read as the model asked for (``Model.from_dict``)
    ├── APIConnectionError            the request may not have reached the service (DNS, refused, reset)
    │   └── APITimeoutError           no complete answer within ``timeout`` seconds
    ├── ClientClosedError             the client was closed (``aclose()``/``close()``), or the session given to it was
    ├── EventLoopError                an aiohttp session given to the client is used from another event loop
    ├── OutcomeUnknownError           a money-moving call without an idempotency key failed ambiguously:
    │                                 it may or may not have happened; the message says how to check
    ├── WebhookSignatureError         a webhook delivery's ``Sign`` is missing or wrong
    ├── WebhookPayloadError           a webhook body is not the documented envelope
    └── SyncFacadeError               the sync facade was used where it cannot work (e.g. from its own loop)

The error-code table lives in :data:`ERROR_CODE_CLASSES`; codes are not unique across API versions
(016 has two meanings), so classes are a hint and ``message`` is always kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

_E = TypeVar("_E", bound=BaseException)


def _rebuild(cls: type[_E], args: tuple[Any, ...], state: dict[str, Any]) -> _E:
    """Unpickle an error without calling its ``__init__`` (keyword-only arguments would be missing)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


__all__ = [
    "ERROR_CODE_CLASSES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CalypsoError",
    "ClientClosedError",
    "ConflictError",
    "DuplicateIdempotencyKeyError",
    "EventLoopError",
    "InvalidResponseError",
    "InvalidTimestampError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitError",
    "ServerError",
    "StructureError",
    "SyncFacadeError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "error_class_for",
]


class CalypsoError(Exception):
    """Root of every calypso exception.

    ``operation`` (``payouts.create``) and ``idempotency_key`` are set by the client on every error of a call,
    whatever its kind, so that a failed create can always be looked up by its key.
    """

    operation: str | None = None
    idempotency_key: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Every attribute travels (pickle, copy.deepcopy, a process pool returning the error): the default
        # would call ``__init__(*args)`` and lose, or fail on, the keyword-only ones.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ClientClosedError(CalypsoError):
    """The client was closed (``aclose()``/``close()``) before or during the call, or the aiohttp ``session``
    passed to it was closed by its owner. Nothing more is sent; create a new client (or session).
    """


class EventLoopError(CalypsoError):
    """The client was used on an event loop where it cannot work; the message says what to do instead.

    (calypso's own connection pools follow the loop that awaits a call; a ``session=`` you passed cannot.)
    """


class APIError(CalypsoError):
    """The service answered a call with an error.

    ``str(err)`` reads ``[400 errorCode=001] message (operation=payouts.create, trace_id=…)``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str | None = None,
        trace_id: str | None = None,
        operation: str | None = None,
        idempotency_key: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.trace_id = trace_id
        self.operation = operation
        self.idempotency_key = idempotency_key
        self.retry_after = retry_after
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        head = f"[{self.status_code}" + (f" errorCode={self.error_code}]" if self.error_code else "]")
        extras = [
            f"{name}={value}"
            for name, value in (
                ("operation", self.operation),
                ("trace_id", self.trace_id),
                ("idempotency_key", self.idempotency_key),
            )
            if value
        ]
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"{head} {self.message}{tail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, error_code={self.error_code!r}, "
            f"message={self.message!r}, operation={self.operation!r}, trace_id={self.trace_id!r})"
        )


class BadRequestError(APIError):
    """400 or errorCode 001: the service rejected the input."""


class AuthenticationError(APIError):
    """401, errorCode 002 (invalid API key) or 003 (wrong signature)."""


class NotFoundError(APIError):
    """404 or errorCode 004: the object does not exist (or is not visible to this key)."""


class InvalidTimestampError(APIError):
    """errorCode 011: the signed timestamp was more than 3 minutes away from the server clock.

    ``clock_offset`` is the server-minus-local offset in seconds the client had measured, when known.
    """

    clock_offset: float | None = None


class ConflictError(APIError):
    """409, or the object is in the wrong state for the operation (006 invoice, 012 payout)."""


class DuplicateIdempotencyKeyError(ConflictError):
    """errorCode 016: an object with this ``idempotencyKey`` already exists.

    calypso handles this itself: a create that meets it fetches the object its key created and returns it
    when it matches the arguments of the call. You see this error when the key was used before for a
    different request; ``existing`` then holds the object created with that key (when it could be fetched).
    """

    existing: Any = None


class RateLimitError(APIError):
    """429: slow down; ``retry_after`` holds the server's hint in seconds, when it gave one."""


class ServerError(APIError):
    """5xx or errorCode 000: the service failed; retried automatically, raised when retries ran out."""


class InvalidResponseError(CalypsoError):
    """The answer could not be understood (not JSON, truncated, over the size cap, wrong shape)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        operation: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.operation = operation
        self.idempotency_key = idempotency_key
        super().__init__(message)


class StructureError(InvalidResponseError, TypeError):
    """Wire data that cannot be read as the requested model; also a ``TypeError`` for converter hooks."""


class APIConnectionError(CalypsoError):
    """The service could not be reached or the connection broke.

    ``request_sent`` is False when the failure happened before any byte of the request left (DNS, refused,
    connect timeout): such a call certainly did not happen and is always safe to retry.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        request_sent: bool = True,
        idempotency_key: str | None = None,
    ) -> None:
        self.message = message
        self.operation = operation
        self.request_sent = request_sent
        self.idempotency_key = idempotency_key
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """No complete answer within the call's ``timeout`` (seconds, per attempt)."""


class OutcomeUnknownError(CalypsoError):
    """A money-moving call that has no idempotency key failed after its request may have been processed.

    calypso does not retry such calls blindly (a retry could move the money twice). Check the outcome
    yourself, e.g. list or fetch the object, before deciding to call again. ``__cause__`` is the failure.
    """

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        self.message = message
        self.operation = operation
        super().__init__(message)


class WebhookSignatureError(CalypsoError):
    """A webhook delivery's ``Sign`` header is missing or does not match its body."""


class WebhookPayloadError(CalypsoError):
    """A webhook body is not the documented JSON envelope."""


class SyncFacadeError(CalypsoError, RuntimeError):
    """The sync facade was called where it cannot work, e.g. from the private loop's own thread."""


ERROR_CODE_CLASSES: Mapping[str, type[APIError]] = {
    "000": ServerError,
    "001": BadRequestError,
    "002": AuthenticationError,
    "003": AuthenticationError,
    "004": NotFoundError,
    "006": ConflictError,
    "011": InvalidTimestampError,
    "012": ConflictError,
    "016": DuplicateIdempotencyKeyError,
}

_STATUS_CLASSES: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class_for(status_code: int, error_code: str | None) -> type[APIError]:
    """Pick the exception class: the status wins for 429 and 5xx, otherwise the errorCode, then the status."""
    if status_code == 429:
        return RateLimitError
    if status_code >= 500:
        return ServerError
    if error_code is not None and error_code in ERROR_CODE_CLASSES:
        return ERROR_CODE_CLASSES[error_code]
    return _STATUS_CLASSES.get(status_code, APIError)
