"""Webhook subscriptions of the fake server and their signed, retried deliveries.

Why a real HTTP client with the real schedule: receivers have to be tested against what Calypso does — a
``POST`` of the exact signed bytes (``Sign`` = HMAC-SHA512 hex with the subscription's ``secretKey``,
``Key`` = its ``publicKey``), only HTTP 200 counting as delivered, redelivery after 30 s × Fibonacci(1..19),
and blocking after more than 100 errors within 10 minutes without a success. ``time_scale`` divides every
wait and window, so a test with ``time_scale=1e9`` sees the whole 91-hour schedule in milliseconds, and
:meth:`WebhookDispatcher.wait_idle` lets it await the outcome instead of sleeping.

Interface the fake server relies on (kept stable)::

    WebhookDispatcher(time_scale=1.0)
      .subscribe(request_id, url, service_types, event_types) -> Subscription
      .unsubscribe(request_id) -> bool
      .subscriptions() -> list[Subscription]
      .emit(event_type, service, data, level="SUCCESS") -> None   # schedules deliveries, never blocks
      async .aclose() -> None

Additions for tests: ``deliveries`` (every attempt), ``events`` (every emit), ``await wait_idle()`` /
``await drain()``, ``wait_idle_sync()`` for sync code, ``unblock()``, ``held()``, ``get()``, ``attach()`` and
:func:`build_delivery`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import attrs

from .. import _json
from ..webhooks import EVENT_SERVICES, canonical_event_type
from ._errors import UnknownObjectError

__all__ = [
    "BLOCK_AFTER_ERRORS",
    "BLOCK_WINDOW",
    "RETRY_DELAYS",
    "DeliveryAttempt",
    "EmittedEvent",
    "Subscription",
    "WebhookDispatcher",
    "build_delivery",
]

logger = logging.getLogger("calypso.testing.webhooks")


def _shown_url(url: str) -> str:
    """A subscriber URL fit for a log line: without user:password and query (either may carry a token)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<unparsable url>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _fibonacci(count: int) -> list[int]:
    numbers = [1, 1]
    while len(numbers) < count:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:count]


RETRY_DELAYS: tuple[float, ...] = tuple(30.0 * n for n in _fibonacci(19))
"""Seconds before each of the 19 retries: 30, 30, 60, 90, ... 125430 (about 91 hours in all), unscaled."""

BLOCK_AFTER_ERRORS = 100
"""A subscription is blocked when it has *more* than this many errors inside :data:`BLOCK_WINDOW`."""

BLOCK_WINDOW = 600.0
"""Seconds (unscaled) in which the errors are counted; a success clears the count."""


@attrs.define
class Subscription:
    """One webhook subscription; ``repr`` never shows ``secret_key``.

    >>> server.webhooks.get(channel.request_id).blocked  # doctest: +SKIP
    False
    """

    request_id: str
    url: str
    service_types: list[str]
    event_types: list[str]
    public_key: str = attrs.field(factory=lambda: secrets.token_hex(16))
    secret_key: str = attrs.field(factory=lambda: secrets.token_hex(16), repr=False)
    blocked: bool = False
    error_count: int = 0
    """Failed attempts inside the blocking window since the last success."""

    def matches(self, event_type: str, service: str) -> bool:
        """True when this subscription receives ``event_type`` of group ``service`` (aliases resolved).

        >>> Subscription("r", "http://x", ["INVOICE"], []).matches("INVOICE_PAID", "INVOICE")
        True
        """
        if service in self.service_types:
            return True
        wanted = canonical_event_type(event_type)
        return any(canonical_event_type(name) == wanted for name in self.event_types)


@attrs.define(frozen=True)
class DeliveryAttempt:
    """One POST to a subscriber (``dispatcher.deliveries``).

    >>> [(a.event_type, a.attempt, a.status) for a in server.webhooks.deliveries]  # doctest: +SKIP
    [('INVOICE_PAID', 1, 500), ('INVOICE_PAID', 2, 200)]
    """

    request_id: str
    event_id: int
    event_type: str
    url: str
    attempt: int
    """1 for the first delivery, 2 for the first retry, ... (counting restarts after an unblock)."""
    status: int | None
    """HTTP status answered; ``None`` when the connection failed or timed out."""
    error: str | None
    """Why there is no status (``"timeout"``, the connection error), else ``None``."""
    ok: bool
    """Only HTTP 200 counts as delivered."""
    redelivery: bool = False
    """True for deliveries sent again after the subscription was unblocked."""
    body: bytes = attrs.field(default=b"", repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)


