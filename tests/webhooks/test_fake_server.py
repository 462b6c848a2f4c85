"""End to end through the fake server: a subscription made with ``client.webhooks.create``, an invoice paid on
the server, and an aiohttp receiver (``webhook_handler``) getting the signed INVOICE events; the sync
receiver (``handle_webhook``) behind a plain ``http.server`` with the server running in a thread."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from calypso_async import RetryPolicy
from calypso_async.models import WebhookChannelDTO, WebhookChannelsDTO
from calypso_async.testing import FakeCalypso
from calypso_async.webhooks import (
    InvoiceFundsReceivedForInvoiceData,
    InvoicePaidData,
    WebhookEvent,
    dedup_key,
    handle_webhook,
    webhook_handler,
)

from .conftest import serve

INVOICE_FLOW = [
    "INVOICE_CREATE_INVOICE",
    "INVOICE_MEMPOOL_FOUND",
    "INVOICE_FUNDS_RECEIVED_FOR_INVOICE",
    "INVOICE_PAID",
    "INVOICE_TRANSLATION_TO_ACCOUNT_COMPLETED",
]


async def _no_sleep(_: float) -> None:
    return None


async def test_subscribe_with_the_client_pay_an_invoice_receive_signed_events() -> None:
    received: list[WebhookEvent] = []
    keys: dict[str, str] = {}
    failures = {"INVOICE_PAID": 2}  # the receiver fails INVOICE_PAID twice: Calypso (the fake) redelivers it

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)
        if failures.get(event.type or "", 0) > 0:
            failures[event.type or ""] -= 1
            raise RuntimeError("temporarily unavailable")

    async with FakeCalypso(seed=0, webhook_time_scale=1e9) as server:
        async with serve(webhook_handler(keys, on_event=on_event)) as url:
            async with server.client(retry_policy=RetryPolicy(max_retries=1, sleep=_no_sleep)) as client:
                channel = await client.webhooks.create(url=url, notification_service_types=["INVOICE"])
                assert isinstance(channel, WebhookChannelDTO)
                assert channel.public_key and channel.secret_key
                keys[channel.public_key] = channel.secret_key

                invoice = await client.invoices.create_single(
                    amount=Decimal("0.0125"), currency="ETH", description="order 42", external_id="order-42"
                )
                assert invoice.id is not None
                server.pay_invoice(invoice.id)
                await server.webhooks.wait_idle()

                listed = await client.webhooks.list()
                assert isinstance(listed, WebhookChannelsDTO)
                await client.webhooks.delete(request_id=channel.request_id or "")
                assert server.webhooks.subscriptions() == []

    # Each distinct event once after de-duplication, in the order of the invoice's life.
    unique: dict[str, WebhookEvent] = {}
    for event in received:
        unique.setdefault(dedup_key(event), event)
    assert [e.type for e in unique.values()] == INVOICE_FLOW
    assert [e.type for e in received].count("INVOICE_PAID") == 3  # failed twice, then acknowledged
    assert all(e.request_id == channel.request_id for e in received)

    paid = next(e.data for e in received if isinstance(e.data, InvoicePaidData))
    assert paid.parent_external_id == invoice.id and paid.external_id == "order-42"
    assert paid.amount == Decimal("0.0125") and paid.currency == "ETH"
    funds = next(e.data for e in received if isinstance(e.data, InvoiceFundsReceivedForInvoiceData))
    assert funds.amount == Decimal("0.0125") and funds.transaction_id and len(funds.transaction_id) == 1

    attempts = [
        (a.event_type, a.attempt, a.status) for a in server.webhooks.deliveries if a.event_type == "INVOICE_PAID"
    ]
    assert attempts == [("INVOICE_PAID", 1, 500), ("INVOICE_PAID", 2, 500), ("INVOICE_PAID", 3, 200)]


async def test_subscription_secret_never_shows_in_reprs() -> None:
    async with FakeCalypso(seed=1) as server:
        async with server.client() as client:
            channel = await client.webhooks.create(
                url="http://127.0.0.1:9/never-called", notification_event_types=["PAYOUT_CHANGE_STATUS"]
            )
            listed = await client.webhooks.list()
            await client.webhooks.delete(request_id=channel.request_id or "")
    secret = channel.secret_key
    assert secret and secret not in repr(channel) and secret not in str(channel)
    assert listed.subscriptions and secret not in repr(listed)
    assert secret not in repr(server.webhooks.subscriptions()) and secret not in repr(server.webhooks)


@contextmanager
def sync_receiver(secret: dict[str, str], seen: list[WebhookEvent]) -> Iterator[str]:
    """A plain http.server whose handler does what a Flask or Django view would: handle_webhook."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, text = handle_webhook(body, dict(self.headers.items()), secret, seen.append)
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return None

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/calypso"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_sync_receiver_with_the_server_in_a_thread() -> None:
    seen: list[WebhookEvent] = []
    keys: dict[str, str] = {}
    with FakeCalypso.run_in_thread(seed=2, webhook_time_scale=1e9) as server, sync_receiver(keys, seen) as url:
        sub = server.webhooks.subscribe("sync-sub", url, [], ["INVOICE_PAID", "INVOICE_CREATE_INVOICE"])
        keys[sub.public_key] = sub.secret_key
        server.webhooks.emit("INVOICE_PAID", "INVOICE", {"amount": Decimal("3.50"), "parentExternalId": 12})
        server.webhooks.wait_idle_sync(timeout=30)
    assert [e.type for e in seen] == ["INVOICE_PAID"]
    assert isinstance(seen[0].data, InvoicePaidData) and seen[0].data.amount == Decimal("3.50")
    assert seen[0].data.parent_external_id == "12"


def test_sync_code_without_any_loop_delivers_on_a_private_loop() -> None:
    from calypso_async.testing._webhooks import WebhookDispatcher

    seen: list[WebhookEvent] = []
    keys: dict[str, str] = {}
    dispatcher = WebhookDispatcher(time_scale=1e9)
    with sync_receiver(keys, seen) as url:
        sub = dispatcher.subscribe("plain-sync", url, ["INVOICE"], [])
        keys[sub.public_key] = sub.secret_key
        dispatcher.emit("INVOICE_EXPIRED", "INVOICE", {"amount": Decimal("1")})
        dispatcher.wait_idle_sync()
        dispatcher.wait_idle_sync()  # nothing pending: returns at once
    assert [e.type for e in seen] == ["INVOICE_EXPIRED"]
    assert [a.ok for a in dispatcher.deliveries] == [True]
