"""The engine's one observation seam, shared by event hooks, OpenTelemetry and ``with_raw_response``.

The engine makes a :class:`CallRecord` for a logical call only when something observes it (the client has hooks
or tracing, a ``with_raw_response`` wrapper is waiting for it, or it runs inside another observed call), so an
unobserved call pays three attribute/context-variable reads and nothing else. The record is told four things:

* :func:`observed` (decorating ``_call``): the call starts and ends (result or exception);
* ``record.attempt(prepared, n)`` (awaited at the top of ``_attempt``): attempt ``n`` starts;
* ``record.sent(response)`` (after each send): an answer arrived, with its status, headers and body;
* ``record.retry(n, exc, delay)`` (from the retry policy's callback): attempt ``n`` failed and will be retried.

From these it keeps the facts a raw response shows, drives the span, and queues hook events. The retry callback
cannot await, so queued events are delivered where the engine awaits anyway: an attempt's start, the wait before
a retry (``record.retry_policy`` wraps the policy's ``sleep``) and the call's end.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import attrs

from ._errors import OutcomeUnknownError
from ._hooks import EventHook, HookEvent, HookKind, emit, normalize_hooks
from ._otel import CallSpan, TracerProviderLike, make_tracer
from ._raw import SINK
from ._signing import mask

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from ._retry import RetryPolicy
    from ._transport import Response

__all__ = ["CallRecord", "Observer", "current_record", "make_observer", "observed"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

_CURRENT: ContextVar[CallRecord | None] = ContextVar("calypso_call", default=None)

current_record = _CURRENT.get
"""The record of the call running in this context, if it is observed (read by ``_Prepared``)."""


class Observer:
    """What a client observes its calls with: hooks by kind, and a tracer."""

    __slots__ = ("hooks", "tracer")

    def __init__(self, hooks: dict[HookKind, tuple[EventHook, ...]], tracer: Tracer | None) -> None:
        self.hooks = hooks
        self.tracer = tracer


def make_observer(
    event_hooks: Mapping[str, Iterable[EventHook]] | None, tracing: bool | TracerProviderLike | None
) -> Observer | None:
    """The client's observer, or ``None`` when it has neither hooks nor tracing (the fast path)."""
    hooks = normalize_hooks(event_hooks)
    tracer = make_tracer(tracing)
    return Observer(hooks, tracer) if hooks or tracer is not None else None