@attrs.define(frozen=True)
class EmittedEvent:
    """One :meth:`WebhookDispatcher.emit` call (``dispatcher.events``), whether or not anyone subscribed.

    >>> [e.event_type for e in server.webhooks.events]  # doctest: +SKIP
    ['INVOICE_CREATE_INVOICE', 'INVOICE_MEMPOOL_FOUND']
    """

    event_type: str
    service: str
    level: str
    data: Mapping[str, Any]
    created_date: str
    request_ids: tuple[str, ...]
    """The subscriptions it was sent to."""


def build_delivery(
    event_type: str,
    data: Mapping[str, Any],
    secret_key: str,
    *,
    request_id: str = "00000000-0000-4000-8000-000000000000",
    event_id: int = 1,
    service: str | None = None,
    level: str = "SUCCESS",
    public_key: str = "test-public-key",
    created_date: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A signed delivery as Calypso would send it: ``(body, headers)``, for testing your receiver.

    ``data`` gets ``type`` = ``event_type`` unless it has one; numbers must be ``int`` or ``Decimal``.

    >>> body, headers = build_delivery("INVOICE_PAID", {"amount": Decimal("1.5")}, secret)  # doctest: +SKIP
    """
    payload = dict(data)
    payload.setdefault("type", event_type)
    envelope = {
        "requestId": request_id,
        "id": event_id,
        "createdDate": created_date or _local_iso(time.time()),
        "level": level,
        "service": service or EVENT_SERVICES.get(canonical_event_type(event_type), "UNKNOWN"),
        "eventType": event_type,
        "data": payload,
    }
    body = _json.dumps(envelope)
    return body, _headers(body, public_key, secret_key)


def _headers(body: bytes, public_key: str, secret_key: str) -> dict[str, str]:
    sign = hmac.new(secret_key.encode("utf-8"), body, hashlib.sha512).hexdigest()
    return {"Sign": sign, "Key": public_key, "Content-Type": "application/json"}


def _local_iso(seconds: float) -> str:
    """The envelope's ``createdDate``: UTC, local ISO-8601 without a zone, microseconds."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


@attrs.define(eq=False)
class _Job:
    sub: Subscription
    event_id: int
    event_type: str
    body: bytes = attrs.field(repr=False)
    attempts: int = 0
    redelivery: bool = False


class WebhookDispatcher:
    """Subscriptions and deliveries of a :class:`~calypso_async.testing.FakeCalypso` (``server.webhooks``).

    ``time_scale`` divides the retry waits and the blocking window (``1e9`` for tests);
    ``delivery_timeout`` is the real seconds a subscriber has to answer; ``clock`` (monotonic seconds) times
    the blocking window, ``now`` (Unix seconds) stamps ``createdDate`` and ``sleep`` waits between retries
    (its argument already divided by ``time_scale``).

    >>> dispatcher = WebhookDispatcher(time_scale=1e9)  # doctest: +SKIP
    >>> dispatcher.subscribe("sub-1", url, ["INVOICE"], [])  # doctest: +SKIP
    >>> dispatcher.emit("INVOICE_PAID", "INVOICE", {"amount": Decimal("1")})  # doctest: +SKIP
    >>> await dispatcher.wait_idle()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        delivery_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError("time_scale must be a positive finite number")
        if not (math.isfinite(delivery_timeout) and delivery_timeout > 0):
            raise ValueError("delivery_timeout must be a positive finite number")
        self.time_scale = float(time_scale)
        self.delivery_timeout = float(delivery_timeout)
        self._clock = clock
        self._now = now
        self._sleep = sleep
        self.deliveries: list[DeliveryAttempt] = []
        """Every POST attempt, in the order they finished."""
        self.events: list[EmittedEvent] = []
        """Every emitted event, in order."""
        self._subs: dict[str, Subscription] = {}
        self._next_event_id = 0
        self._errors: dict[str, deque[float]] = {}
        self._held: dict[str, list[_Job]] = {}
        self._pending: list[_Job] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"WebhookDispatcher(time_scale={self.time_scale!r}, subscriptions={len(self._subs)}, "
            f"in_flight={len(self._tasks)}, deliveries={len(self.deliveries)})"
        )

    # ----------------------------------------------------------------------------- subscriptions

    def subscribe(self, request_id: str, url: str, service_types: list[str], event_types: list[str]) -> Subscription:
        """Add (or replace) a subscription with a fresh key pair.

        >>> sub = dispatcher.subscribe("sub-1", "http://127.0.0.1:8080/hook", ["INVOICE"], [])  # doctest: +SKIP
        """
        sub = Subscription(request_id, url, list(service_types), list(event_types))
        try:
            self.attach(asyncio.get_running_loop())  # the server's loop (webhooks.create runs on it)
        except RuntimeError:
            pass
        self._subs[request_id] = sub
        self._errors.pop(request_id, None)
        self._held.pop(request_id, None)
        return sub

    def unsubscribe(self, request_id: str) -> bool:
        """Remove a subscription; its pending retries stop. False when there was none.

        >>> dispatcher.unsubscribe("sub-1")  # doctest: +SKIP
        True
        """
        self._errors.pop(request_id, None)
        self._held.pop(request_id, None)
        return self._subs.pop(request_id, None) is not None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` (the fake server's): emits from other threads are handed to it.

        Called by :meth:`subscribe` when it runs on a loop; ``FakeCalypso.start`` may call it too.
        """
        if self._loop is None or self._loop.is_closed() or not self._loop.is_running():
            self._loop = loop

    def subscriptions(self) -> list[Subscription]:
        return list(self._subs.values())

    def get(self, request_id: str) -> Subscription | None:
        return self._subs.get(request_id)

    def unblock(self, request_id: str) -> int:
        """Unblock a subscription (the merchant UI's button): every delivery that failed or waited while it
        was blocked is sent again. Returns how many were rescheduled.

        >>> server.webhooks.unblock("sub-1")  # doctest: +SKIP
        9
        """
        sub = self._subs.get(request_id)
        if sub is None:
            raise UnknownObjectError(f"no webhook subscription {request_id!r}")
        sub.blocked = False
        sub.error_count = 0
        self._errors.pop(request_id, None)
        held = self._held.pop(request_id, [])
        for job in held:
            self._schedule(_Job(sub, job.event_id, job.event_type, job.body, redelivery=True))
        return len(held)

    def held(self, request_id: str) -> int:
        """How many deliveries wait for the subscription to be unblocked.

        >>> server.webhooks.held("sub-1")  # doctest: +SKIP
        0
        """
        return len(self._held.get(request_id, ()))

    # ------------------------------------------------------------------------------------ emit

    def emit(self, event_type: str, service: str, data: Mapping[str, Any], level: str = "SUCCESS") -> None:
        """Schedule a signed delivery of the event to every matching subscription; never blocks.

        ``data`` gets ``type`` = ``event_type`` unless it has one; its numbers must be ``int`` or ``Decimal``
        (a float raises ``TypeError`` here, at the emitting call).

        >>> dispatcher.emit("INVOICE_PAID", "INVOICE", {"amount": Decimal("1.5")})  # doctest: +SKIP
        """
        payload = dict(data)
        payload.setdefault("type", event_type)
        created = _local_iso(self._now())
        targets = [sub for sub in self._subs.values() if sub.matches(event_type, service)]
        jobs: list[_Job] = []
        for sub in targets:
            self._next_event_id += 1
            envelope = {
                "requestId": sub.request_id,
                "id": self._next_event_id,
                "createdDate": created,
                "level": level,
                "service": service,
                "eventType": event_type,
                "data": payload,
            }
            jobs.append(_Job(sub, self._next_event_id, event_type, _json.dumps(envelope)))
        self.events.append(
            EmittedEvent(event_type, service, level, payload, created, tuple(sub.request_id for sub in targets))
        )
        for job in jobs:
            if job.sub.blocked:
                self._held.setdefault(job.sub.request_id, []).append(job)
            else:
                self._schedule(job)

    # ------------------------------------------------------------------------------ scheduling

    def _schedule(self, job: _Job) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        home = self._loop
        if home is not None and home is not running and home.is_running():
            home.call_soon_threadsafe(self._start, job)  # emitted from another thread
        elif running is None:
            self._pending.append(job)  # no loop yet: started by the next emit or wait_idle on a loop
        else:
            self._start(job)

    def _start(self, job: _Job) -> None:
        self._pending.append(job)
        self._start_pending()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until no delivery is in flight or waiting for a retry (held deliveries of a blocked
        subscription do not count). Deliveries emitted meanwhile are awaited too.

        >>> await server.webhooks.wait_idle()  # doctest: +SKIP
        """
        running = asyncio.get_running_loop()
        home = self._loop
        if home is not None and home is not running and home.is_running():
            future = asyncio.run_coroutine_threadsafe(self.wait_idle(timeout), home)
            await asyncio.wrap_future(future)
            return
        self._start_pending()
        if timeout is None:
            await self._wait_tasks()
        else:
            await asyncio.wait_for(self._wait_tasks(), timeout)

    drain = wait_idle

    def wait_idle_sync(self, timeout: float = 30.0) -> None:
        """:meth:`wait_idle` for sync code: on the dispatcher's loop when it runs in another thread
        (``FakeCalypso.run_in_thread``), else on a private loop whose HTTP session is closed afterwards."""
        home = self._loop
        if home is not None and home.is_running():
            future: concurrent.futures.Future[None] = asyncio.run_coroutine_threadsafe(self.wait_idle(), home)
            future.result(timeout)
            return
        if not self._pending:
            return

        async def deliver_privately() -> None:
            try:
                await self.wait_idle(timeout)
            finally:
                await self._close_session()
                self._loop = None

        asyncio.run(deliver_privately())

    def _start_pending(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
        pending, self._pending = self._pending, []
        for job in pending:
            task = loop.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _wait_tasks(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # -------------------------------------------------------------------------------- delivery

    async def _deliver(self, job: _Job) -> None:
        sub = job.sub
        while True:
            outcome = await self._attempt(job)
            if outcome is None:
                return  # not sent: unsubscribed, or held until the subscription is unblocked
            if outcome:
                return
            retries_done = job.attempts - 1
            if retries_done >= len(RETRY_DELAYS):
                logger.info(
                    "webhook %s to %s given up after %d attempts", job.event_id, _shown_url(sub.url), job.attempts
                )
                return
            await self._sleep(RETRY_DELAYS[retries_done] / self.time_scale)

    def _sendable(self, job: _Job) -> bool:
        sub = job.sub
        if self._subs.get(sub.request_id) is not sub:
            return False  # unsubscribed (or replaced) meanwhile
        if sub.blocked:
            self._held.setdefault(sub.request_id, []).append(job)
            return False
        return True

    async def _attempt(self, job: _Job) -> bool | None:
        """One POST; ``None`` when it was not sent (see :meth:`_sendable`), else whether it was a 200."""
        sub = job.sub
        if not self._sendable(job):
            return None
        headers = _headers(job.body, sub.public_key, sub.secret_key)
        status: int | None = None
        error: str | None = None
        async with self._lock(sub.request_id):  # one POST at a time per subscription: first attempts in order
            if not self._sendable(job):  # blocked or removed while this one waited for its turn
                return None
            job.attempts += 1
            try:
                session = self._get_session()
                async with session.post(sub.url, data=job.body, headers=headers, allow_redirects=False) as response:
                    await response.read()
                    status = response.status
            except asyncio.TimeoutError:
                error = "timeout"
            except aiohttp.ClientError as exc:
                error = f"{type(exc).__name__}: {exc}"
        ok = status == 200
        self.deliveries.append(
            DeliveryAttempt(
                sub.request_id,
                job.event_id,
                job.event_type,
                sub.url,
                job.attempts,
                status,
                error,
                ok,
                job.redelivery,
                job.body,
                headers,
            )
        )
        if ok:
            self._errors.pop(sub.request_id, None)
            sub.error_count = 0
        else:
            self._count_error(sub)
        return ok

    def _count_error(self, sub: Subscription) -> None:
        now = self._clock()
        window = BLOCK_WINDOW / self.time_scale
        times = self._errors.setdefault(sub.request_id, deque())
        times.append(now)
        while times and times[0] < now - window:
            times.popleft()
        sub.error_count = len(times)
        if len(times) > BLOCK_AFTER_ERRORS and not sub.blocked:
            sub.blocked = True
            logger.warning("webhook subscription %s blocked after %d errors", sub.request_id, len(times))

    def _lock(self, request_id: str) -> asyncio.Lock:
        lock = self._locks.get(request_id)
        if lock is None:
            lock = self._locks[request_id] = asyncio.Lock()
        return lock

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.delivery_timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    # ----------------------------------------------------------------------------------- close

    async def aclose(self) -> None:
        """Cancel deliveries in flight (held ones are kept) and close the HTTP session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close_session()
        self._loop = None

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
        self._locks.clear()
