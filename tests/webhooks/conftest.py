"""Shared helpers for the webhook tests: a loopback aiohttp receiver and signed sample bodies."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from ..conftest import SECRET

PUBLIC = "c529b1d4e2f84c0a9d7e6f3b2a1c2430"

BODY = (
    b'{"requestId":"bf9348b7-2c14-46d7-868c-b597852da319","id":1,"createdDate":"2022-03-15T12:13:05.909616",'
    b'"level":"SUCCESS","service":"INVOICE","eventType":"INVOICE_PAID",'
    b'"data":{"amount":0.01,"currency":"ETH","type":"INVOICE_PAID"}}'
)
"""A known body; its signature below was computed independently (``openssl dgst -sha512 -hmac``)."""

SIGN = (
    "fab9cce50198756742402919302878a8a5a79c8278ea85d56ace942d9501b973"
    "5a0e40fb2da42758b13ad10618636a45fa6e9e4d9c81a659eca81730aa6a6db5"
)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def signed_headers(body: bytes, secret: str = SECRET, key: str = PUBLIC) -> dict[str, str]:
    return {"Sign": sign(body, secret), "Key": key, "Content-Type": "application/json"}


@asynccontextmanager
async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/hook"
) -> AsyncIterator[str]:
    """Serve ``handler`` on 127.0.0.1 at a free port; yields the URL."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}{path}"
    finally:
        await runner.cleanup()
