"""``calypso invoices create|get``: bill a customer in crypto and look the invoice up again.

Why the idempotency key is shown: it is the invoice's lookup key and the key of its hosted payment link, so
support and scripts need it as much as the id; ``--idempotency-key`` lets a script re-run a create safely.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .._client import AsyncCalypso
from ._base import EXIT_OK, Context, UsageError, amount_arg, iso_datetime
from ._output import format_amount

if TYPE_CHECKING:
    from ..models import InvoiceDTO

__all__ = ["invoice_pairs", "register"]


def invoice_pairs(invoice: InvoiceDTO) -> list[tuple[str, Any]]:
    amount = None if invoice.amount is None else f"{format_amount(invoice.amount)} {invoice.currency or ''}".strip()
    fiat = None
    if invoice.fiat_amount is not None:
        fiat = f"{format_amount(invoice.fiat_amount)} {invoice.fiat_currency or ''}".strip()
    return [
        ("id", invoice.id),
        ("type", invoice.type),
        ("state", invoice.state),
        ("amount", amount),
        ("fiat amount", fiat),
        ("fee", None if invoice.fee is None else f"{format_amount(invoice.fee)} {invoice.currency or ''}".strip()),
        ("address", invoice.invoice_address),
        ("payment link", invoice.extra.get("paymentLink")),
        ("description", invoice.description),
        ("external id", invoice.external_id),
        ("created", invoice.created_date),
        ("expires", invoice.expiration),
        ("idempotency key", invoice.idempotency_key),
    ]


def _show(ctx: Context, invoice: InvoiceDTO) -> None:
    if ctx.json:
        ctx.print_json(invoice)
    else:
        ctx.kv(invoice_pairs(invoice))


def _create(ctx: Context) -> int:
    args = ctx.args
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        invoice = await client.invoices.create_single(
            amount=args.amount,
            currency=args.currency,
            description=args.description,
            idempotency_key=args.idempotency_key,
            expiration=args.expiration,
            external_id=args.external_id,
            return_url=args.return_url,
            account=account,
        )
        _show(ctx, invoice)
        return EXIT_OK

    return ctx.run(work)


def _get(ctx: Context) -> int:
    args = ctx.args
    if (args.id is None) == (args.idempotency_key is None):
        raise UsageError("invoices get: give an invoice ID or --idempotency-key KEY (exactly one)")
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        invoice = await client.invoices.get(id=args.id, idempotency_key=args.idempotency_key, account=account)
        _show(ctx, invoice)
        return EXIT_OK

    return ctx.run(work)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "invoices",
        help="create and read invoices",
        description="Invoices: a customer pays an exact crypto amount to a fresh address.",
    )
    cmds = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = cmds.add_parser(
        "create",
        parents=[common],
        help="create a single invoice",
        description="Create a single invoice. Amounts are exact decimals. An idempotency key is generated "
        "unless given; it is printed (with the payment link) and finds the invoice again.",
    )
    p.add_argument("--amount", type=amount_arg, required=True, help="crypto amount the payer must send")
    p.add_argument("--currency", required=True, metavar="CODE", help="e.g. ETH, USDT_TRX")
    p.add_argument("--description", required=True, help="shown to the payer")
    p.add_argument("--external-id", metavar="REF", help="your own reference (echoed in webhooks)")
    p.add_argument("--expiration", type=iso_datetime, metavar="ISO-8601", help="custom expiry, less than 24 h from now")
    p.add_argument("--return-url", metavar="URL", help="where the payment page sends the payer afterwards")
    p.add_argument("--idempotency-key", metavar="UUID", help="reuse to make a repeated create safe")
    p.set_defaults(handler=_create)

    p = cmds.add_parser("get", parents=[common], help="read an invoice by id or idempotency key")
    p.add_argument("id", nargs="?", metavar="ID", help="invoice id")
    p.add_argument("--idempotency-key", metavar="UUID", help="find it by the key it was created with")
    p.set_defaults(handler=_get)
