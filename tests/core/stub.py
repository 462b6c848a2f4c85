"""An in-memory transport for engine tests: scripted answers, every request recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from calypso_async import Request, Response
from calypso_async._errors import CalypsoError

Answer = Response | CalypsoError | Callable[[Request], "Response | CalypsoError"]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, {"Date": formatdate(usegmt=True), **(headers or {})}, raw)


def error(status: int, code: str | None, message: str = "nope", headers: dict[str, str] | None = None) -> Response:
    body = {"errorCode": code, "message": message} if code else {"message": message}
    return ok(body, status, headers)


class StubTransport:
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

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]
