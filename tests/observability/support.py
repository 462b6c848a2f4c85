"""Shared pieces of the observability tests: a scripted transport, keys, and secret checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from calypso_async import AsyncCalypso, CalypsoError, Request, Response, RetryPolicy
from calypso_sync import Calypso

from ..conftest import API_KEY, SECRET

ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"
ACCOUNT_BODY = {"account": ACCOUNT, "balances": [{"currency": "BTC", "amount": 0.5}]}

Answer = Response | CalypsoError | Callable[[Request], "Response | CalypsoError"]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, {"Date": formatdate(usegmt=True), **(headers or {})}, raw)


def error(status: int, code: str | None, message: str = "nope", trace_id: str | None = None) -> Response:
    body: dict[str, Any] = {"errorCode": code, "message": message} if code else {"message": message}
    if trace_id:
        body["traceId"] = trace_id
    return ok(body, status)


class StubTransport:
    """Scripted answers, every request recorded; ``closed`` tells whether the pool was closed."""

    def __init__(self, *answers: Answer, default: Answer | None = None) -> None:
        self.answers = list(answers)
        self.default = default
        self.requests: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else self.default
        if answer is None:
            raise AssertionError("no scripted answer left")
        if callable(answer) and not isinstance(answer, (Response, CalypsoError)):
            answer = answer(request)
        if isinstance(answer, CalypsoError):
            raise answer
        return answer

    async def aclose(self) -> None:
        self.closed = True


async def no_sleep(seconds: float) -> None:
    return None


def options(transport: StubTransport, **kw: Any) -> dict[str, Any]:
    kw.setdefault("retry_policy", RetryPolicy(max_retries=2, sleep=no_sleep))
    return {"api_key": API_KEY, "secret_key": SECRET, "account": ACCOUNT, "transport": transport, **kw}


def make(transport: StubTransport, **kw: Any) -> AsyncCalypso:
    return AsyncCalypso(**options(transport, **kw))


def make_sync(transport: StubTransport, **kw: Any) -> Calypso:
    """A sync client on ``transport`` (it takes no ``transport=``: the test swaps it in after construction)."""
    settings = options(transport, **kw)
    del settings["transport"]
    client = Calypso(**settings)
    client._async_client._transport = transport
    return client


def assert_no_secret(text: str, transport: StubTransport | None = None) -> None:
    """No key, secret, full account, signature or request body in ``text``."""
    for secret in (API_KEY, SECRET, ACCOUNT):
        assert secret not in text
    for request in transport.requests if transport else []:
        assert request.headers["Sign"] not in text
        assert request.body.decode() not in text
