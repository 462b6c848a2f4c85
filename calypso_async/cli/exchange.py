"""``calypso exchange quote|create|get``: convert between currencies inside the merchant account.

Why ``create`` is treated with extra care: Calypso's exchange has no idempotency key, so the SDK never retries
it after the request may have arrived; such a failure exits 4 ("outcome unknown") with advice to check the
balances before trying again. ``quote`` first shows what the exchange would give, and ``create`` asks for
confirmation unless ``--yes``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .._client import AsyncCalypso
from .._errors import CalypsoError, OutcomeUnknownError
from ._base import EXIT_OK, Context, UsageError, amount_arg, set_hint
from ._output import format_amount

if TYPE_CHECKING:
    from ..models import ExchangeDTO

__all__ = ["register"]


def _exchange_pairs(ex: ExchangeDTO) -> list[tuple[str, Any]]:
    def money(amount: Any, currency: str | None) -> str | None:
        return None if amount is None else f"{format_amount(amount)} {currency or ''}".strip()

    return [
        ("id", ex.id),
        ("state", ex.state),
        ("sold", money(ex.source_amount, ex.source_currency)),
        ("bought", money(ex.destination_amount, ex.destination_currency)),
        ("account", ex.account),
        ("created", ex.created_date),
    ]


def _quote(ctx: Context) -> int:
    args = ctx.args
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        quote = await client.exchanges.pre_calculate(
            source_currency=args.source,
            destination_currency=args.destination,
            amount=args.amount,
            direction=args.direction,
            account=account,
        )
        if ctx.json:
            ctx.print_json(quote)
        else:
            ctx.kv(
                [
                    ("you give", f"{format_amount(args.amount)} {args.source}"),
                    ("you get", None if quote.amount is None else f"{format_amount(quote.amount)} {args.destination}"),
                    ("direction", args.direction),
                ]
            )
            ctx.note("a quote, not a promise: the rate is fixed only when the exchange is created")
        return EXIT_OK

    return ctx.run(work)


def _create(ctx: Context) -> int:
    args = ctx.args
    account = ctx.single_account() or ctx.credentials().account
    if not account:
        raise UsageError("no account to exchange in: pass --account or configure one")
    ctx.confirm(f"Exchange {format_amount(args.amount)} {args.source} into {args.destination} in account {account}?")

    async def work(client: AsyncCalypso) -> int:
        try:
            ex = await client.exchanges.create(
                source_currency=args.source,
                destination_currency=args.destination,
                amount=args.amount,
                account=account,
            )
        except CalypsoError as exc:
            if isinstance(exc, OutcomeUnknownError):
                set_hint(exc, "the exchange may have happened: compare `calypso balances` before trying again")
            raise
        if ctx.json:
            ctx.print_json(ex)
        else:
            ctx.kv(_exchange_pairs(ex))
        return EXIT_OK

    return ctx.run(work)


def _get(ctx: Context) -> int:
    args = ctx.args
    account = ctx.single_account()

    async def work(client: AsyncCalypso) -> int:
        ex = await client.exchanges.get(id=args.id, account=account)
        if ctx.json:
            ctx.print_json(ex)
        else:
            ctx.kv(_exchange_pairs(ex))
        return EXIT_OK

    return ctx.run(work)


def _pair_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, metavar="CODE", help="currency you give")
    p.add_argument("--to", dest="destination", required=True, metavar="CODE", help="currency you get")
    p.add_argument("--amount", type=amount_arg, required=True, help="exact decimal amount of --from")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "exchange",
        help="quote and execute currency exchanges",
        description="Crypto-to-crypto exchange inside the merchant account.",
    )
    cmds = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = cmds.add_parser("quote", parents=[common], help="what an exchange would give (moves nothing)")
    _pair_args(p)
    p.add_argument(
        "--direction",
        default="SOURCE",
        help="passed through to the API (SOURCE: --amount is what you give; the reference leaves the values open)",
    )
    p.set_defaults(handler=_quote)

    p = cmds.add_parser(
        "create",
        parents=[common],
        help="execute an exchange (asks first unless --yes)",
        description="Execute an exchange at once. It has no idempotency key: after an ambiguous failure the "
        "command exits 4 and you must check the balances before trying again.",
    )
    _pair_args(p)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=_create)

    p = cmds.add_parser("get", parents=[common], help="read an exchange by its numeric id")
    p.add_argument("id", type=int, metavar="ID")
    p.set_defaults(handler=_get)
