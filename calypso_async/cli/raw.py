"""``calypso raw PATH [JSON]``: a signed call to any path, for endpoints the SDK does not wrap yet.

Why: Calypso adds endpoints faster than SDKs follow, and support often asks "what does the API answer?". The
call goes through ``AsyncCalypso.request``: the envelope (account, timestamp), signing, the server clock and
retries are the SDK's own. Numbers in the JSON payload are read as exact decimals and sent back unchanged;
the answer is printed as JSON with exact numbers. Like the SDK, ambiguous failures (timeouts, 5xx) are
retried only with ``--idempotent`` or when the payload carries an ``idempotencyKey``.
"""

from __future__ import annotations

import argparse
from typing import Any

from .. import _json
from .._client import NOT_GIVEN, AsyncCalypso
from ._base import EXIT_OK, Context, UsageError

__all__ = ["register"]


def _payload(ctx: Context, text: str | None) -> Any:
    if text is None:
        return None
    if text == "-":
        text = ctx.stdin.read()
    if not text.strip():
        return None
    try:
        return _json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"the JSON payload is not valid JSON: {str(exc)[:160]}") from None


def _raw(ctx: Context) -> int:
    args = ctx.args
    payload = _payload(ctx, args.payload)
    path: str = args.path
    if "://" in path:
        raise UsageError("raw takes a path like /api/v1/account (the base URL comes from the configuration)")
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        acct: Any = None if args.no_account else (account if account is not None else NOT_GIVEN)
        answer = await client.request(
            path, payload, account=acct, method=args.method, idempotent=True if args.idempotent else None
        )
        ctx.print_json(answer)
        return EXIT_OK

    return ctx.run(work)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "raw",
        parents=[common],
        help="signed call to any API path, JSON in and out",
        description="Send a signed request to PATH (e.g. /api/v1/account or account) with JSON as the payload "
        "('-' reads it from stdin). The envelope's account is the configured one unless --no-account. "
        "The answer is printed as JSON with exact numbers.",
    )
    p.add_argument("path", metavar="PATH", help="/api/v1/... (a bare name gets /api/v1/ in front)")
    p.add_argument("payload", nargs="?", metavar="JSON", help="the payload object, or '-' for stdin")
    p.add_argument("--method", default="POST", choices=["POST", "GET", "PUT", "DELETE", "PATCH"])
    p.add_argument("--no-account", action="store_true", help="leave account out of the envelope")
    p.add_argument("--idempotent", action="store_true", help="safe to repeat: retry timeouts and 5xx too")
    p.set_defaults(handler=_raw)
