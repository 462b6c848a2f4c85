"""``calypso webhooks verify`` and ``calypso webhooks listen``: check and watch webhook deliveries locally.

Why: a webhook integration fails in ways that are hard to see (a proxy re-encoding the body, the wrong
subscription secret, a framework parsing JSON before the signature is checked). ``verify`` answers "is this
delivery authentic?" for a saved body (exit 5 when not), and ``listen`` is a local receiver that verifies
and pretty-prints every delivery — pair it with ``calypso fake-server`` (``--subscribe`` registers it with
whatever server the credentials point at, uses that subscription's secret, and removes the subscription on
exit). Both use the SDK's own :func:`~calypso_async.webhooks.construct_event`, so what passes here passes in
your app. The secret comes from ``--secret`` or ``CALYPSO_WEBHOOK_SECRET`` and is never printed.

``listen --save DIR`` writes each delivery as an HTTP message (request line, headers, blank line, exact body)
that ``verify`` reads back: ``calypso webhooks verify < DIR/0001-INVOICE_PAID.http``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import signal
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import CalypsoError, WebhookSignatureError
from ._base import EXIT_OK, Context, UsageError, non_negative_int
from ._output import dumps_json_line, format_value, render_kv

if TYPE_CHECKING:
    from aiohttp import web

    from ..webhooks import WebhookEvent

__all__ = ["event_lines", "parse_http_message", "register"]

DEFAULT_SERVICES = ("INVOICE", "PAYOUT", "CUSTOMER_PURSE", "FIAT_DEPOSIT")


def _secret(ctx: Context, required: bool = True) -> str | None:
    secret = ctx.opt("secret") or (ctx.environ.get("CALYPSO_WEBHOOK_SECRET") or "").strip() or None
    if secret is None and required:
        raise UsageError(
            "no webhook secret: pass --secret or set CALYPSO_WEBHOOK_SECRET (the subscription's secretKey)"
        )
    return secret


def parse_http_message(raw: bytes) -> tuple[dict[str, str], bytes]:
    """Headers and exact body of a saved delivery: optional request line, ``Name: value`` lines, blank, body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            break
    else:
        raise UsageError(
            "input has no headers: pass --sign HEX with a raw body, or a saved delivery (headers, blank line, body)"
        )
    headers: dict[str, str] = {}
    for number, line in enumerate(head.decode("latin-1").splitlines()):
        if not line.strip():
            continue
        if number == 0 and ":" not in line.split(" ", 1)[0] and " HTTP/" in line:
            continue  # request line
        name, colon, value = line.partition(":")
        if not colon:
            raise UsageError(f"not a header line in the saved delivery: {line[:60]!r}")
        headers[name.strip()] = value.strip()
    return headers, body


def event_lines(event: WebhookEvent) -> list[str]:
    """A delivery for people: a headline, then the data fields."""
    from ..webhooks import dedup_key

    when = event.created_date.isoformat() if event.created_date is not None else "-"
    head = f"{event.type or '?'}  event {event.id or '?'}  {when}  dedup {dedup_key(event)}"
    if not event.is_known:
        head += "  (type unknown to this calypso version)"
    data = event.data.to_dict()
    pairs = [(key, value) for key, value in data.items() if key != "type"]
    return [head] + ["  " + line for line in render_kv([(k, format_value(v)) for k, v in pairs])]


# ------------------------------------------------------------------------------------------------ verify


def _verify(ctx: Context) -> int:
    from ..webhooks import construct_event

    args = ctx.args
    secret = _secret(ctx)
    assert secret is not None
    raw = _read_input(ctx, args.file)
    if args.sign is not None:
        headers: Mapping[str, str] = {"Sign": args.sign}
        body = raw
    else:
        if raw.lstrip()[:1] in (b"{", b"["):
            raise UsageError(
                "no signature: pass --sign HEX (the delivery's Sign header), or feed a saved delivery "
                "with its headers (as `webhooks listen --save` writes them)"
            )
        headers, body = parse_http_message(raw)
    event = construct_event(body, headers, secret, public_key=args.public_key)
    if ctx.json:
        ctx.print_json(event)
    else:
        ctx.lines(event_lines(event))
        ctx.note("signature valid")
    return EXIT_OK


def _read_input(ctx: Context, name: str | None) -> bytes:
    if name and name != "-":
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    buffer = getattr(ctx.stdin, "buffer", None)
    if buffer is not None:
        data = buffer.read()
        return data if isinstance(data, bytes) else bytes(data)
    return ctx.stdin.read().encode("utf-8")


# ------------------------------------------------------------------------------------------------ listen


