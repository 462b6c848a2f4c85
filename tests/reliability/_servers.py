"""Tiny purpose-built loopback servers for what the fake server cannot do: stream 50 MB, redirect, speak TLS."""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ACCOUNT_JSON = b'{"account":"0xc195df92dd9db2a8f28e597981f113d6e7582f8b","balances":[{"currency":"BTC","amount":1}]}'


def date_header() -> dict[str, str]:
    return {"Date": email.utils.formatdate(usegmt=True)}


class Recorder:
    """Counts requests and keeps their paths."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __len__(self) -> int:
        return len(self.paths)


@asynccontextmanager
async def serve(handler: Handler, *, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``handler`` for every path on 127.0.0.1; yields the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    host, port = runner.addresses[0][:2]
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://{host}:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def serve_in_thread(handler: Handler, **kw: Any) -> Iterator[str]:
    """:func:`serve` on a private loop thread, for the sync client."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="tiny-server", daemon=True)
    thread.start()
    server = serve(handler, **kw)
    try:
        url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
        try:
            yield url
        finally:
            asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def streaming_handler(total: int, recorder: Recorder | None = None, chunk: int = 64 * 1024) -> Handler:
    """200 ``application/json``, chunked (no Content-Length), ``total`` bytes of a never-ending JSON string."""
    block = b"x" * chunk

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        if recorder is not None:
            recorder.paths.append(request.path)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json", **date_header()})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        try:
            await response.write(b'{"pad":"')
            while sent < total:
                await response.write(block)
                sent += len(block)
            await response.write(b'"}')
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client hung up once it had enough: expected
        return response

    return handler


def redirect_handler(status: int, location: str, recorder: Recorder) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        recorder.paths.append(request.path)
        return web.Response(status=status, headers={"Location": location, **date_header()}, body=b"")

    return handler


def json_handler(body: bytes, recorder: Recorder) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        recorder.paths.append(request.path)
        return web.Response(status=200, body=body, headers={"Content-Type": "application/json", **date_header()})

    return handler


def compressed(total: int, encoding: str) -> bytes:
    """A JSON body of ``total`` bytes once decoded, compressed (gzip or deflate): a "decompression bomb"."""
    wbits = 31 if encoding == "gzip" else 15
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"x" * (1024 * 1024)
    parts = [packer.compress(b'{"pad":"')]
    for _ in range(total // len(block)):
        parts.append(packer.compress(block))
    parts.append(packer.compress(b'"}'))
    parts.append(packer.flush())
    return b"".join(parts)


def bomb_handler(body: bytes, encoding: str, recorder: Recorder) -> Handler:
    """200 with a small compressed body and its (small) Content-Length."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        recorder.paths.append(request.path)
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding, **date_header()}
        return web.Response(body=body, headers=headers)

    return handler
