"""Fault injection: make the fake server misbehave the way networks and gateways do, on demand.

Why: the SDK's retry, timeout, clock and idempotency logic only matter when things go wrong, and tests must be
able to make them go wrong deterministically. ``server.inject(path, fault)`` queues a fault for a path (or
``"*"``); each request to that path consumes the first queued fault (``times`` requests each), in order.

When a fault acts:

* before processing (the request has no effect): ``status``/``html``, ``drop``, and ``skew_jump`` (which only
  moves the server clock, then the request is processed normally against the new clock);
* after processing (the request's effects happen, only the answer is bad): ``drop_after_processing``,
  ``delay``, ``malformed``, ``empty``, ``truncated``, ``wrong_content_type``.
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, get_args

import attrs
from aiohttp import web

from .. import _json
from ._http import Answer

__all__ = ["FAULT_KINDS", "Fault", "FaultBook", "FaultKind"]

FaultKind = Literal[
    "status",
    "delay",
    "drop",
    "drop_after_processing",
    "malformed",
    "empty",
    "truncated",
    "wrong_content_type",
    "skew_jump",
]

_BEFORE: frozenset[str] = frozenset({"status", "drop", "skew_jump"})

_HTML_PAGE = (
    "<html><head><title>{code} Bad Gateway</title></head><body><center><h1>{code} Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>"
)


@attrs.frozen
class Fault:
    """One kind of misbehaviour; build it with the class methods, e.g. ``Fault.status(503, times=2)``."""

    kind: FaultKind
    times: int = attrs.field(default=1, kw_only=True)
    status_code: int = attrs.field(default=200, kw_only=True)
    error_code: str | None = attrs.field(default=None, kw_only=True)
    message: str | None = attrs.field(default=None, kw_only=True)
    retry_after: float | str | None = attrs.field(default=None, kw_only=True)
    body: bytes | None = attrs.field(default=None, kw_only=True)
    content_type: str | None = attrs.field(default=None, kw_only=True)
    seconds: float = attrs.field(default=0.0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be >= 1")

    @property
    def before_processing(self) -> bool:
        """True when the fault acts before the request is processed (state stays unchanged)."""
        return self.kind in _BEFORE

    @classmethod
    def status(
        cls,
        code: int,
        *,
        error_code: str | None = None,
        message: str | None = None,
        retry_after: float | str | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        times: int = 1,
    ) -> Fault:
        """Answer ``code`` without processing: the reference's error JSON, or ``body`` as given.

        ``retry_after`` (seconds or an HTTP date) becomes the ``Retry-After`` header.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        return cls(
            "status",
            status_code=code,
            error_code=error_code,
            message=message,
            retry_after=retry_after,
            body=raw,
            content_type=content_type,
            times=times,
        )

    @classmethod
    def html(cls, code: int = 502, *, times: int = 1) -> Fault:
        """A gateway's HTML error page (``text/html``), as proxies send when the service is down."""
        page = _HTML_PAGE.format(code=code).encode("utf-8")
        return cls.status(code, body=page, content_type="text/html", times=times)

    @classmethod
    def delay(cls, seconds: float, *, times: int = 1) -> Fault:
        """Process the request, then wait ``seconds`` before answering (client read timeouts)."""
        return cls("delay", seconds=seconds, times=times)

    @classmethod
    def drop(cls, *, times: int = 1) -> Fault:
        """Close the connection without answering, before processing: nothing happened."""
        return cls("drop", times=times)

    @classmethod
    def drop_after_processing(cls, *, times: int = 1) -> Fault:
        """Process the request (state changes), then close without answering: the ambiguous case."""
        return cls("drop_after_processing", times=times)

    @classmethod
    def malformed(cls, body: bytes = b'{"trunc', *, times: int = 1) -> Fault:
        """Process, then answer 200 ``application/json`` with ``body`` instead of the real answer."""
        return cls("malformed", body=body, times=times)

    @classmethod
    def empty(cls, *, times: int = 1) -> Fault:
        """Process, then answer 200 with an empty body."""
        return cls("empty", times=times)

    @classmethod
    def truncated(cls, *, times: int = 1) -> Fault:
        """Process, then send a Content-Length longer than the body, half the body, and close."""
        return cls("truncated", times=times)

    @classmethod
    def wrong_content_type(cls, content_type: str = "text/html", *, times: int = 1) -> Fault:
        """Process, then send the real answer labelled ``content_type``."""
        return cls("wrong_content_type", content_type=content_type, times=times)

    @classmethod
    def skew_jump(cls, seconds: float, *, times: int = 1) -> Fault:
        """Move the server clock by ``seconds`` from this request on (cumulative with ``skew``)."""
        return cls("skew_jump", seconds=seconds, times=times)

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> Fault:
        """A fault described as data, in the vocabulary of the class methods: ``kind`` names the method
        (``html`` included), the other keys are its keyword arguments.

        ``ValueError`` names what is wrong (an unknown kind or argument, a wrong type, a negative delay).

        >>> Fault.from_json({"kind": "status", "code": 503, "retry_after": 2, "times": 2}).status_code
        503
        """
        if not isinstance(spec, Mapping):
            raise ValueError('a fault is a JSON object such as {"kind": "status", "code": 503}')
        kind = spec.get("kind")
        if not isinstance(kind, str) or kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; got {kind!r}")
        factory = getattr(cls, kind)
        params = inspect.signature(factory).parameters
        arguments: dict[str, Any] = {}
        for name, value in spec.items():
            if name == "kind":
                continue
            if name not in params:
                allowed = ", ".join(p for p in params if p != "cls")
                raise ValueError(f"fault {kind!r} takes {allowed or 'no arguments'}; not {name!r}")
            arguments[name] = _argument(kind, name, value)
        missing = [p.name for p in params.values() if p.default is inspect.Parameter.empty and p.name not in arguments]
        if missing:
            raise ValueError(f"fault {kind!r} needs {', '.join(missing)}")
        fault: Fault = factory(**arguments)
        return fault

    # ------------------------------------------------------------------------------------- answers

    def error_answer(self, trace_id: str) -> Answer:
        """The answer of a ``status`` fault."""
        headers: dict[str, str] = {}
        if self.body is not None:
            body = self.body
            headers["Content-Type"] = self.content_type or "application/json"
        else:
            code = self.error_code or ("000" if self.status_code >= 500 else "001")
            message = self.message or _default_message(self.status_code)
            body = _json.dumps({"errorCode": code, "message": message, "traceId": trace_id})
            headers["Content-Type"] = self.content_type or "application/json"
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return Answer(self.status_code, body, headers)

    def rewrite(self, answer: Answer) -> Answer:
        """Spoil a processed answer (``malformed``, ``empty``, ``wrong_content_type``); others pass through."""
        if self.kind == "malformed":
            return Answer(200, self.body or b"", {"Content-Type": "application/json"})
        if self.kind == "empty":
            return Answer(200, b"", {"Content-Type": "application/json"})
        if self.kind == "wrong_content_type":
            headers = dict(answer.headers)
            headers["Content-Type"] = self.content_type or "text/html"
            return Answer(answer.status, answer.body, headers)
        return answer


