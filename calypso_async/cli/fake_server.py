"""``calypso fake-server``: the fake Calypso server, standalone, for your own integration tests.

Why through the CLI: test suites in other languages, docker-compose setups and the ``webhooks listen``
receiver all want a local Calypso that checks signatures and keeps state. This is exactly
``python -m calypso_async.testing`` (same options, same output: the base URL, the keys and accounts it accepts
as ``CALYPSO_*=`` lines ready for ``export``), reached under the one ``calypso`` command. The keys it prints are
the fake server's own, derived from ``--seed``: they open nothing real. It serves until Ctrl-C or SIGTERM and
then exits 0.

Its actions drive a running fake server through its unsigned control endpoints (``/_fake/...``), from a shell
or another language's test suite::

    calypso fake-server pay-invoice 1234 --url http://127.0.0.1:8080
    calypso fake-server advance-payouts --steps 1
    calypso fake-server set-balance USDT_TRX 1000
    calypso fake-server fault status --code 503 --path /api/v1/account --times 2
    calypso fake-server flush-webhooks

The server's URL comes from ``--url``, else ``--base-url``, else ``CALYPSO_BASE_URL``, else
``http://127.0.0.1:8080``. Each action prints the control endpoint's JSON answer; exit codes are the CLI's
(1: the server refused, 3: it could not be reached).
"""

from __future__ import annotations

import argparse
import importlib
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Any

from .. import _json
from ._base import EXIT_API_ERROR, EXIT_CONNECTION, EXIT_OK, Context, amount_arg, non_negative_int, positive_int

__all__ = ["register"]

DEFAULT_URL = "http://127.0.0.1:8080"


def _fake_server(ctx: Context) -> int:
    args = ctx.args
    serve = importlib.import_module("calypso_async.testing.__main__")
    argv = [
        "--host", args.host,
        "--port", str(args.port),
        "--seed", str(args.seed),
        "--skew", repr(args.skew),
        "--latency", repr(args.latency),
        "--control", args.control,
    ]  # fmt: skip
    ctx.stdout.flush()
    code: int = serve.main(argv)
    return code


# ----------------------------------------------------------------------------------- control actions


def _url(ctx: Context) -> str:
    given = ctx.opt("fake_url") or ctx.opt("base_url") or ctx.environ.get("CALYPSO_BASE_URL") or DEFAULT_URL
    return str(given).rstrip("/")


