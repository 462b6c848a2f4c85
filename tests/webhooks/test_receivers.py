"""Receivers: 200 only after the callback succeeded, 400 for bad signature/body, 500 when the callback raised."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from calypso_async.testing._webhooks import build_delivery
from calypso_async.webhooks import InvoicePaidData, WebhookEvent, handle_webhook, webhook_handler

from .conftest import BODY, PUBLIC, SECRET, SIGN, serve, sign, signed_headers


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_aiohttp_handler_acknowledges_after_callback(http: aiohttp.ClientSession) -> None:
    seen: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        seen.append(event)

    async with serve(webhook_handler(SECRET, on_event=on_event)) as url:
        assert await post(http, url, BODY, {"Sign": SIGN}) == (200, "OK")
    assert len(seen) == 1 and isinstance(seen[0].data, InvoicePaidData)
    assert seen[0].data.amount == Decimal("0.01")


async def test_aiohttp_handler_rejects_bad_signature_and_body(http: aiohttp.ClientSession) -> None:
    calls: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        calls.append(event)

    async with serve(webhook_handler(SECRET, on_event=on_event)) as url:
        status, text = await post(http, url, BODY, {"Sign": "00" * 64})
        assert status == 400 and "does not match" in text
        status, text = await post(http, url, BODY, {})
        assert status == 400 and "no 'Sign'" in text
        status, text = await post(http, url, BODY + b" ", {"Sign": SIGN})
        assert status == 400
        status, text = await post(http, url, b"[]", {"Sign": sign(b"[]")})
        assert status == 400 and "JSON object" in text
        async with http.get(url) as response:
            assert response.status == 405
    assert calls == []


async def test_aiohttp_handler_answers_500_when_callback_raises(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_event(event: WebhookEvent) -> None:
        raise RuntimeError("database down")

    with caplog.at_level(logging.ERROR, logger="calypso.webhooks"):
        async with serve(webhook_handler(SECRET, on_event=on_event)) as url:
            assert await post(http, url, BODY, {"Sign": SIGN}) == (500, "callback failed")
    assert "webhook callback failed for INVOICE_PAID" in caplog.text
    assert SECRET not in caplog.text and SIGN not in caplog.text


async def test_handlers_by_type_with_aliases_and_fallback(http: aiohttp.ClientSession) -> None:
    got: list[tuple[str, str | None]] = []

    async def compliance(event: WebhookEvent) -> None:
        got.append(("compliance", event.type))

    async def other(event: WebhookEvent) -> None:
        got.append(("other", event.type))

    handler = webhook_handler(
        SECRET, handlers={"INVOICE_COMPLIANCE_CHECK": compliance}, on_event=other
    )  # keyed by an alias: canonical deliveries match it too
    async with serve(handler) as url:
        for event_type in ("INVOICE_PENDING_COMPLIANCE", "INVOICE_COMPLIANCE_CHECK", "INVOICE_PAID", "BRAND_NEW"):
            body, headers = build_delivery(event_type, {}, SECRET)
            assert (await post(http, url, body, headers))[0] == 200
    assert got == [
        ("compliance", "INVOICE_PENDING_COMPLIANCE"),
        ("compliance", "INVOICE_PENDING_COMPLIANCE"),
        ("other", "INVOICE_PAID"),
        ("other", "BRAND_NEW"),
    ]


async def test_unhandled_events_are_acknowledged(http: aiohttp.ClientSession) -> None:
    async def paid(event: WebhookEvent) -> None:
        raise AssertionError("not for this event")

    async with serve(webhook_handler(SECRET, handlers={"INVOICE_PAID": paid})) as url:
        body, headers = build_delivery("PAYOUT_CHANGE_STATUS", {"payoutStatus": "COMPLETED"}, SECRET)
        assert await post(http, url, body, headers) == (200, "OK")


async def test_secret_by_key_mapping_sync_and_async_callables(http: aiohttp.ClientSession) -> None:
    secrets = {"pub-a": "secret-a", "pub-b": "secret-b"}
    seen: list[str | None] = []

    async def on_event(event: WebhookEvent) -> None:
        seen.append(event.request_id)

    async def lookup(key: str | None) -> str | None:
        return secrets.get(key or "")

    for source in (secrets, secrets.get, lookup):
        async with serve(webhook_handler(source, on_event=on_event)) as url:  # type: ignore[arg-type]
            body, headers = build_delivery("INVOICE_PAID", {}, "secret-b", public_key="pub-b", request_id="b")
            assert (await post(http, url, body, headers))[0] == 200
            body, headers = build_delivery("INVOICE_PAID", {}, "secret-a", public_key="pub-b")  # wrong pair
            assert (await post(http, url, body, headers))[0] == 400
            body, headers = build_delivery("INVOICE_PAID", {}, "secret-a", public_key="unknown")
            status, text = await post(http, url, body, headers)
            assert status == 400 and "no known subscription" in text
    assert seen == ["b", "b", "b"]


async def test_public_key_pinning(http: aiohttp.ClientSession) -> None:
    async def on_event(event: WebhookEvent) -> None:
        return None

    async with serve(webhook_handler(SECRET, on_event=on_event, public_key=PUBLIC)) as url:
        assert (await post(http, url, BODY, signed_headers(BODY)))[0] == 200
        assert (await post(http, url, BODY, signed_headers(BODY, key="other")))[0] == 400


def test_handler_factory_validates_arguments() -> None:
    with pytest.raises(ValueError, match="on_event=, handlers="):
        webhook_handler(SECRET)
    with pytest.raises(ValueError, match="two handlers"):
        webhook_handler(SECRET, handlers={"INVOICE_PENDING_COMPLIANCE": print, "INVOICE_COMPLIANCE_CHECK": print})
    with pytest.raises(TypeError, match="secret_key"):
        webhook_handler(123, on_event=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not callable"):
        webhook_handler(SECRET, handlers={"INVOICE_PAID": "nope"})  # type: ignore[dict-item]


# ------------------------------------------------------------------------------------------ sync


def test_handle_webhook_statuses() -> None:
    seen: list[WebhookEvent] = []
    assert handle_webhook(BODY, {"sign": SIGN}, SECRET, seen.append) == (200, "OK")
    assert len(seen) == 1 and seen[0].type == "INVOICE_PAID"

    status, text = handle_webhook(BODY, {"Sign": "ab"}, SECRET, seen.append)
    assert status == 400 and "does not match" in text
    status, _ = handle_webhook(b"{", {"Sign": sign(b"{")}, SECRET, seen.append)
    assert status == 400
    assert len(seen) == 1

    def broken(event: WebhookEvent) -> None:
        raise KeyError("boom")

    assert handle_webhook(BODY, {"Sign": SIGN}, SECRET, broken) == (500, "callback failed")


def test_handle_webhook_handlers_and_sources() -> None:
    got: list[str] = []
    body, headers = build_delivery("INVOICE_PAID", {"amount": Decimal("2")}, "s-1", public_key="k-1")
    result = handle_webhook(body, headers, {"k-1": "s-1"}, handlers={"INVOICE_PAID": lambda e: got.append("paid")})
    assert result == (200, "OK") and got == ["paid"]
    assert handle_webhook(body, headers, lambda key: None, lambda e: None)[0] == 400
    # A handler for another type only: the event is acknowledged, nothing runs.
    assert handle_webhook(body, headers, "s-1", handlers={"INVOICE_EXPIRED": lambda e: got.append("x")}) == (200, "OK")
    assert got == ["paid"]


def test_handle_webhook_refuses_async_callbacks() -> None:
    async def on_event(event: WebhookEvent) -> Any:
        return None

    assert handle_webhook(BODY, {"Sign": SIGN}, SECRET, on_event) == (500, "callback failed")
