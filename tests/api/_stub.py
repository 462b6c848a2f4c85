"""A recording transport for the generated-API tests: canned JSON answers, every request kept."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from calypso_async import AsyncCalypso, Request, Response
from calypso_async._json import dumps, loads

API_KEY = "c529e14832b34b74972365cf7bf02430"
SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
ACCOUNT = "0xc195df92dd9db2a8f28e597981f113d6e7582f8b"

Answer = Any | Callable[[Request], Any]


def response(body: Any, status: int = 200) -> Response:
    raw = body if isinstance(body, bytes) else dumps(body)
    return Response(status, {"Date": formatdate(usegmt=True), "Content-Type": "application/json"}, raw)


class RecordingTransport:
    """``answer`` is the JSON to return (or a function of the request giving it)."""

    def __init__(self, answer: Answer = None) -> None:
        self.answer = answer
        self.requests: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answer(request) if callable(self.answer) else self.answer
        if isinstance(answer, Response):
            return answer
        return response(b"" if answer is None else answer)

    async def aclose(self) -> None:
        return None

    @property
    def bodies(self) -> list[Any]:
        return [loads(r.body) for r in self.requests]

    @property
    def paths(self) -> list[str]:
        return [urlsplit(r.url).path for r in self.requests]


def client(transport: RecordingTransport, **kwargs: Any) -> AsyncCalypso:
    kwargs.setdefault("account", ACCOUNT)
    return AsyncCalypso(API_KEY, SECRET, transport=transport, **kwargs)
