"""``calypso purse transactions [--all] [--csv]``: customer-purse deposit history, one page or all of it.

Why ``--all --csv``: accounting wants the whole history in a spreadsheet. ``--all`` walks the pages with the
SDK's lazy auto-pager (``client.customer_purse.iter_transactions``), writing each row as it arrives, so a
long export streams in constant memory and shows progress on stderr while stdout stays a clean CSV (or JSON
lines with ``--json``). Amounts are written exactly as Calypso sent them.
"""

from __future__ import annotations

import argparse
import csv
from typing import TYPE_CHECKING, Any

from .._client import AsyncCalypso
from ._base import EXIT_OK, Context, non_negative_int, positive_int
from ._output import dumps_json_line, format_value, render_table

if TYPE_CHECKING:
    from ..models import PGTransactionDTO

__all__ = ["CSV_COLUMNS", "register"]

CSV_COLUMNS = (
    ("id", "id"),
    ("createdDate", "created_date"),
    ("currency", "currency"),
    ("amount", "amount"),
    ("transactionState", "transaction_state"),
    ("complianceState", "compliance_state"),
    ("translationToAccountCompleted", "translation_to_account_completed"),
    ("addressFrom", "address_from"),
    ("transactionHash", "transaction_hash"),
)
"""CSV header (wire names, so the file matches the API docs) and the model attribute behind each column."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return format_value(value)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"customer_id": args.customer}
    if args.currency:
        options["currency_filter"] = {"in": [c.upper() for c in args.currency]}
    if args.state:
        options["transaction_state_filter"] = {"in": [s.upper() for s in args.state]}
    return options


class _Sink:
    """Where rows go: CSV, JSON lines, or a table (collected, then printed)."""

    def __init__(self, ctx: Context, *, csv_out: bool) -> None:
        self.ctx = ctx
        self.csv = csv.writer(ctx.stdout, lineterminator="\n") if csv_out else None
        self.rows: list[list[Any]] = []
        if self.csv is not None:
            self.csv.writerow([wire for wire, _ in CSV_COLUMNS])

    def add(self, tx: PGTransactionDTO) -> None:
        if self.csv is not None:
            self.csv.writerow([_cell(getattr(tx, attr)) for _, attr in CSV_COLUMNS])
        elif self.ctx.json:
            self.ctx.print(dumps_json_line(tx))
        else:
            self.rows.append([tx.created_date, tx.currency, tx.amount, tx.transaction_state, tx.id])

    def finish(self) -> None:
        if self.csv is None and not self.ctx.json:
            if self.rows:
                self.ctx.lines(render_table(["CREATED", "CURRENCY", "AMOUNT", "STATE", "ID"], self.rows))
            else:
                self.ctx.print("no transactions")
        self.ctx.stdout.flush()


def _transactions(ctx: Context) -> int:
    args = ctx.args
    account = ctx.single_account()
    filters = _filters(args)

    async def work(client: AsyncCalypso) -> int:
        sink = _Sink(ctx, csv_out=args.csv)
        if not args.all:
            page = await client.customer_purse.find_transactions(
                page_number=args.page, page_size=args.page_size, account=account, **filters
            )
            if ctx.json and not args.csv:
                ctx.print_json(page)
                return EXIT_OK
            for tx in page.result or []:
                sink.add(tx)
            sink.finish()
            if page.total_elements is not None:
                shown = len(page.result or [])
                ctx.note(f"page {args.page}: {shown} of {page.total_elements} transaction(s); --all for every page")
            return EXIT_OK
        progress = ctx.progress()
        count = 0
        size: int = args.page_size
        async for tx in client.customer_purse.iter_transactions(page_size=size, account=account, **filters):
            sink.add(tx)
            count += 1
            if count % size == 0:
                progress.update(f"exported {count} transaction(s) ({count // size} page(s))…")
        sink.finish()
        progress.done(f"exported {count} transaction(s)")
        return EXIT_OK

    return ctx.run(work)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser(
        "purse",
        help="customer purses: deposit history and exports",
        description="Customer purses: per-customer deposit addresses and their transactions.",
    )
    cmds = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = cmds.add_parser(
        "transactions",
        parents=[common],
        help="deposit transactions; --all --csv exports every page",
        description="List customer-purse transactions: one page, or with --all every page (auto-paging, "
        "progress on stderr). --csv writes CSV to stdout; --json one JSON object per line with --all.",
    )
    p.add_argument("--customer", metavar="ID", help="only this customer's transactions")
    p.add_argument("--currency", action="append", metavar="CODE", help="only this currency (repeatable)")
    p.add_argument("--state", action="append", metavar="STATE", help="only this transactionState (repeatable)")
    p.add_argument("--all", action="store_true", help="every page, streamed")
    p.add_argument("--csv", action="store_true", help="CSV on stdout (header: the API's field names)")
    p.add_argument("--page", type=non_negative_int, default=0, metavar="N", help="page number without --all (0)")
    p.add_argument("--page-size", type=positive_int, default=100, metavar="N", help="items per page, 1..1000 (100)")
    p.set_defaults(handler=_transactions)