FAULT_KINDS: tuple[str, ...] = ("status", "html", *[kind for kind in get_args(FaultKind) if kind != "status"])
"""The names :meth:`Fault.from_json` accepts as ``kind``: the class methods that build a fault (every
:data:`FaultKind`, plus ``html``, a ``status`` fault carrying a gateway's error page)."""


_MAX_SECONDS = 1e9
"""About 31 years: larger delays and clock jumps are typos, and overflow date arithmetic."""


def _argument(kind: str, name: str, value: Any) -> Any:
    """One JSON argument of :meth:`Fault.from_json`, checked and converted to what the class method takes."""
    where = f"fault {kind!r}: {name}"
    if name in ("code", "times"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        if name == "code" and not 100 <= value <= 599:
            raise ValueError(f"{where} must be an HTTP status (100-599), got {value}")
        if name == "times" and value < 1:
            raise ValueError(f"{where} must be >= 1, got {value}")
        return value
    if name in ("seconds", "retry_after"):
        if name == "retry_after" and isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValueError(f"{where} must be a number of seconds, got {value!r}")
        seconds = float(value)
        if not math.isfinite(seconds) or abs(seconds) > _MAX_SECONDS:
            raise ValueError(f"{where} must be a number of seconds within ±{_MAX_SECONDS:.0e}, got {value!r}")
        if seconds < 0 and not (kind == "skew_jump" and name == "seconds"):
            raise ValueError(f"{where} must be >= 0, got {value!r}")
        return value if isinstance(value, int) and name == "retry_after" else seconds
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    if name == "body" and kind == "malformed":
        return value.encode("utf-8")
    return value


def _default_message(code: int) -> str:
    if code == 429:
        return "Too many requests"
    if code >= 500:
        return "Internal server error, please contact support"
    return f"Injected error {code}"


def drop_connection(request: web.BaseRequest) -> web.StreamResponse:
    """Abort the connection; the returned response is never written (aiohttp sees the transport gone)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response()


async def send_truncated(request: web.BaseRequest, answer: Answer, headers: dict[str, str]) -> web.StreamResponse:
    """Declare the full length, send half the body, close: the client sees an incomplete payload."""
    response = web.StreamResponse(status=answer.status, headers=headers)
    response.content_length = len(answer.body) + 16
    await response.prepare(request)
    await response.write(answer.body[: len(answer.body) // 2])
    transport = request.transport
    if transport is not None:
        transport.close()
    return response


@attrs.define
class _Queued:
    fault: Fault
    left: int


class FaultBook:
    """Queued faults per path (``"*"`` for any path); a path's own queue is consulted before ``"*"``."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Queued]] = {}

    def add(self, path: str, fault: Fault) -> None:
        self._queues.setdefault(path, deque()).append(_Queued(fault, fault.times))

    def clear(self) -> None:
        self._queues.clear()

    def pending(self) -> int:
        """How many fault hits are still queued, over all paths."""
        return sum(entry.left for queue in self._queues.values() for entry in queue)

    def take(self, path: str) -> Fault | None:
        for key in (path, "*"):
            queue = self._queues.get(key)
            if not queue:
                continue
            entry = queue[0]
            entry.left -= 1
            if entry.left <= 0:
                queue.popleft()
            return entry.fault
        return None
