"""Webhook subscriptions (create/list/delete), stored in the server's :class:`WebhookDispatcher`.

Why through the dispatcher: the subscription made through the API is the one deliveries go to, signed with
the key pair this call returns, so SDK tests can subscribe a local receiver and verify real deliveries.
A repeated ``requestId`` is refused with 016 (the reference leaves it undocumented).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._call import Call, Handler
from .._http import bad_request, duplicate_key, not_found
from .._webhooks import Subscription, WebhookDispatcher

__all__ = ["HANDLERS"]


def _dispatcher(call: Call) -> WebhookDispatcher:
    dispatcher = call.state.webhooks
    if dispatcher is None:  # pragma: no cover - the server always attaches one
        raise bad_request("webhooks are not available")
    return dispatcher


def _channel(call: Call, sub: Subscription) -> dict[str, Any]:
    return {
        "requestId": sub.request_id,
        "notificationEventTypes": list(sub.event_types),
        "notificationServiceTypes": list(sub.service_types),
        "url": sub.url,
        "publicKey": sub.public_key,
        "secretKey": sub.secret_key,
        "createdDate": call.state.webhook_created.get(sub.request_id, call.state.now_iso()),
        "blockedByErrorCount": sub.error_count,
        "blocked": sub.blocked,
    }


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"{where} must be a list of strings")
    return list(value)


def create(call: Call) -> Any:
    dispatcher = _dispatcher(call)
    request_id = call.require_str("requestId")
    if any(sub.request_id == request_id for sub in dispatcher.subscriptions()):
        raise duplicate_key("webhook subscription", request_id)
    url = call.require_str("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request(f"payload.url must be an http(s) URL, got {url!r}")
    services = _strings(call.payload.get("notificationServiceTypes"), "payload.notificationServiceTypes")
    events = _strings(call.payload.get("notificationEventTypes"), "payload.notificationEventTypes")
    if not services and not events:
        raise bad_request("send notificationServiceTypes and/or notificationEventTypes")
    sub = dispatcher.subscribe(request_id, url, services, events)
    call.state.webhook_created[request_id] = call.state.now_iso()
    return _channel(call, sub)


def list_subscriptions(call: Call) -> Any:
    return {"subscriptions": [_channel(call, sub) for sub in _dispatcher(call).subscriptions()]}


def delete(call: Call) -> Any:
    request_id = call.require_str("requestId")
    if not _dispatcher(call).unsubscribe(request_id):
        raise not_found(f"Webhook subscription {request_id}")
    call.state.webhook_created.pop(request_id, None)
    return None


HANDLERS: dict[str, Handler] = {
    "webhooks.create": create,
    "webhooks.list": list_subscriptions,
    "webhooks.delete": delete,
}
