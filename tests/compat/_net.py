"""Real network parts on loopback for the proxy and TLS tests: a CONNECT-capable HTTP proxy and a TLS front.

Each runs on its own event loop in a daemon thread, so async and sync clients can use it alike, and records
what passed through it. Both are deliberately small: enough HTTP/1.1 to proxy calypso's calls, nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    target: str
    proxy_authorization: str | None


class _Served:
    """Runs ``handle`` as a loopback server on a private loop thread; on exit closes every connection."""

    def __init__(self, handle: Any, ssl_context: ssl.SSLContext | None = None) -> None:
        self._handle = handle
        self._ssl = ssl_context
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def _tracked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        try:
            await self._handle(reader, writer, self._writers)
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await server.wait_closed()

    @contextlib.contextmanager
    def running(self) -> Iterator[int]:
        thread = threading.Thread(target=self._loop.run_forever, name="test-net", daemon=True)
        thread.start()
        try:
            server = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(self._tracked, "127.0.0.1", 0, ssl=self._ssl), self._loop
            ).result(timeout=30)
            try:
                yield server.sockets[0].getsockname()[1]
            finally:
                asyncio.run_coroutine_threadsafe(self._shutdown(server), self._loop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(timeout=30)
            self._loop.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    writers: set[asyncio.StreamWriter],
) -> None:
    writers.add(b[1])
    await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))


class Proxy:
    """An HTTP proxy: ``CONNECT host:port`` tunnels, absolute-form requests are forwarded (one per connection).

    With ``credentials=("user", "pw")`` it answers 407 unless ``Proxy-Authorization`` carries them.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.seen: list[Seen] = []
        self.url = ""
        self._credentials = credentials

    def _authorized(self, header: str | None) -> bool:
        if self._credentials is None:
            return True
        expected = base64.b64encode(":".join(self._credentials).encode()).decode()
        return header == f"Basic {expected}"

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, writers: set[asyncio.StreamWriter]
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [line for line in lines[1:] if line]
        auth = next((h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("proxy-authorization:")), None)
        self.seen.append(Seen(method, target, auth))
        if not self._authorized(auth):
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _splice((reader, writer), upstream, writers)
            return
        parts = urlsplit(target)
        upstream = await asyncio.open_connection(parts.hostname, parts.port or 80)
        kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:", "keep-alive:"))]
        origin_form = parts.path + (f"?{parts.query}" if parts.query else "")
        new_head = "\r\n".join([f"{method} {origin_form} {version}", *kept, "Connection: close", "", ""])
        upstream[1].write(new_head.encode("latin-1"))
        await _splice((reader, writer), upstream, writers)

    @contextlib.contextmanager
    def running(self) -> Iterator[Proxy]:
        with _Served(self._handle).running() as port:
            self.url = f"http://127.0.0.1:{port}"
            yield self


class TLSFront:
    """Terminates TLS with ``server_context`` on loopback and pipes the plaintext to ``upstream`` (host, port)."""

    def __init__(self, server_context: ssl.SSLContext, upstream: tuple[str, int]) -> None:
        self._context = server_context
        self._upstream = upstream
        self.port = 0

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, writers: set[asyncio.StreamWriter]
    ) -> None:
        try:
            upstream = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        await _splice((reader, writer), upstream, writers)

    @contextlib.contextmanager
    def running(self) -> Iterator[TLSFront]:
        with _Served(self._handle, self._context).running() as port:
            self.port = port
            yield self
