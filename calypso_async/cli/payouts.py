"""``calypso payouts create|get|mass``: send crypto out of the merchant account.

Why the ceremony: a payout moves money and cannot be undone, so ``create`` and ``mass`` say exactly what
will be sent and ask first (``--yes`` for scripts; without a terminal and without ``--yes`` nothing is sent).
The idempotency key is generated *before* the call and printed on stderr straight away: if the process dies
or the connection drops, ``calypso payouts get --idempotency-key KEY`` tells whether the payout exists, and
re-running the create with the same ``--idempotency-key`` can never pay twice.

``mass`` reads recipients from a CSV file (``address,amount[,comment]``; amounts as exact decimals, every
row checked before anything is sent) and with ``--wait`` follows the payout to a final state, showing
progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._client import AsyncCalypso
from .._errors import APIConnectionError, CalypsoError, InvalidResponseError, ServerError
from ._base import (
    EXIT_API_ERROR,
    EXIT_CONNECTION,
    EXIT_OK,
    Context,
    UsageError,
    amount_arg,
    iso_datetime,
    positive_float,
    set_hint,
)
from ._output import format_amount, render_table

if TYPE_CHECKING:
    from ..models import PublicDealResponseDTO

__all__ = ["FINAL_STATES", "read_recipients", "register"]

FINAL_STATES = frozenset({"COMPLETED", "PARTIAL", "FAILED", "CANCELED", "CANCELLED", "REJECTED"})
"""Payout states after which nothing changes any more (``--wait`` stops there)."""


def _money(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return f"{format_amount(amount)} {currency or ''}".strip()


def payout_pairs(payout: PublicDealResponseDTO) -> list[tuple[str, Any]]:
    withdrawals = payout.extra.get("withdrawals")
    return [
        ("id", payout.id),
        ("state", payout.state),
        ("amount", _money(payout.amount, payout.currency)),
        ("fee", _money(payout.fee, payout.currency)),
        ("to address", payout.deposit_address if not isinstance(withdrawals, list) else None),
        ("withdrawals", len(withdrawals) if isinstance(withdrawals, list) else None),
        ("name", payout.extra.get("name")),
        ("comment", payout.comment),
        ("external id", payout.external_id),
        ("account", payout.account),
        ("created", payout.created_date),
        ("execution date", payout.execution_date),
        ("transaction hash", payout.transaction_hash),
        ("idempotency key", payout.idempotency_key),
    ]


def _show(ctx: Context, payout: PublicDealResponseDTO, *, withdrawals: bool = False) -> None:
    if ctx.json:
        ctx.print_json(payout)
        return
    ctx.kv(payout_pairs(payout))
    items = payout.extra.get("withdrawals")
    if withdrawals and isinstance(items, list) and items:
        ctx.print()
        rows = [
            [w.get("id"), w.get("depositAddress"), w.get("amount"), w.get("state")]
            for w in items
            if isinstance(w, dict)
        ]
        ctx.lines(render_table(["WITHDRAWAL", "ADDRESS", "AMOUNT", "STATE"], rows))


def _hint_for(exc: BaseException, key: str, command: str) -> None:
    """Ambiguous failures of a keyed create: say how to find out whether it happened."""
    if isinstance(exc, (APIConnectionError, ServerError, InvalidResponseError)):
        set_hint(
            exc,
            f"the payout may exist: check with `calypso payouts {command} --idempotency-key {key}` "
            f"(re-running with --idempotency-key {key} cannot pay twice)",
        )


def _account_or_fail(ctx: Context) -> str:
    account = ctx.single_account() or ctx.credentials().account
    if not account:
        raise UsageError("no account to pay from: pass --account or set CALYPSO_ACCOUNT (or account= in the profile)")
    return account


# ----------------------------------------------------------------------------------------------- create


def _create(ctx: Context) -> int:
    args = ctx.args
    account = _account_or_fail(ctx)
    key = args.idempotency_key or str(uuid.uuid4())
    ctx.confirm(f"Send {format_amount(args.amount)} {args.currency} to {args.address} from account {account}?")
    ctx.note(f"idempotency key: {key}", always=args.idempotency_key is None)

    async def work(client: AsyncCalypso) -> int:
        try:
            payout = await client.payouts.create(
                deposit_address=args.address,
                amount=args.amount,
                currency=args.currency,
                comment=args.comment,
                idempotency_key=key,
                execution_date=args.execution_date,
                external_id=args.external_id,
                account=account,
            )
        except CalypsoError as exc:
            _hint_for(exc, key, "get")
            raise
        _show(ctx, payout)
        return EXIT_OK

    return ctx.run(work)


# -------------------------------------------------------------------------------------------------- get


def _get(ctx: Context) -> int:
    args = ctx.args
    if (args.id is None) == (args.idempotency_key is None):
        raise UsageError("payouts get: give a payout ID or --idempotency-key KEY (exactly one)")
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        fetch = client.payouts.get_mass if args.mass else client.payouts.get
        payout = await fetch(id=args.id, idempotency_key=args.idempotency_key, account=account)
        _show(ctx, payout, withdrawals=True)
        return EXIT_OK

    return ctx.run(work)


# ------------------------------------------------------------------------------------------------- mass


def read_recipients(text: str, source: str) -> list[dict[str, Any]]:
    """Rows of a recipients CSV as wire items ``{depositAddress, amount[, comment]}``; UsageError per bad row.

    The header names the columns: ``address`` (or ``depositAddress``), ``amount``, optional ``comment``.
    """
    reader = csv.DictReader(io.StringIO(text))
    fields = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    address_col = fields.get("address") or fields.get("depositaddress")
    amount_col = fields.get("amount")
    comment_col = fields.get("comment")
    if address_col is None or amount_col is None:
        raise UsageError(f"{source}: the first line must name the columns: address,amount[,comment]")
    items: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        address = (row.get(address_col) or "").strip()
        raw_amount = (row.get(amount_col) or "").strip()
        if not address and not raw_amount:
            continue  # blank line
        if not address:
            raise UsageError(f"{source}, line {line}: no address")
        try:
            amount = amount_arg(raw_amount)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{source}, line {line}: {exc}") from None
        if amount == 0:
            raise UsageError(f"{source}, line {line}: amount must be more than 0")
        item: dict[str, Any] = {"depositAddress": address, "amount": amount}
        comment = (row.get(comment_col) or "").strip() if comment_col else ""
        if comment:
            item["comment"] = comment
        items.append(item)
    if not items:
        raise UsageError(f"{source}: no recipients")
    return items


def _read_file(ctx: Context, name: str) -> tuple[str, str]:
    if name == "-":
        return ctx.stdin.read(), "stdin"
    try:
        return Path(name).read_text(encoding="utf-8-sig"), name
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def _counts(payout: PublicDealResponseDTO) -> tuple[int, int, int]:
    items = payout.extra.get("withdrawals")
    if not isinstance(items, list):
        return 0, 0, 0
    states = [str(w.get("state")) for w in items if isinstance(w, dict)]
    done = sum(s == "COMPLETED" for s in states)
    failed = sum(s in ("FAILED", "CANCELED", "REJECTED") for s in states)
    return len(states), done, failed


def _mass(ctx: Context) -> int:
    args = ctx.args
    account = _account_or_fail(ctx)
    text, source = _read_file(ctx, args.file)
    items = read_recipients(text, source)
    total = sum((item["amount"] for item in items), Decimal(0))
    key = args.idempotency_key or str(uuid.uuid4())
    ctx.confirm(f"Send {len(items)} payout(s) totalling {format_amount(total)} {args.currency} from account {account}?")
    ctx.note(f"idempotency key: {key}", always=args.idempotency_key is None)

    async def work(client: AsyncCalypso) -> int:
        progress = ctx.progress()
        progress.update(f"creating mass payout of {len(items)} withdrawal(s)…")
        try:
            payout = await client.payouts.create_mass(
                currency=args.currency,
                name=args.name,
                comment=args.comment,
                idempotency_key=key,
                extra={"withdrawals": items},
                account=account,
            )
        except CalypsoError as exc:
            progress.done()
            _hint_for(exc, key, "get --mass")
            raise
        progress.done(f"mass payout {payout.id} created: {payout.state}")
        if args.wait and str(payout.state) not in FINAL_STATES:
            payout = await _follow(ctx, client, payout, account)
        _show(ctx, payout, withdrawals=True)
        state = str(payout.state)
        if args.wait and state not in FINAL_STATES:
            return EXIT_CONNECTION
        if args.wait and state != "COMPLETED":
            return EXIT_API_ERROR
        return EXIT_OK

    return ctx.run(work)


async def _follow(
    ctx: Context, client: AsyncCalypso, payout: PublicDealResponseDTO, account: str
) -> PublicDealResponseDTO:
    """Poll ``get_mass`` until a final state or ``--wait-timeout``; progress on stderr."""
    args = ctx.args
    progress = ctx.progress()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.wait_timeout
    last = ""
    while True:
        count, done, failed = _counts(payout)
        line = f"mass payout {payout.id}: {payout.state}, {done}/{count} withdrawal(s) completed"
        if failed:
            line += f", {failed} failed"
        if line != last:
            progress.update(line)
            last = line
        if str(payout.state) in FINAL_STATES:
            progress.done()
            return payout
        remaining = deadline - loop.time()
        if remaining <= 0:
            progress.done(
                f"gave up waiting after {args.wait_timeout:g} s; follow it with "
                f"`calypso payouts get --mass {payout.id}`"
            )
            return payout
        await asyncio.sleep(min(args.poll_interval, remaining))
        payout = await client.payouts.get_mass(id=payout.id, account=account)


# --------------------------------------------------------------------------------------------- register


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "payouts",
        help="send crypto (single and mass payouts) and read payouts",
        description="Payouts move money: create and mass ask for confirmation unless --yes.",
    )
    cmds = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = cmds.add_parser(
        "create",
        parents=[common],
        help="send one payout (asks first unless --yes)",
        description="Send AMOUNT of CURRENCY to ADDRESS. Asks for confirmation unless --yes. The idempotency key "
        "is printed before sending; re-running with --idempotency-key KEY can never pay twice.",
    )
    p.add_argument("--amount", type=amount_arg, required=True, help="exact decimal amount")
    p.add_argument("--currency", required=True, metavar="CODE", help="e.g. USDT_TRX")
    p.add_argument("--address", required=True, help="recipient address on the currency's chain")
    p.add_argument("--comment")
    p.add_argument("--external-id", metavar="REF", help="your own reference (echoed in webhooks)")
    p.add_argument("--execution-date", type=iso_datetime, metavar="ISO-8601", help="send at this time instead of now")
    p.add_argument("--idempotency-key", metavar="UUID", help="reuse the key of an earlier attempt")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=_create)

    p = cmds.add_parser("get", parents=[common], help="read a payout by id or idempotency key")
    p.add_argument("id", nargs="?", metavar="ID", help="payout id")
    p.add_argument("--idempotency-key", metavar="UUID", help="find it by the key it was created with")
    p.add_argument("--mass", action="store_true", help="it is a mass payout (shows its withdrawals)")
    p.set_defaults(handler=_get)

    p = cmds.add_parser(
        "mass",
        parents=[common],
        help="send a mass payout from a CSV file (asks first unless --yes)",
        description="Send one payout per CSV row (header: address,amount[,comment]). Every row is checked before "
        "anything is sent. --wait follows the payout to a final state with progress on stderr; it exits 1 "
        "when that state is not COMPLETED and 3 when --wait-timeout runs out.",
    )
    p.add_argument("--file", "-f", required=True, metavar="CSV", help="recipients file ('-' for stdin)")
    p.add_argument("--currency", required=True, metavar="CODE", help="the one currency of every payment")
    p.add_argument("--name", help="title of the mass payout")
    p.add_argument("--comment")
    p.add_argument("--idempotency-key", metavar="UUID", help="reuse the key of an earlier attempt")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--wait", action="store_true", help="follow the payout until it is final")
    p.add_argument("--poll-interval", type=positive_float, default=2.0, metavar="SECONDS", help="--wait: (2)")
    p.add_argument("--wait-timeout", type=positive_float, default=600.0, metavar="SECONDS", help="--wait: (600)")
    p.set_defaults(handler=_mass)