class _Receiver:
    """The aiohttp handler: verify, print, save, count; 200 only for authentic deliveries, 400 otherwise."""

    def __init__(self, ctx: Context, secret: str, public_key: str | None, save: Path | None, limit: int) -> None:
        self.ctx = ctx
        self.secret = secret
        self.public_key = public_key
        self.save = save
        self.limit = limit
        self.accepted = 0
        self.rejected = 0
        self.seen = 0
        self.done = asyncio.Event()

    def _store(self, request: web.Request, body: bytes, label: str) -> None:
        if self.save is None:
            return
        lines = [f"{request.method} {request.path_qs} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body
        (self.save / f"{self.seen:04d}-{label}.http").write_bytes(raw)

    async def handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from ..webhooks import construct_event

        if request.method != "POST":
            return web.Response(status=405, text="POST only", headers={"Allow": "POST"})
        body = await request.read()
        self.seen += 1
        ctx = self.ctx
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%H:%M:%S")
        try:
            event = construct_event(body, request.headers, self.secret, public_key=self.public_key)
        except CalypsoError as exc:
            self.rejected += 1
            self._store(request, body, "rejected")
            kind = "bad signature" if isinstance(exc, WebhookSignatureError) else "bad body"
            ctx.warn(f"{stamp} rejected delivery from {request.remote}: {kind}: {exc} (answered 400)")
            return web.Response(status=400, text=str(exc))
        self.accepted += 1
        self._store(request, body, str(event.type or "event"))
        if ctx.json:
            ctx.print(dumps_json_line(event))
        else:
            lines = event_lines(event)
            ctx.lines([f"{stamp}  {lines[0]}", *lines[1:]])
        ctx.stdout.flush()
        if self.limit and self.accepted >= self.limit:
            self.done.set()
        return web.Response(status=200, text="OK")


def _listen(ctx: Context) -> int:
    args = ctx.args
    secret = _secret(ctx, required=not args.subscribe)
    if args.subscribe and secret is not None and ctx.opt("secret"):
        raise UsageError("--subscribe uses the new subscription's secret: leave out --secret")
    if args.subscribe:
        ctx.credentials()  # fail now, with exit 2, when there are no API keys
    save: Path | None = None
    if args.save:
        save = Path(args.save)
        try:
            save.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {save}: {exc.strerror or exc}") from None
    path = args.path if args.path.startswith("/") else "/" + args.path

    async def serve() -> int:
        from aiohttp import web

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        receiver = _Receiver(ctx, secret or "", args.public_key, save, args.max_deliveries)
        app = web.Application()
        app.router.add_route("*", path, receiver.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        client = None
        request_id: str | None = None
        try:
            site = web.TCPSite(runner, args.host, args.port)
            try:
                await site.start()
            except OSError as exc:
                raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
            host, port = runner.addresses[0][:2]
            shown = f"[{host}]" if ":" in str(host) else str(host)
            url = f"http://{shown}:{port}{path}"
            if args.subscribe:
                client = ctx.make_client()
                target = args.public_url or url
                request_id = str(uuid.uuid4())
                channel = await client.webhooks.create(
                    url=target,
                    request_id=request_id,
                    notification_service_types=args.service or list(DEFAULT_SERVICES),
                    notification_event_types=args.event,
                )
                if not channel.secret_key:
                    raise UsageError("the subscription was created but its answer has no secretKey to verify with")
                receiver.secret = channel.secret_key
                receiver.public_key = channel.public_key or receiver.public_key
                ctx.note(f"subscribed {target} as {request_id} (removed again on exit)")
            ctx.print(f"listening on {url}")
            ctx.stdout.flush()
            ctx.note("verifying every delivery; Ctrl-C to stop")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(receiver.done.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)
        finally:
            if client is not None:
                try:
                    if request_id is not None:
                        with contextlib.suppress(CalypsoError):
                            await client.webhooks.delete(request_id=request_id)
                finally:
                    await client.aclose()
            await runner.cleanup()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        ctx.note(f"stopped: {receiver.accepted} delivery(ies) accepted, {receiver.rejected} rejected")
        return EXIT_OK

    return ctx.run_plain(serve)


# ---------------------------------------------------------------------------------------------- register


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "webhooks",
        help="verify webhook deliveries; run a local receiver",
        description="Webhook deliveries are signed with the subscription's secretKey (HMAC-SHA512 of the body).",
    )
    cmds = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = cmds.add_parser(
        "verify",
        parents=[common],
        help="check a delivery's signature and show the event (exit 5 when invalid)",
        description="Read a delivery from FILE or stdin and check its signature with the subscription's secret. "
        "Either the raw body with --sign HEX, or a saved HTTP message (headers, blank line, body). Exit 0 and "
        "the parsed event when authentic, 5 when the signature is missing or wrong.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="delivery to check (default: stdin)")
    p.add_argument("--secret", metavar="KEY", help="the subscription's secretKey (or CALYPSO_WEBHOOK_SECRET)")
    p.add_argument("--sign", metavar="HEX", help="the delivery's Sign header, when the input is the bare body")
    p.add_argument("--public-key", metavar="KEY", help="also require this Key header (the subscription's publicKey)")
    p.set_defaults(handler=_verify)

    p = cmds.add_parser(
        "listen",
        parents=[common],
        help="local receiver that verifies and pretty-prints deliveries",
        description="Serve a local webhook endpoint: every POST is verified; authentic deliveries are printed "
        "and answered 200, others are reported on stderr and answered 400. With --subscribe a subscription to "
        "this URL is created with your API credentials (e.g. against `calypso fake-server`) and deleted on exit.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    p.add_argument("--port", type=non_negative_int, default=8000, help="port (8000; 0 = any free port)")
    p.add_argument("--path", default="/", help="URL path to receive on (/)")
    p.add_argument("--secret", metavar="KEY", help="the subscription's secretKey (or CALYPSO_WEBHOOK_SECRET)")
    p.add_argument("--public-key", metavar="KEY", help="also require this Key header")
    p.add_argument("--subscribe", action="store_true", help="create a subscription for this receiver (and delete it)")
    p.add_argument("--public-url", metavar="URL", help="--subscribe: the URL Calypso should call (e.g. a tunnel)")
    p.add_argument("--service", action="append", metavar="GROUP", help="--subscribe: event group (repeatable)")
    p.add_argument("--event", action="append", metavar="TYPE", help="--subscribe: single event type (repeatable)")
    p.add_argument("--save", metavar="DIR", help="write every delivery to DIR as an HTTP message")
    p.add_argument(
        "--max-deliveries", type=non_negative_int, default=0, metavar="N", help="exit after N accepted deliveries"
    )
    p.set_defaults(handler=_listen)
