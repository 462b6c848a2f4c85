"""``MockTransport``: answer the client's requests in memory, without a server, and keep every request.

Why next to the fake server: the fake server tests behaviour end to end over a socket; a mock transport tests
what the client sends and how it reacts to one exact answer (a 503 then a 200, a malformed body, a connection
error) with nothing in between, the way ``httpx.MockTransport`` does for httpx.

>>> client = AsyncCalypso("key", "secret", account="0xabc", transport=MockTransport({"balances": []}))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from .. import _json
from .._transport import Request, Response

__all__ = ["Answer", "MockTransport", "error_response", "json_response"]

Answer = Response | BaseException | Callable[[Request], Any] | Any
"""What a :class:`MockTransport` answers a request with:

* a :class:`~calypso_async.Response`, sent as is;
* an exception instance (``APIConnectionError("reset")``, ``APITimeoutError("slow")``), raised by ``send``;
* a function of the :class:`~calypso_async.Request`, returning any of these;
* anything else is a JSON body answered with 200 (``bytes`` are sent as they are, ``None`` is an empty body).
"""


def json_response(body: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with a current ``Date`` header (the client learns the server clock from it).

    ``Decimal`` numbers are written exactly, floats as Python writes them, ``bytes`` sent as they are.

    >>> json_response({"id": "1"}).status
    200
    """
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif body is None:
        raw = b""
    else:
        try:
            raw = _json.dumps(body)
        except TypeError:  # floats: the SDK refuses them in requests, a test may still answer with one
            raw = json.dumps(body).encode()
    base = {"Date": formatdate(usegmt=True), "Content-Type": "application/json"}
    return Response(status, {**base, **(headers or {})}, raw)


def error_response(
    status: int, error_code: str | None, message: str = "nope", headers: dict[str, str] | None = None
) -> Response:
    """An error answer in the API's shape, ``{"errorCode", "message"}`` (no ``errorCode`` when ``None``).

    >>> error_response(400, "004", "gone").status
    400
    """
    body: dict[str, Any] = {"errorCode": error_code, "message": message} if error_code else {"message": message}
    return json_response(body, status, headers)


class _Bodies(list[Any]):
    """The decoded request bodies; calling it returns itself, so ``bodies`` and ``bodies()`` both read them."""

    def __call__(self) -> list[Any]:
        return self


_NO_DEFAULT: Any = object()


class MockTransport:
    """A transport that answers from a script and records every request (``AsyncCalypso(transport=...)``).

    ``MockTransport(answer)`` gives that one answer to every request (a function of the request makes a small
    server); ``MockTransport(a, b, c)`` answers the first three requests in order, then ``default`` if given;
    a request with no answer left fails with ``AssertionError``. See :data:`Answer` for what an answer may be.

    >>> transport = MockTransport(error_response(503, None), {"id": "p1"})  # doctest: +SKIP
    >>> async with AsyncCalypso(key, secret, account=acc, transport=transport) as client:  # doctest: +SKIP
    ...     await client.account.get()                     # 503, retried, then the 200
    >>> transport.paths, transport.bodies[0]["timestamp"]  # doctest: +SKIP
    """

    def __init__(self, *answers: Answer, default: Answer = _NO_DEFAULT) -> None:
        self._answers: list[Answer] = list(answers)
        self._default = default
        self._repeat = len(answers) == 1 and default is _NO_DEFAULT
        self.requests: list[Request] = []
        """Every request received, in order (method, url, headers, the exact signed body, timeout)."""
        self.closed = False
        """True once the client closed the transport."""

    def __repr__(self) -> str:
        return f"MockTransport(requests={len(self.requests)}, answers_left={len(self._answers)})"

    @property
    def bodies(self) -> _Bodies:
        """The JSON bodies of the requests, decoded (numbers as ``Decimal``)."""
        return _Bodies(_json.loads(request.body) for request in self.requests)

    @property
    def paths(self) -> list[str]:
        """The URL paths of the requests (``/api/v1/account``)."""
        return [urlsplit(request.url).path for request in self.requests]

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        if self._repeat:
            answer = self._answers[0]
        elif self._answers:
            answer = self._answers.pop(0)
        elif self._default is not _NO_DEFAULT:
            answer = self._default
        else:
            raise AssertionError(f"MockTransport has no answer left for {request.method} {request.url}")
        return _resolve(answer, request)

    async def aclose(self) -> None:
        self.closed = True


def _resolve(answer: Answer, request: Request) -> Response:
    for _ in range(8):  # a function may return a function; a few levels are plenty
        if isinstance(answer, Response):
            return answer
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request)
            continue
        return json_response(answer)
    raise ValueError("MockTransport: an answer function kept returning functions")
