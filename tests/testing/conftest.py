"""Fixtures for the fake server's own tests: a fresh server per test, a client that never sleeps on retries,
and ``raw`` for hand-built (possibly wrong) requests."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from calypso_async import AsyncCalypso, RetryPolicy, _json
from calypso_async.testing import FakeCalypso


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=0) as srv:
        yield srv


@pytest.fixture
async def client(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    async with server.client(retry_policy=RetryPolicy(max_retries=2, sleep=_no_sleep), timeout=5.0) as cli:
        yield cli


class RawAnswer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return _json.loads(self.body)


RawSend = Callable[..., Awaitable[RawAnswer]]


def envelope(account: str | None = None, payload: Any = None, *, timestamp: int | None = None) -> bytes:
    body: dict[str, Any] = {}
    if account is not None:
        body["account"] = account
    body["timestamp"] = int(time.time() * 1000) if timestamp is None else timestamp
    if payload is not None:
        body["payload"] = payload
    return _json.dumps(body)


@pytest.fixture
async def raw(server: FakeCalypso) -> AsyncIterator[RawSend]:
    """``await raw(path, body_bytes, key=..., secret=..., sign=..., method=...)``: one signed request, no SDK."""
    async with aiohttp.ClientSession() as session:

        async def send(
            path: str,
            body: bytes,
            *,
            key: str | None = None,
            secret: str | None = None,
            sign: str | None = None,
            method: str = "POST",
        ) -> RawAnswer:
            secret_key = server.secret_key if secret is None else secret
            signature = sign if sign is not None else hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()
            headers = {
                "Key": server.api_key if key is None else key,
                "Sign": signature,
                "Content-Type": "application/json",
            }
            async with session.request(method, server.base_url + path, data=body, headers=headers) as resp:
                return RawAnswer(resp.status, dict(resp.headers), await resp.read())

        yield send


Event = tuple[str, str, dict[str, Any]]


@pytest.fixture
def events(server: FakeCalypso, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Every ``webhooks.emit`` call of the server, in order: ``(event_type, service, data)``."""
    seen: list[Event] = []

    def record(event_type: str, service: str, data: dict[str, Any], level: str = "SUCCESS") -> None:
        seen.append((event_type, service, data))

    monkeypatch.setattr(server.webhooks, "emit", record)
    return seen
