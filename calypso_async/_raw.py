"""Raw responses: the answer's status, headers and timing next to the usual model.

>>> raw = await client.with_raw_response.payouts.create(...)  # doctest: +SKIP
>>> raw.status_code, raw.trace_id, raw.attempts, raw.elapsed  # doctest: +SKIP
(200, '5f2c…', 1, 0.21)
>>> payout = raw.parse()  # doctest: +SKIP

``client.with_raw_response.<resource>.<method>`` is generated (``_raw_resources.py``) from the resource methods
with :func:`to_raw_response`, whose ``ParamSpec`` keeps each method's exact parameters for type checkers and turns
its return type ``T`` into ``RawResponse[T]``. At run time the wrapper opens a :class:`RawSink` in a context
variable; the engine hands the sink the record of the first call made under it (see ``_observe``). The call
itself is the ordinary one: validated, signed, retried and parsed the same way, and it raises the same errors.
The sync facade's wrapper works the same way, because calypso_sync runs each coroutine in a copy of the caller's
context.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from ._errors import CalypsoError

if TYPE_CHECKING:
    from ._observe import CallRecord

__all__ = ["RawResponse", "RawSink", "to_raw_response", "to_sync_raw_response"]

T = TypeVar("T")
P = ParamSpec("P")


class RawSink:
    """Receives the record of the first call made while it is open."""

    __slots__ = ("record",)

    def __init__(self) -> None:
        self.record: CallRecord | None = None


SINK: ContextVar[RawSink | None] = ContextVar("calypso_raw_sink", default=None)


class RawResponse(Generic[T]):
    """What the last answer of a call looked like, and the model it was parsed into.

    >>> raw.status_code, raw.headers["Content-Type"], raw.parse()  # doctest: +SKIP
    (200, 'application/json', PublicDealResponseDTO(...))

    ``elapsed`` is the seconds the whole call took (every attempt and retry wait); ``attempts`` how many
    attempts were sent; ``idempotency_key`` the key a money-moving create was sent with (generated when you
    gave none). ``content`` holds the answer's bytes as received.
    """

    __slots__ = (
        "_parsed",
        "attempts",
        "content",
        "elapsed",
        "headers",
        "idempotency_key",
        "operation",
        "status_code",
        "trace_id",
    )

    def __init__(
        self,
        parsed: T,
        *,
        operation: str,
        status_code: int,
        headers: Mapping[str, str],
        content: bytes,
        trace_id: str | None,
        elapsed: float,
        attempts: int,
        idempotency_key: str | None,
    ) -> None:
        self._parsed = parsed
        self.operation = operation
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.trace_id = trace_id
        self.elapsed = elapsed
        self.attempts = attempts
        self.idempotency_key = idempotency_key

    def parse(self) -> T:
        """The model the call returns without ``with_raw_response``.

        >>> payout = raw.parse()  # doctest: +SKIP
        """
        return self._parsed

    def __repr__(self) -> str:
        return (
            f"<RawResponse {self.operation} [{self.status_code}] attempts={self.attempts} "
            f"elapsed={self.elapsed:.3f}s trace_id={self.trace_id!r}>"
        )


def _finish(sink: RawSink, parsed: T) -> RawResponse[T]:
    record = sink.record
    if record is None:  # pragma: no cover - every wrapped method makes exactly one call
        raise CalypsoError("with_raw_response: the wrapped method made no call")
    return RawResponse(
        parsed,
        operation=record.operation,
        status_code=record.status if record.status is not None else 0,
        headers=record.headers if record.headers is not None else {},
        content=record.content,
        trace_id=record.trace_id,
        elapsed=record.elapsed,
        attempts=record.attempts,
        idempotency_key=record.idempotency_key,
    )


def to_raw_response(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[RawResponse[T]]]:
    """``func`` with the same parameters, answering ``RawResponse[T]`` instead of ``T``.

    >>> create = to_raw_response(client.payouts.create)  # doctest: +SKIP
    """

    @functools.wraps(func)
    async def raw(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        sink = RawSink()
        token = SINK.set(sink)
        try:
            parsed = await func(*args, **kwargs)
        finally:
            SINK.reset(token)
        return _finish(sink, parsed)

    return raw


def to_sync_raw_response(func: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    """The sync facade's :func:`to_raw_response`.

    >>> create = to_sync_raw_response(client.payouts.create)  # doctest: +SKIP
    """

    @functools.wraps(func)
    def raw(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        sink = RawSink()
        token = SINK.set(sink)
        try:
            parsed = func(*args, **kwargs)
        finally:
            SINK.reset(token)
        return _finish(sink, parsed)

    return raw