class CallRecord:
    """Facts of one logical call, gathered attempt by attempt."""

    __slots__ = (
        "_att_duration",
        "_att_started",
        "_att_status",
        "_att_trace_id",
        "_hooks",
        "_number",
        "_pending",
        "_span",
        "account",
        "attempts",
        "content",
        "elapsed",
        "error_code",
        "headers",
        "idempotency_key",
        "method",
        "operation",
        "parent",
        "path",
        "started",
        "status",
        "trace_id",
    )

    def __init__(self, operation: str, observer: Observer | None, parent: CallRecord | None) -> None:
        self.operation = operation
        self.parent = parent
        self.method = "POST"
        self.path = ""
        self.account: str | None = None
        self.idempotency_key: str | None = None
        self.attempts = 0
        self.status: int | None = None
        self.headers: Mapping[str, str] | None = None
        self.content = b""
        self.trace_id: str | None = None
        self.error_code: str | None = None
        self.started = time.perf_counter()
        self.elapsed = 0.0
        self._hooks = observer.hooks if observer is not None else {}
        self._span = CallSpan(observer.tracer, operation) if observer is not None and observer.tracer else None
        self._pending: list[HookEvent] = []
        self._number: int | None = None  # the attempt in progress
        self._att_started = 0.0
        self._att_status: int | None = None
        self._att_trace_id: str | None = None
        self._att_duration: float | None = None

    # ------------------------------------------------------------------------------------ engine side

    async def attempt(self, prepared: Any, number: int) -> None:
        if self.attempts == 0:
            self.method = prepared.op.method
            self.path = urlsplit(prepared.url).path
            self.account = None if prepared.account is None else mask(prepared.account)
            self.idempotency_key = prepared.idempotency_key
            if self._span is not None:
                self._span.set_request(self.method, self.account, self.idempotency_key)
        self._close_attempt(None)
        self.attempts += 1
        self._number = number
        self._att_started = time.perf_counter()
        self._att_status = self._att_trace_id = None
        if "request" in self._hooks:
            self._queue("request", number)
        if self._pending:
            await self._flush()

    def sent(self, response: Response) -> None:
        headers = response.headers
        self.status = self._att_status = response.status
        self.headers = headers
        self.content = response.body
        self.trace_id = self._att_trace_id = headers.get("X-Trace-Id") or headers.get("X-Request-Id")
        self.error_code = None

    def retry_policy(self, policy: RetryPolicy) -> RetryPolicy:
        """``policy`` whose waits first deliver the failed attempt's events, so hooks hear of a retry before it."""
        if not self._hooks:
            return policy
        sleep = policy.sleep

        async def deliver_then_sleep(seconds: float) -> None:
            if self._pending:
                await self._flush()
            await sleep(seconds)

        return attrs.evolve(policy, sleep=deliver_then_sleep)

    def retry(self, number: int, exc: BaseException, delay: float) -> None:
        self._close_attempt(exc)
        if self._span is not None:
            self._span.retry(number, type(exc).__name__, getattr(exc, "status_code", None), delay)
        if "retry" in self._hooks:
            self._queue("retry", number, error=exc, duration=self._att_duration, retry_delay=delay)

    # ------------------------------------------------------------------------------------ internals

    def _close_attempt(self, exc: BaseException | None) -> None:
        number = self._number
        if number is None:
            return
        self._number = None
        self._att_duration = duration = time.perf_counter() - self._att_started
        if exc is not None:
            status = getattr(exc, "status_code", None)
            if isinstance(status, int):
                self._att_status = status
            trace_id = getattr(exc, "trace_id", None)
            if isinstance(trace_id, str) and trace_id:
                self._att_trace_id = self.trace_id = trace_id
            code = getattr(exc, "error_code", None)
            self.error_code = code if isinstance(code, str) else None
        if "response" in self._hooks:
            self._queue("response", number, error=exc, duration=duration)

    def _queue(
        self,
        kind: HookKind,
        number: int,
        *,
        error: BaseException | None = None,
        duration: float | None = None,
        retry_delay: float | None = None,
    ) -> None:
        self._pending.append(
            HookEvent(
                kind=kind,
                operation=self.operation,
                attempt=number,
                method=self.method,
                path=self.path,
                account=self.account,
                idempotency_key=self.idempotency_key,
                status=None if kind == "request" else self._att_status,
                duration=duration,
                trace_id=None if kind == "request" else self._att_trace_id,
                error=None if error is None else type(error).__name__,
                error_code=getattr(error, "error_code", None) if error is not None else None,
                retry_delay=retry_delay,
            )
        )

    async def _flush(self) -> None:
        events, self._pending = self._pending, []
        token = _CURRENT.set(None)  # a hook's own calypso calls are not part of this call
        try:
            for event in events:
                hooks = self._hooks.get(event.kind)
                if hooks:
                    await emit(hooks, event)
        finally:
            _CURRENT.reset(token)

    def _adopt(self, child: CallRecord) -> None:
        """A nested call (the duplicate-key lookup) produced this call's result: its answer is ours."""
        self.status = self._att_status = child.status
        self.headers = child.headers
        self.content = child.content
        self.trace_id = self._att_trace_id = child.trace_id
        self.error_code = None

    def _end(self, exc: BaseException | None) -> None:
        cause = exc.__cause__ if isinstance(exc, OutcomeUnknownError) else None
        self._close_attempt(cause if cause is not None else exc)  # the last attempt's own failure
        self.elapsed = time.perf_counter() - self.started
        if exc is None and self.parent is not None:
            self.parent._adopt(self)
        if self._span is not None:
            self._span.detach()
            self._span.end(
                attempts=self.attempts,
                status=self.status if exc is None else self._att_status,
                trace_id=self.trace_id,
                error=None if exc is None else type(exc).__name__,
                error_code=self.error_code if exc is not None else None,
            )

    async def run(self, call: Awaitable[Any]) -> Any:
        token = _CURRENT.set(self)
        if self._span is not None:
            self._span.attach()
        try:
            result = await call
        except BaseException as exc:
            _CURRENT.reset(token)
            self._end(exc)
            if self._pending and isinstance(exc, Exception):
                await self._flush()
            raise
        _CURRENT.reset(token)
        self._end(None)
        if self._pending:
            await self._flush()
        return result


def observed(call: F) -> F:
    """Decorate the engine's ``_call``: observed calls run inside a :class:`CallRecord`.

    A plain function returning the coroutine, so that an unobserved call costs no extra coroutine.
    """

    @functools.wraps(call)
    def wrapper(client: Any, op: Any, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        observer: Observer | None = client._observer
        parent = _CURRENT.get()
        sink = SINK.get()
        if observer is None and parent is None and (sink is None or sink.record is not None):
            return call(client, op, *args, **kwargs)
        record = CallRecord(op.name, observer, parent)
        if parent is None and sink is not None and sink.record is None:
            sink.record = record
        return record.run(call(client, op, *args, **kwargs))

    return cast(F, wrapper)