def _control(ctx: Context, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    """One control request; prints the JSON answer (exit 0) or one error line (exit 1 or 3)."""
    url = _url(ctx) + "/_fake" + path
    data = None if body is None else _json.dumps({k: v for k, v in body.items() if v is not None})
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local server: never via a proxy
    timeout = ctx.opt("timeout") or 60.0
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            message = str(_json.loads(raw).get("message"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            message = raw[:200].decode("utf-8", "replace") or exc.reason
        ctx.stderr.write(f"calypso: error: the fake server refused {method} {url}: HTTP {exc.code}: {message}\n")
        return EXIT_API_ERROR
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        ctx.stderr.write(
            f"calypso: error: cannot reach a fake server at {_url(ctx)} ({reason}); "
            "is `calypso fake-server` running there (--url)?\n"
        )
        return EXIT_CONNECTION
    ctx.print_json(_json.loads(answer) if answer.strip() else {})
    return EXIT_OK


def _state(ctx: Context) -> int:
    return _control(ctx, "GET", "/state")


def _pay_invoice(ctx: Context) -> int:
    a = ctx.args
    return _control(ctx, "POST", f"/invoices/{_segment(a.invoice)}/pay", {"amount": a.amount, "currency": a.currency})


def _advance_payouts(ctx: Context) -> int:
    a = ctx.args
    path = f"/payouts/{_segment(a.payout)}/advance" if a.payout else "/payouts/advance"
    return _control(ctx, "POST", path, {"steps": a.steps})


def _fail_payout(ctx: Context) -> int:
    a = ctx.args
    return _control(ctx, "POST", f"/payouts/{_segment(a.payout)}/fail", {"message": a.message})


def _set_balance(ctx: Context) -> int:
    a = ctx.args
    accounts = ctx.accounts()
    body = {"currency": a.currency, "amount": a.amount, "account": accounts[0] if accounts else None}
    return _control(ctx, "POST", "/balances", body)


_FAULT_OPTIONS = ("path", "code", "error_code", "message", "retry_after", "body", "content_type", "seconds", "times")


def _fault(ctx: Context) -> int:
    a = ctx.args
    body: dict[str, Any] = {"kind": a.kind.replace("-", "_")}
    for name in _FAULT_OPTIONS:
        value = getattr(a, f"fault_{name}", None)
        if value is not None:
            body[name] = value
    return _control(ctx, "POST", "/faults", body)


def _clear_faults(ctx: Context) -> int:
    return _control(ctx, "DELETE", "/faults")


def _flush_webhooks(ctx: Context) -> int:
    return _control(ctx, "POST", "/webhooks/flush", {"timeout": ctx.args.max_wait})


def _set_skew(ctx: Context) -> int:
    return _control(ctx, "POST", "/clock", {"skew": ctx.args.seconds})


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _decimal(text: str) -> Decimal:
    """argparse type: a signed decimal (a clock may run behind)."""
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _retry_after(text: str) -> int | Decimal | str:
    """argparse type: seconds (a number) or an HTTP date, as the Retry-After header takes."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return _decimal(text)
    except argparse.ArgumentTypeError:
        return text


def _register_actions(p: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(
        dest="fake_action",
        metavar="ACTION",
        title="actions on a running fake server (its /_fake/ control endpoints)",
    )
    url = argparse.ArgumentParser(add_help=False)
    url.add_argument(
        "--url", dest="fake_url", metavar="URL", help=f"the fake server (--base-url, CALYPSO_BASE_URL, {DEFAULT_URL})"
    )
    parents = [common, url]

    def action(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, parents=parents, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    action("state", _state, "show accounts with balances, object counts, pending faults and webhooks")

    pay = action("pay-invoice", _pay_invoice, "a customer pays an invoice (by id or idempotencyKey)")
    pay.add_argument("invoice", metavar="ID")
    pay.add_argument("--amount", type=amount_arg, help="amount paid (default: what is still due)")
    pay.add_argument("--currency", help="currency paid (default: the invoice's)")

    adv = action("advance-payouts", _advance_payouts, "move payouts along CREATED -> IN_PROGRESS -> COMPLETED")
    adv.add_argument("--steps", type=positive_int, help="state changes per payout (default: to the end)")
    adv.add_argument("--payout", metavar="ID", help="move only this payout (id or idempotencyKey)")

    fail = action("fail-payout", _fail_payout, "the network rejects a payout: FAILED, amount and fee refunded")
    fail.add_argument("payout", metavar="ID")
    fail.add_argument("--message", help="the withdrawal error message")

    bal = action("set-balance", _set_balance, "set a balance exactly (--account: which; default the first)")
    bal.add_argument("currency", metavar="CURRENCY")
    bal.add_argument("amount", metavar="AMOUNT", type=amount_arg)

    fault = action("fault", _fault, "queue a fault, as server.inject(path, Fault.<kind>(...)) does")
    fault.add_argument(
        "kind",
        metavar="KIND",
        help="status, html, delay, drop, drop_after_processing, malformed, empty, truncated, wrong_content_type, "
        "skew_jump",
    )
    fault.add_argument("--path", dest="fault_path", help='API path (e.g. /api/v1/account; default "*": any)')
    fault.add_argument("--code", dest="fault_code", type=int, help="HTTP status (status, html)")
    fault.add_argument("--error-code", dest="fault_error_code", help="errorCode of the error body (status)")
    fault.add_argument("--message", dest="fault_message", help="message of the error body (status)")
    fault.add_argument("--retry-after", dest="fault_retry_after", type=_retry_after, help="Retry-After (status)")
    fault.add_argument("--body", dest="fault_body", help="raw body to answer (status, malformed)")
    fault.add_argument("--content-type", dest="fault_content_type", help="(status, wrong_content_type)")
    fault.add_argument("--seconds", dest="fault_seconds", type=_decimal, help="(delay, skew_jump)")
    fault.add_argument("--times", dest="fault_times", type=positive_int, help="requests it applies to (1)")

    action("clear-faults", _clear_faults, "drop every queued fault")

    flush = action("flush-webhooks", _flush_webhooks, "deliver pending webhooks and wait for them")
    flush.add_argument("--max-wait", type=positive_int, default=30, metavar="SECONDS", help="give up after (30)")

    skew = action("set-skew", _set_skew, "set how many seconds the server clock runs ahead (negative: behind)")
    skew.add_argument("seconds", metavar="SECONDS", type=_decimal)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "fake-server",
        parents=[common],
        help="run the fake Calypso server standalone (prints its keys and accounts), or drive a running one",
        description="Serve the fake Calypso server (signatures, ±3-minute timestamps, seeded state) until Ctrl-C. "
        "Prints CALYPSO_BASE_URL, CALYPSO_API_KEY, CALYPSO_SECRET_KEY and CALYPSO_ACCOUNT lines for it. "
        "With an ACTION, drives a running fake server instead (see docs/testing.md).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    p.add_argument("--port", type=non_negative_int, default=8080, help="port (8080; 0 = any free port)")
    p.add_argument("--seed", type=int, default=0, help="seed of keys, accounts and data (0)")
    p.add_argument("--skew", type=float, default=0.0, metavar="SECONDS", help="server clock runs this far ahead")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added before every answer")
    p.add_argument(
        "--control",
        choices=("auto", "on", "off"),
        default="auto",
        help="control endpoints under /_fake/ (auto: only when bound to loopback)",
    )
    p.set_defaults(handler=_fake_server)
    _register_actions(p, common)
