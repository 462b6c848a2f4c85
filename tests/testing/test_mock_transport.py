"""``MockTransport`` answers from its script (one answer for all, or several in order then ``default``),
raises scripted exceptions, calls answer functions, and records every request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from calypso_async import APIConnectionError, AsyncCalypso, NotFoundError, Request, RetryPolicy, _json
from calypso_async.testing import MockTransport, error_response, json_response

from ..conftest import ACCOUNT, API_KEY, SECRET


async def _no_sleep(_: float) -> None:
    return None


def _client(transport: MockTransport, retries: int = 2) -> AsyncCalypso:
    policy = RetryPolicy(max_retries=retries, sleep=_no_sleep)
    return AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=transport, retry_policy=policy)


def _request(path: str = "/api/v1/account", body: bytes = b'{"timestamp":1}') -> Request:
    return Request("POST", "https://api.example" + path, {}, body, 5.0)


async def test_one_answer_answers_every_request() -> None:
    transport = MockTransport({"ok": True})
    for _ in range(3):
        response = await transport.send(_request())
        assert response.status == 200 and _json.loads(response.body) == {"ok": True} and "Date" in response.headers
    assert len(transport.requests) == 3


async def test_several_answers_in_order_then_default_then_an_assertion() -> None:
    transport = MockTransport(json_response({"n": 1}), {"n": 2}, default={"n": 0})
    got = [_json.loads((await transport.send(_request())).body)["n"] for _ in range(4)]
    assert got == [1, 2, 0, 0]
    strict = MockTransport({"n": 1}, {"n": 2})
    await strict.send(_request())
    await strict.send(_request())
    with pytest.raises(AssertionError, match=r"no answer left for POST https://api\.example/api/v1/account"):
        await strict.send(_request())
    with pytest.raises(AssertionError):
        await MockTransport().send(_request())


async def test_exceptions_are_raised_and_functions_called_with_the_request() -> None:
    seen: list[str] = []

    def answer(request: Request) -> Any:
        seen.append(request.url)
        return error_response(404, "004", "gone")

    transport = MockTransport(APIConnectionError("reset"), answer, lambda request: b"raw", lambda request: None)
    with pytest.raises(APIConnectionError):
        await transport.send(_request())
    assert (await transport.send(_request("/x"))).status == 404 and seen == ["https://api.example/x"]
    assert (await transport.send(_request())).body == b"raw"
    assert (await transport.send(_request())).body == b""


def test_response_builders() -> None:
    assert json_response({"amount": Decimal("0.000000000000000001")}).body == b'{"amount":0.000000000000000001}'
    assert json_response({"n": 1.5}).body == b'{"n": 1.5}'  # floats: answered as Python writes them
    assert json_response(b"<html>", 502, {"Content-Type": "text/html"}).headers["Content-Type"] == "text/html"
    assert _json.loads(error_response(400, "004", "gone").body) == {"errorCode": "004", "message": "gone"}
    assert _json.loads(error_response(503, None).body) == {"message": "nope"}


async def test_a_client_on_the_mock_retries_and_records_exact_bodies() -> None:
    transport = MockTransport(error_response(503, None), {"balances": []})
    async with _client(transport) as client:
        await client.account.get()
    assert transport.paths == ["/api/v1/account", "/api/v1/account"]
    assert [body["account"] for body in transport.bodies] == [ACCOUNT, ACCOUNT]
    assert transport.bodies() == transport.bodies  # a list that may also be called
    assert transport.closed and "requests=2" in repr(transport)


async def test_api_errors_surface_as_the_sdk_error_tree() -> None:
    async with _client(MockTransport(error_response(400, "004", "no such invoice")), retries=0) as client:
        with pytest.raises(NotFoundError, match="no such invoice"):
            await client.invoices.get(id="nope")
