"""STUB (owned by the webhooks work): subscription store and signed deliveries of the fake server.

Interface the fake server relies on:
  WebhookDispatcher(time_scale=1.0)
    .subscribe(request_id, url, service_types, event_types) -> Subscription
    .unsubscribe(request_id) -> bool
    .subscriptions() -> list[Subscription]
    .emit(event_type, service, data, level="SUCCESS") -> None   # schedules deliveries, never blocks
    async .aclose() -> None
"""

from __future__ import annotations

import secrets
from typing import Any

import attrs


@attrs.define
class Subscription:
    request_id: str
    url: str
    service_types: list[str]
    event_types: list[str]
    public_key: str = attrs.field(factory=lambda: secrets.token_hex(16))
    secret_key: str = attrs.field(factory=lambda: secrets.token_hex(16), repr=False)
    blocked: bool = False
    error_count: int = 0


class WebhookDispatcher:
    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._subs: dict[str, Subscription] = {}

    def subscribe(self, request_id: str, url: str, service_types: list[str], event_types: list[str]) -> Subscription:
        sub = Subscription(request_id, url, list(service_types), list(event_types))
        self._subs[request_id] = sub
        return sub

    def unsubscribe(self, request_id: str) -> bool:
        return self._subs.pop(request_id, None) is not None

    def subscriptions(self) -> list[Subscription]:
        return list(self._subs.values())

    def emit(self, event_type: str, service: str, data: dict[str, Any], level: str = "SUCCESS") -> None:
        return None

    async def aclose(self) -> None:
        return None
