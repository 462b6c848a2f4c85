"""OpenTelemetry tracing: one span per logical call, retries as span events (extra ``calypso-pay[otel]``).

>>> client = AsyncCalypso(tracing=True)  # doctest: +SKIP

Off unless the client is built with ``tracing=True`` (the global tracer provider) or ``tracing=<TracerProvider>``:
an application that has opentelemetry installed for something else pays nothing and sees no calypso spans it did
not ask for. ``opentelemetry`` is imported here only, and only when a client turns tracing on, so
``import calypso_async`` never imports it.

A span is named ``calypso <operation>`` (``calypso payouts.create``), of kind CLIENT, and carries the masked
account, HTTP method and final status, the error class and Calypso error code, the trace id, the idempotency key
and the number of attempts; each retry is a ``retry`` event with its attempt number, failure and delay. The span
is current while the call runs, so spans started by hooks or by a duplicate-key lookup are its children.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["CallSpan", "TracerProviderLike", "make_tracer"]


class TracerProviderLike(Protocol):
    """An OpenTelemetry ``TracerProvider`` (named structurally, so that calypso's signatures need no import)."""

    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> Any: ...


def make_tracer(tracing: bool | TracerProviderLike | None) -> Tracer | None:
    """The tracer for ``tracing=`` (``None`` when off); refuses clearly when opentelemetry is missing."""
    if tracing is None or tracing is False:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        raise ValueError("tracing= needs the OpenTelemetry API: pip install 'calypso-pay[otel]'") from None
    provider = None if tracing is True else tracing
    if provider is not None and not hasattr(provider, "get_tracer"):
        raise ValueError(f"tracing= takes True or an opentelemetry TracerProvider, not {type(tracing).__name__}")
    return trace.get_tracer("calypso", __version__, tracer_provider=provider)  # type: ignore[arg-type]


class CallSpan:
    """The span of one logical call, current from :meth:`start` to :meth:`end`."""

    __slots__ = ("_span", "_token")

    def __init__(self, tracer: Tracer, operation: str) -> None:
        from opentelemetry.trace import SpanKind

        self._span: Span = tracer.start_span(
            f"calypso {operation}", kind=SpanKind.CLIENT, attributes={"calypso.operation": operation}
        )
        self._token: object = None

    def attach(self) -> None:
        from opentelemetry import context, trace

        self._token = context.attach(trace.set_span_in_context(self._span))

    def detach(self) -> None:
        from opentelemetry import context

        if self._token is not None:
            context.detach(self._token)  # type: ignore[arg-type]
            self._token = None

    def set_request(self, method: str, account: str | None, idempotency_key: str | None) -> None:
        span = self._span
        span.set_attribute("http.request.method", method)
        if account is not None:
            span.set_attribute("calypso.account", account)
        if idempotency_key is not None:
            span.set_attribute("calypso.idempotency_key", idempotency_key)

    def retry(self, attempt: int, error: str, status: int | None, delay: float) -> None:
        attributes: dict[str, Any] = {"calypso.attempt": attempt, "error.type": error, "calypso.retry_delay": delay}
        if status is not None:
            attributes["http.response.status_code"] = status
        self._span.add_event("retry", attributes)

    def end(
        self,
        *,
        attempts: int,
        status: int | None,
        trace_id: str | None,
        error: str | None,
        error_code: str | None,
    ) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self._span
        span.set_attribute("calypso.attempts", attempts)
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if trace_id is not None:
            span.set_attribute("calypso.trace_id", trace_id)
        if error_code is not None:
            span.set_attribute("calypso.error_code", error_code)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
