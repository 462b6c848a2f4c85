"""OpenTelemetry: one span per logical call, retries as events, nothing secret, opentelemetry imported lazily."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from calypso_async import APITimeoutError, AsyncCalypso, BadRequestError, Request, Response
from calypso_async._observe import current_record

from .support import ACCOUNT_BODY, StubTransport, assert_no_secret, error, make, make_sync, ok, options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def dump(spans: tuple[ReadableSpan, ...]) -> str:
    return "\n".join(span.to_json() for span in spans)


def retry_script() -> StubTransport:
    return StubTransport(
        error(503, None, trace_id="t-1"), APITimeoutError("slow"), ok(ACCOUNT_BODY, headers={"X-Trace-Id": "t-3"})
    )


def check_retried_span(exporter: InMemorySpanExporter, transport: StubTransport) -> None:
    (span,) = exporter.get_finished_spans()
    assert span.name == "calypso account.get"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["calypso.operation"] == "account.get"
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.response.status_code"] == 200
    assert attributes["calypso.attempts"] == 3
    assert attributes["calypso.trace_id"] == "t-3"
    assert "…" in str(attributes["calypso.account"])
    assert "error.type" not in attributes
    assert span.status.status_code is StatusCode.UNSET
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert [name for name, _ in events] == ["retry", "retry"]
    assert events[0][1]["calypso.attempt"] == 1
    assert events[0][1]["error.type"] == "ServerError"
    assert events[0][1]["http.response.status_code"] == 503
    assert events[1][1]["error.type"] == "APITimeoutError"
    assert all(attrs["calypso.retry_delay"] > 0 for _, attrs in events)
    assert_no_secret(dump(exporter.get_finished_spans()), transport)


async def test_async_call_is_one_span_with_retries_as_events(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    transport = retry_script()
    await make(transport, tracing=provider).account.get()
    check_retried_span(exporter, transport)


def test_sync_call_is_one_span_with_retries_as_events(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    transport = retry_script()
    with make_sync(transport, tracing=provider) as client:
        client.account.get()
    check_retried_span(exporter, transport)


async def test_async_failed_call_span_has_error_status_and_code(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(BadRequestError):
        await make(StubTransport(error(400, "001", trace_id="t-x")), tracing=provider).account.get()
    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attributes["error.type"] == "BadRequestError"
    assert attributes["calypso.error_code"] == "001"
    assert attributes["http.response.status_code"] == 400
    assert attributes["calypso.trace_id"] == "t-x"
    assert attributes["calypso.attempts"] == 1


def test_sync_failed_call_span_has_error_status(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    with make_sync(StubTransport(error(400, "001")), tracing=provider) as client:
        with pytest.raises(BadRequestError):
            client.account.get()
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["calypso.error_code"] == "001"


async def test_lookup_after_duplicate_key_is_a_child_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    transport = StubTransport(
        APITimeoutError("slow"),
        error(409, "016", "duplicate idempotency key"),
        ok({"id": "p-1", "idempotencyKey": "k-1"}),
    )
    client = make(transport, tracing=provider)
    await client.payouts.create(deposit_address="Tabc", amount=1, currency="TRX", idempotency_key="k-1")
    child, parent = exporter.get_finished_spans()
    assert (parent.name, child.name) == ("calypso payouts.create", "calypso payouts.get")
    assert child.parent is not None and parent.context is not None
    assert child.parent.span_id == parent.context.span_id
    assert dict(parent.attributes or {})["calypso.idempotency_key"] == "k-1"
    assert dict(parent.attributes or {})["http.response.status_code"] == 200


def test_sync_span_is_a_child_of_the_callers_current_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("app")
    with make_sync(StubTransport(ok(ACCOUNT_BODY)), tracing=provider) as client:
        with tracer.start_as_current_span("handler"):
            client.account.get()
    calypso_span, handler = exporter.get_finished_spans()
    assert calypso_span.parent is not None and handler.context is not None
    assert calypso_span.parent.span_id == handler.context.span_id


async def test_untraced_client_makes_no_span(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    await make(StubTransport(ok(ACCOUNT_BODY))).account.get()
    assert exporter.get_finished_spans() == ()
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_tracing_needs_opentelemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ValueError, match=r"calypso-pay\[otel\]"):
        AsyncCalypso(**options(StubTransport(), tracing=True))


def test_tracing_refuses_what_is_not_a_tracer_provider() -> None:
    with pytest.raises(ValueError, match="TracerProvider"):
        AsyncCalypso(**options(StubTransport(), tracing="yes"))


def run_python(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_calypso_does_not_import_opentelemetry() -> None:
    result = run_python(
        """
        import json, sys
        import calypso_async, calypso_sync
        client = calypso_async.AsyncCalypso("k" * 32, "s" * 32, event_hooks={"request": [print]})
        print(json.dumps({"otel": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))
        """
    )
    assert result == {"otel": []}


def test_tracing_true_uses_the_global_tracer_provider() -> None:
    result = run_python(
        """
        import asyncio, json
        from email.utils import formatdate
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from calypso_async import AsyncCalypso, Response

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))

        class Transport:
            async def send(self, request):
                return Response(200, {"Date": formatdate(usegmt=True)}, b'{"ok": true}')
            async def aclose(self):
                pass

        client = AsyncCalypso("k" * 32, "s" * 32, transport=Transport(), tracing=True)
        trace.set_tracer_provider(provider)  # set after the client: the proxy tracer follows it
        asyncio.run(client.request("/api/v1/anything"))
        print(json.dumps({"spans": [s.name for s in exporter.get_finished_spans()]}))
        """
    )
    assert result == {"spans": ["calypso request"]}


async def test_cancelled_call_ends_its_span_and_leaves_no_context_behind(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    started = asyncio.Event()

    class Hanging(StubTransport):
        async def send(self, request: Request) -> Response:
            started.set()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    client = make(Hanging(), tracing=provider)
    task = asyncio.ensure_future(client.account.get())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "CancelledError"
    assert current_record() is None
    assert trace.get_current_span() is trace.INVALID_SPAN
