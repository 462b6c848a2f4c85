"""``calypso whoami`` and ``calypso balances [--account ...] [--watch]``.

Why ``whoami`` first: the first thing to check with new keys is which user, company and accounts they reach,
and where the CLI took them from (environment or which profile) — shown with the API key masked, never the
secret. ``balances`` is the everyday read; ``--watch`` turns it into a live table driven by the SDK's
:class:`~calypso_async.poller.BalancePoller` (Calypso has no balance webhook, so polling is how money arriving
is noticed), and ``--max-changes 1`` makes "wait until the deposit lands" a one-liner for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as _dt
import shutil
import signal
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._client import AsyncCalypso
from ._base import EXIT_INTERRUPTED, EXIT_OK, Context, describe_error, non_negative_int, positive_float
from ._output import dumps_json_line, format_amount, render_table

if TYPE_CHECKING:
    from ..models import AccountResponseDTO
    from ..poller import BalanceChange, PollError

__all__ = ["register"]


# --------------------------------------------------------------------------------------------- whoami


def _whoami(ctx: Context) -> int:
    creds = ctx.credentials()

    async def work(client: AsyncCalypso) -> int:
        me = await client.user.current()
        user = me.user_full_info
        groups: dict[str, list[str]] = {}
        for perm in me.permissions or []:
            groups[perm.account_id or ""] = [g.name or "?" for g in perm.permission_groups or []]
        if ctx.json:
            ctx.print_json(
                {
                    "apiKey": creds.masked_key,
                    "credentials": creds.source,
                    "baseUrl": creds.base_url,
                    "defaultAccount": creds.account,
                    "user": me,
                }
            )
            return EXIT_OK
        who = None
        if user is not None:
            who = user.username or user.id
            if user.company_name:
                who = f"{who} ({user.company_name})"
        ctx.kv(
            [
                ("user", who),
                ("roles", [str(r) for r in user.roles or []] if user is not None else None),
                ("api key", creds.masked_key),
                ("credentials", creds.source),
                ("base url", creds.base_url),
                ("default account", creds.account or "none (pass --account)"),
            ]
        )
        accounts = me.available_accounts or []
        if accounts:
            ctx.print()
            rows = [
                [
                    ("* " if a.account == creds.account else "  ") + (a.account or "?"),
                    a.name,
                    ", ".join(groups.get(a.account or "", [])) or "-",
                ]
                for a in accounts
            ]
            ctx.table(["  ACCOUNT", "NAME", "PERMISSIONS"], rows)
        return EXIT_OK

    return ctx.run(work)


# ------------------------------------------------------------------------------------------- balances


def _rows(snapshots: dict[str, dict[str, Decimal]], names: dict[str, str | None], several: bool) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for account, balances in snapshots.items():
        for currency, amount in balances.items():
            row: list[Any] = [currency, amount]
            if several:
                row = [account, names.get(account), *row]
            rows.append(row)
    return rows


def _headers(several: bool) -> list[str]:
    return (["ACCOUNT", "NAME"] if several else []) + ["CURRENCY", "AMOUNT"]


def _as_map(answer: AccountResponseDTO) -> dict[str, Decimal]:
    return {b.currency: b.amount for b in answer.balances or [] if b.currency is not None and b.amount is not None}


async def _fetch(client: AsyncCalypso, accounts: list[str]) -> list[AccountResponseDTO]:
    if not accounts:
        return [await client.account.get()]
    return list(await asyncio.gather(*(client.account.get(account=a) for a in accounts)))


def _balances(ctx: Context) -> int:
    args = ctx.args
    ctx.credentials()
    if args.watch:
        return _watch(ctx)
    currencies = {c.upper() for c in args.currency or []}

    async def work(client: AsyncCalypso) -> int:
        answers = await _fetch(client, ctx.accounts())
        snapshots = {a.account or "?": _filter(_as_map(a), currencies) for a in answers}
        names = {a.account or "?": a.name for a in answers}
        if ctx.json:
            ctx.print_json(
                [
                    {
                        "account": a.account,
                        "name": a.name,
                        "balances": [{"currency": c, "amount": v} for c, v in snapshots[a.account or "?"].items()],
                    }
                    for a in answers
                ]
            )
            return EXIT_OK
        several = len(answers) > 1
        if not several:
            only = answers[0]
            ctx.print(f"Account {only.account}" + (f" ({only.name})" if only.name else ""))
        ctx.table(_headers(several), _rows(snapshots, names, several))
        return EXIT_OK

    return ctx.run(work)


def _filter(balances: dict[str, Decimal], currencies: set[str]) -> dict[str, Decimal]:
    if not currencies:
        return balances
    return {c: v for c, v in balances.items() if c.upper() in currencies}


class _Watcher:
    """Keeps the displayed table and turns poller events into redraws (terminal) or lines (pipes, --json)."""

    def __init__(self, ctx: Context, answers: list[AccountResponseDTO], currencies: set[str]) -> None:
        self.ctx = ctx
        self.currencies = currencies
        self.snapshots = {a.account or "?": _filter(_as_map(a), currencies) for a in answers}
        self.names = {a.account or "?": a.name for a in answers}
        self.last: dict[tuple[str, str], Decimal] = {}
        self.changes = 0
        self.tty = ctx.is_tty(ctx.stdout) and not ctx.json
        self.drawn = 0  # terminal rows of the frame on screen
        self.updated = _dt.datetime.now(_dt.timezone.utc)
        self.errors: dict[str, str] = {}

    def start(self, interval: float) -> None:
        ctx = self.ctx
        if ctx.json:
            for account, balances in self.snapshots.items():
                ctx.print(
                    dumps_json_line(
                        {
                            "event": "snapshot",
                            "account": account,
                            "balances": [{"currency": c, "amount": v} for c, v in balances.items()],
                        }
                    )
                )
            ctx.stdout.flush()
        elif self.tty:
            self.redraw(interval)
        else:
            several = len(self.snapshots) > 1
            if not several:
                account = next(iter(self.snapshots))
                name = self.names.get(account)
                ctx.print(f"Account {account}" + (f" ({name})" if name else ""))
            ctx.lines(render_table(_headers(several), _rows(self.snapshots, self.names, several)))
            ctx.note(f"watching {len(self.snapshots)} account(s) every {interval:g} s; Ctrl-C to stop")
            ctx.stdout.flush()

    def redraw(self, interval: float) -> None:
        ctx = self.ctx
        several = len(self.snapshots) > 1
        rows = []
        for row in _rows(self.snapshots, self.names, several):
            account = row[0] if several else next(iter(self.snapshots))
            delta = self.last.get((account, row[-2]))
            rows.append([*row, None if delta is None else _signed(delta)])
        out = render_table([*_headers(several), "LAST CHANGE"], rows)
        out.append("")
        stamp = self.updated.strftime("%H:%M:%S")
        out.append(
            f"{len(self.snapshots)} account(s), polled every {interval:g} s; {self.changes} change(s); "
            f"updated {stamp} UTC; Ctrl-C to stop"
        )
        for account, error in self.errors.items():
            out.append(f"! {account}: {error}")
        # Redraw in place: back up over the previous frame and clear below it. Never clear the screen or
        # switch buffers, so what was on the terminal before the watch stays, and the last frame remains.
        prefix = f"\r\x1b[{self.drawn}A\x1b[J" if self.drawn else ""
        ctx.stdout.write(prefix + "\n".join(out) + "\n")
        ctx.stdout.flush()
        width = max(1, shutil.get_terminal_size().columns)
        self.drawn = sum(max(1, -(-len(line) // width)) for line in out)  # wrapped lines take several rows

    def change(self, event: BalanceChange, interval: float) -> bool:
        """Apply one poller event; True when the displayed balance really changed."""
        if event.account not in self.snapshots:
            return False
        if self.currencies and event.currency.upper() not in self.currencies:
            return False
        balances = self.snapshots[event.account]
        before = balances.get(event.currency)
        if before == event.new:
            return False
        if event.new is None:
            balances.pop(event.currency, None)
        else:
            balances[event.currency] = event.new
        delta = (event.new or Decimal(0)) - (before or Decimal(0))
        self.last[(event.account, event.currency)] = delta
        self.changes += 1
        self.updated = event.observed_at
        self.errors.pop(event.account, None)
        ctx = self.ctx
        if ctx.json:
            ctx.print(
                dumps_json_line(
                    {
                        "event": "change",
                        "account": event.account,
                        "currency": event.currency,
                        "previous": before,
                        "new": event.new,
                        "delta": delta,
                        "observedAt": event.observed_at.isoformat(),
                    }
                )
            )
        elif self.tty:
            self.redraw(interval)
        else:
            when = event.observed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            was = "-" if before is None else format_amount(before)
            now = "-" if event.new is None else format_amount(event.new)
            ctx.print(f"{when}  {event.account}  {event.currency}  {was} -> {now}  ({_signed(delta)})")
        ctx.stdout.flush()
        return True

    def error(self, event: PollError, interval: float) -> None:
        text = f"{describe_error(event.error)}; next try in {event.retry_in:.1f} s"
        self.errors[event.account] = text
        if self.tty:
            self.redraw(interval)
        else:
            self.ctx.warn(f"polling {event.account} failed: {text}")


def _signed(delta: Decimal) -> str:
    text = format_amount(delta)
    return text if text.startswith("-") else "+" + text


def _watch(ctx: Context) -> int:
    args = ctx.args
    interval: float = args.interval
    currencies = {c.upper() for c in args.currency or []}

    async def work(client: AsyncCalypso) -> int:
        answers = await _fetch(client, ctx.accounts())  # fail fast (bad keys, unknown account) with an exit code
        watcher = _Watcher(ctx, answers, currencies)
        watcher.start(interval)
        stop = asyncio.Event()
        signalled: list[int] = []
        loop = asyncio.get_running_loop()
        handled: list[int] = []

        def on_signal(number: int) -> None:
            signalled.append(number)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C is how a watch ends: stop cleanly, no traceback
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal, int(sig))
                handled.append(int(sig))
        from ..poller import BalancePoller, PollError  # loaded by --watch only, not by every command

        poller = BalancePoller(
            client,
            [a.account or "" for a in answers],
            interval=interval,
            timeout=ctx.opt("timeout") or 10.0,
            emit_initial=True,  # compared with the table already shown: only real differences count
        )
        stream = poller.events()
        stopper = asyncio.ensure_future(stop.wait())
        nxt: asyncio.Future[Any] | None = None
        try:
            await poller.start()
            async with stream:
                while True:
                    nxt = asyncio.ensure_future(stream.__anext__())
                    done, _ = await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if nxt not in done:
                        break
                    try:
                        event = nxt.result()
                    except StopAsyncIteration:
                        break
                    finally:
                        if nxt.done():
                            nxt = None
                    if isinstance(event, PollError):
                        watcher.error(event, interval)
                        continue
                    if watcher.change(event, interval) and args.max_changes and watcher.changes >= args.max_changes:
                        break
        finally:
            for pending in (nxt, stopper):  # never leave a task behind ("Task exception was never retrieved")
                if pending is not None and not pending.done():
                    pending.cancel()
                if pending is not None:
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await pending
            await poller.stop()
            for number in handled:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(number)
        if signal.SIGINT in signalled:
            return EXIT_INTERRUPTED
        return EXIT_OK

    return ctx.run(work)


# ------------------------------------------------------------------------------------------- register


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "whoami",
        parents=[common],
        help="the user, company and accounts your keys reach (and where the keys came from)",
        description="Show the user behind the API key, its accounts and permissions, and where the credentials "
        "came from. The API key is shown masked; the secret never.",
    )
    p.set_defaults(handler=_whoami)

    p = sub.add_parser(
        "balances",
        parents=[common],
        help="balances of one or more accounts; --watch for a live table",
        description="Balances as exact decimals. Repeat --account for several accounts (default: the "
        "configured account). --watch polls with the SDK's BalancePoller and shows changes as they come.",
    )
    p.add_argument("--currency", action="append", metavar="CODE", help="only this currency (repeatable)")
    p.add_argument("--watch", "-w", action="store_true", help="keep polling and show changes (Ctrl-C to stop)")
    p.add_argument(
        "--interval", type=positive_float, default=5.0, metavar="SECONDS", help="--watch: seconds between polls (5)"
    )
    p.add_argument(
        "--max-changes",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="--watch: exit 0 after N balance changes (1 = wait for the next deposit); 0 = never",
    )
    p.set_defaults(handler=_balances)
