"""The transport seam: send prepared bytes, get status, headers and bytes back.

Everything above this module (envelope, signing, clock, retries, parsing) is transport-agnostic; the one
implementation shipped is :class:`AiohttpTransport`. Tests and benchmarks can plug in any object with the
two methods of :class:`AsyncTransport`, e.g. an in-memory stub.

This layer maps aiohttp's exceptions to calypso's and records whether the request can have reached the
server (``APIConnectionError.request_sent``), which decides what may be retried for money-moving calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from ._config import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POOL_SIZE
from ._errors import APIConnectionError, APITimeoutError, ClientClosedError, EventLoopError, InvalidResponseError
from ._logs import setup_logging
from ._network import Route, VerifyTypes, make_ssl, redact_url, route_for, split_proxy, user_agent

__all__ = ["AiohttpTransport", "AsyncTransport", "Request", "Response"]


class Request:
    """One HTTP attempt: the body is the exact signed bytes."""

    __slots__ = ("body", "fresh_connection", "headers", "method", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,
        *,
        fresh_connection: bool = False,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.fresh_connection = fresh_connection
        """Send on a new connection, never a pooled one that the server may have closed meanwhile: for a call
        that must not be retried after an ambiguous failure (a stale connection would make its outcome unknown)."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class AsyncTransport(Protocol):
    """What the client needs from HTTP."""

    async def send(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


class _LoopSessions:
    """The sessions of one event loop: the pool, and (created on demand) one that never reuses a connection."""

    __slots__ = ("closer", "fresh", "pooled")

    def __init__(self, pooled: aiohttp.ClientSession) -> None:
        self.pooled = pooled
        self.fresh: aiohttp.ClientSession | None = None
        self.closer: AsyncGenerator[None, None] | None = None

    async def close(self) -> None:
        for session in (self.pooled, self.fresh):
            if session is not None and not session.closed:
                await session.close()
        # Let the connector's transports finish closing (aiohttp "Graceful Shutdown").
        await asyncio.sleep(0)


async def _close_with_loop(sessions: _LoopSessions) -> AsyncGenerator[None, None]:
    """Closes a loop's sessions when the loop shuts down (``asyncio.run``, pytest-asyncio, ``Runner``).

    An async generator started on the loop is registered with it, and ``loop.shutdown_asyncgens()`` closes it
    before the loop closes: that runs this ``finally`` on the loop, so no "Unclosed client session" is left.
    """
    try:
        yield
    finally:
        await sessions.close()


_MAX_CACHED_TIMEOUTS = 64
"""Distinct per-call timeouts kept (deadline-derived timeouts are all different: the cache must not grow)."""


class AiohttpTransport:
    """aiohttp: one pool per event loop, created lazily on the loop that uses it.

    A client may be awaited on any loop, one after another (``asyncio.run`` twice, a notebook cell re-run,
    pytest-asyncio's per-test loops) or at the same time from several threads: each loop gets its own
    session, closed when that loop shuts down or when the client is closed. Redirects are never followed (a
    signed call must reach the host it was signed for) and TLS certificates are always verified, except on
    loopback hosts when ``verify=False``. ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` are honoured unless
    ``trust_env=False``; an explicit ``proxy`` URL wins over them. A ``session`` you pass in is used as is (on
    its own loop only) and not closed by calypso (proxy and TLS options still apply per request).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        pool_size: int = DEFAULT_POOL_SIZE,
        proxy: str | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
        app_info: str | None = None,
        base_url: str | None = None,
    ) -> None:
        setup_logging()
        self._user_session = session
        self._session: aiohttp.ClientSession | None = session
        """The session used last (tests and the sync facade's fork checks look at it)."""
        self._owns_session = session is None
        self._connect_timeout = connect_timeout
        self._max_response_bytes = max_response_bytes
        self._pool_size = pool_size
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._loops: dict[asyncio.AbstractEventLoop, _LoopSessions] = {}
        self._closed = False
        if proxy is not None:
            split_proxy(proxy)  # a malformed URL fails here, at construction
        self._proxy = proxy
        self._ssl = make_ssl(verify)
        self._trust_env = trust_env
        self._user_agent = user_agent(app_info)
        self._routes: dict[str, Route] = {}  # by origin and by full URL
        if base_url is not None:
            route_for(base_url, proxy=self._proxy, trust_env=False, ssl_arg=self._ssl)  # fail early, not per call

    def __repr__(self) -> str:
        proxy = "" if self._proxy is None else f", proxy={redact_url(self._proxy)!r}"
        return f"AiohttpTransport(owns_session={self._owns_session}{proxy})"

    def _new_session(self, *, fresh: bool) -> aiohttp.ClientSession:
        """A session of calypso's own; ``fresh`` ones open a new connection for every request."""
        connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=self._ssl, force_close=fresh)
        return aiohttp.ClientSession(
            connector=connector, auto_decompress=True, headers={"User-Agent": self._user_agent}
        )

    def _get_session(self, *, fresh: bool = False) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this client is closed (aclose() was called); create a new one")
        user = self._user_session
        if user is not None:
            return self._check_user_session(user)
        loop = asyncio.get_running_loop()
        sessions = self._loops.get(loop)
        if sessions is None:
            sessions = self._open(loop)
        if fresh:
            if sessions.fresh is None:
                sessions.fresh = self._new_session(fresh=True)
            return sessions.fresh
        self._session = sessions.pooled
        return sessions.pooled

    def _open(self, loop: asyncio.AbstractEventLoop) -> _LoopSessions:
        for old in [old for old in self._loops if old.is_closed()]:
            # A loop closed without shutting down its async generators: its sockets went with it.
            del self._loops[old]
        sessions = _LoopSessions(self._new_session(fresh=False))
        self._routes.clear()  # the environment is read again with each new pool
        closer = _close_with_loop(sessions)
        try:  # run it to its ``yield`` now: registers it with this loop, which will close it at shutdown
            closer.__anext__().send(None)
        except StopIteration:
            pass
        sessions.closer = closer
        self._loops[loop] = sessions
        return sessions

    def _check_user_session(self, session: aiohttp.ClientSession) -> aiohttp.ClientSession:
        if session.closed:
            raise ClientClosedError(
                "the aiohttp session passed as session= is closed; pass an open session, or omit session= to let "
                "calypso manage its own connection pool"
            )
        owner = getattr(session, "_loop", None)
        if owner is not None and owner is not asyncio.get_running_loop():
            raise EventLoopError(
                "the aiohttp session passed as session= belongs to another event loop; create the session (and "
                "the client) on the loop that makes the calls, or omit session= (calypso then keeps one pool per "
                "loop)"
            )
        return session

    def _route(self, url: str) -> Route:
        """The route for ``url``, worked out once per origin (and remembered per URL: one dict lookup per call)."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        route = self._routes.get(key)
        if route is None:
            route = route_for(url, proxy=self._proxy, trust_env=self._trust_env, ssl_arg=self._ssl)
            session = self._session
            if self._owns_session:
                # Our connectors carry the TLS settings already; aiohttp does more work per request given them.
                route.kwargs.pop("ssl", None)
            elif session is not None and "User-Agent" not in session.headers:
                route.headers["User-Agent"] = self._user_agent  # your own session: ours, unless it has one
            self._routes[key] = route
        if len(self._routes) < 1024:
            self._routes[url] = route
        return route

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=seconds, connect=min(self._connect_timeout, seconds))
            if len(self._timeouts) >= _MAX_CACHED_TIMEOUTS:
                self._timeouts.clear()
            self._timeouts[seconds] = timeout
        return timeout

    async def send(self, request: Request) -> Response:
        session = self._get_session(fresh=True) if request.fresh_connection else self._get_session()
        route = self._routes.get(request.url) or self._route(request.url)
        headers = request.headers
        if route.headers:
            headers = {**headers, **route.headers}
        try:
            async with session.request(
                request.method,
                request.url,
                data=request.body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout(request.timeout),
                **route.kwargs,
            ) as resp:
                body = await self._read(resp)
                return Response(resp.status, resp.headers, body)
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(f"could not connect within {self._connect_timeout} s", request_sent=False) from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise APITimeoutError(f"no complete answer within {request.timeout} s") from exc
        except aiohttp.ClientHttpProxyError as exc:
            # from None: aiohttp's exception carries the proxy request's headers (Proxy-Authorization)
            raise APIConnectionError(
                f"the proxy refused the connection: {exc.status} {exc.message}", request_sent=False
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise APIConnectionError(f"could not connect: {exc.os_error}", request_sent=False) from exc
        except aiohttp.ClientPayloadError as exc:
            raise APIConnectionError(f"the answer was cut off: {exc}") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise APIConnectionError("the server closed the connection before answering") from exc
        except aiohttp.ClientError as exc:
            if _unwritten(exc):
                # The connection was gone before the body could be written (typically a pooled keep-alive
                # connection the server had just closed): the server cannot have processed a request it never
                # received whole.
                raise APIConnectionError(
                    "the connection closed before the request was written", request_sent=False
                ) from exc
            raise APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise APIConnectionError(f"connection failed: {exc}") from exc

    def _read(self, resp: aiohttp.ClientResponse) -> Awaitable[bytes]:
        """The answer's body, at most ``max_response_bytes`` of it.

        Not a coroutine itself: the common answer (identity encoding, a Content-Length within the limit) is
        aiohttp's own ``read()``, with no coroutine of calypso's around it.
        """
        limit = self._max_response_bytes
        length = resp.content_length
        if length is not None and length > limit:
            raise InvalidResponseError(
                f"answer of {length} bytes exceeds max_response_bytes={limit}", status_code=resp.status
            )
        # Content-Length is the compressed size for gzip/deflate: only identity answers may be read at once.
        if length is not None and resp.headers.get("Content-Encoding", "identity").lower() in ("", "identity"):
            return resp.read()
        return self._read_capped(resp, limit)

    async def _read_capped(self, resp: aiohttp.ClientResponse, limit: int) -> bytes:
        """Read a compressed or unsized answer in chunks, refusing it once it exceeds ``limit`` bytes."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                chunks.clear()  # the error's traceback must not keep the partial body alive
                raise InvalidResponseError(f"answer exceeds max_response_bytes={limit}", status_code=resp.status)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close every pool this transport opened; later sends raise ``ClientClosedError``."""
        self._closed = True
        loops, self._loops = self._loops, {}
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, sessions in loops.items():
            closer = sessions.closer
            if loop is current:
                if closer is not None:
                    await closer.aclose()
                else:
                    await sessions.close()
            elif closer is not None and not loop.is_closed():
                # Another live loop's sessions are closed on that loop.
                asyncio.run_coroutine_threadsafe(_finish(closer), loop)


async def _finish(closer: AsyncGenerator[None, None]) -> None:
    await closer.aclose()


def _unwritten(exc: BaseException) -> bool:
    """True for aiohttp's failure to write the request body into a connection that was already closing."""
    if not isinstance(exc, aiohttp.ClientConnectionError):
        return False
    text = str(exc)
    return "Can not write request body" in text or "Failed to send bytes into the underlying connection" in text
