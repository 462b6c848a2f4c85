"""Receiving deliveries: an aiohttp handler factory and a framework-neutral sync function.

Why the status codes matter: Calypso treats only HTTP 200 as delivered and redelivers anything else on a
schedule of about 91 hours (and blocks a subscription after more than 100 errors in 10 minutes). So both
receivers answer 200 only after your callback finished, 400 when the delivery is not authentic or not an
envelope, and 500 when your callback raised — the redelivery is then your retry. Both always answer 200 for
an event nobody handles, so an event type added by Calypso later does not pile up redeliveries.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from .._errors import CalypsoError, WebhookSignatureError
from ._envelope import WebhookEvent, canonical_event_type, dedup_key
from ._verify import Headers, RawBody, construct_event, header_value

if TYPE_CHECKING:  # aiohttp.web is imported when a handler is made: importing calypso stays light
    from aiohttp import web

__all__ = ["AsyncSecretSource", "EventCallback", "SecretSource", "handle_webhook", "webhook_handler"]

logger = logging.getLogger("calypso.webhooks")

SecretSource: TypeAlias = str | Mapping[str, str] | Callable[[str | None], str | None]
"""The subscription's ``secretKey``; or, for several subscriptions, a mapping or a function from the
delivery's ``Key`` header (the ``publicKey``) to the secret (``None``: unknown key, answered 400)."""

AsyncSecretSource: TypeAlias = str | Mapping[str, str] | Callable[[str | None], str | Awaitable[str | None] | None]
"""Like :data:`SecretSource`; the function may also be ``async`` (e.g. reload keys with ``webhooks.list``)."""

EventCallback: TypeAlias = Callable[[WebhookEvent], Any]
"""Called with the verified event; an ``async def`` for :func:`webhook_handler`, a plain function for
:func:`handle_webhook`. Raising makes the receiver answer 500, so Calypso delivers the event again."""

OK = (200, "OK")


def _route(
    on_event: EventCallback | None, handlers: Mapping[str, EventCallback] | None
) -> Callable[[WebhookEvent], EventCallback | None]:
    table: dict[str, EventCallback] = {}
    for name, callback in (handlers or {}).items():
        canonical = canonical_event_type(name)
        if canonical in table:
            raise ValueError(f"two handlers for event type {canonical} (one given under an alias)")
        if not callable(callback):
            raise TypeError(f"handler for {name} is not callable")
        table[canonical] = callback
    if on_event is None and not table:
        raise ValueError("give on_event=, handlers=, or both")
    if on_event is not None and not callable(on_event):
        raise TypeError("on_event is not callable")

    def pick(event: WebhookEvent) -> EventCallback | None:
        name = event.type
        chosen = table.get(name) if name is not None else None
        return chosen if chosen is not None else on_event

    return pick


def _secret_from(source: Any, key: str | None) -> Any:
    if isinstance(source, str):
        return source
    if isinstance(source, Mapping):
        return source.get(key) if key is not None else None
    return source(key)


def _check_source(source: Any) -> None:
    if not isinstance(source, (str, Mapping)) and not callable(source):
        raise TypeError("secret_key must be a string, a mapping publicKey -> secretKey, or a function of the key")


def _verify(raw_body: RawBody, headers: Headers, secret: Any, public_key: str | None) -> WebhookEvent:
    if secret is None:
        raise WebhookSignatureError("webhook 'Key' header names no known subscription")
    if not isinstance(secret, str):
        raise TypeError(f"the secret key source returned {type(secret).__name__}, not a string")
    return construct_event(raw_body, headers, secret, public_key=public_key)


def webhook_handler(
    secret_key: AsyncSecretSource,
    *,
    on_event: EventCallback | None = None,
    handlers: Mapping[str, EventCallback] | None = None,
    public_key: str | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler that verifies, parses and dispatches deliveries.

    ``handlers`` maps event types (aliases accepted) to ``async`` callbacks; ``on_event`` gets every other
    event. Answers 200 once the callback returned, 400 for a bad signature or body, 500 when the callback
    raised (Calypso then redelivers: make callbacks idempotent, e.g. with :func:`dedup_key`).

    >>> app.router.add_post("/calypso", webhook_handler(secret, handlers={"INVOICE_PAID": on_paid}))  # doctest: +SKIP
    """
    from aiohttp import web

    _check_source(secret_key)
    pick = _route(on_event, handlers)

    async def handle(request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, text="POST only", headers={"Allow": "POST"})
        raw_body = await request.read()
        try:
            secret = _secret_from(secret_key, header_value(request.headers, "Key"))
            if inspect.isawaitable(secret):
                secret = await secret
            event = _verify(raw_body, request.headers, secret, public_key)
        except CalypsoError as exc:
            logger.warning("webhook delivery rejected: %s", exc)
            return web.Response(status=400, text=str(exc))
        callback = pick(event)
        if callback is None:
            return web.Response(status=200, text="OK")
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("webhook callback failed for %s %s", event.type, dedup_key(event))
            return web.Response(status=500, text="callback failed")
        return web.Response(status=200, text="OK")

    return handle


def handle_webhook(
    raw_body: RawBody,
    headers: Headers,
    secret_key: SecretSource,
    callback: EventCallback | None = None,
    *,
    handlers: Mapping[str, EventCallback] | None = None,
    public_key: str | None = None,
) -> tuple[int, str]:
    """Verify, parse and dispatch one delivery in sync code; returns the ``(status, body)`` to answer.

    Framework-neutral: pass the raw request body and its headers (Flask ``request.get_data()`` and
    ``request.headers``, Django ``request.body`` and ``request.headers``). 200 after ``callback`` returned,
    400 for a bad signature or body, 500 when the callback raised.

    >>> status, text = handle_webhook(request.body, request.headers, secret, on_event)   # doctest: +SKIP
    """
    _check_source(secret_key)
    pick = _route(callback, handlers)
    try:
        event = _verify(raw_body, headers, _secret_from(secret_key, header_value(headers, "Key")), public_key)
    except CalypsoError as exc:
        logger.warning("webhook delivery rejected: %s", exc)
        return 400, str(exc)
    chosen = pick(event)
    if chosen is None:
        return OK
    try:
        result = chosen(event)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("handle_webhook callbacks must be plain functions; use webhook_handler for async code")
    except Exception:
        logger.exception("webhook callback failed for %s %s", event.type, dedup_key(event))
        return 500, "callback failed"
    return OK
