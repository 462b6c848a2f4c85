"""``calypso``: the command line for Calypso Pay, built on the async SDK.

Why a CLI in the SDK: the first questions with new keys ("do they work? what is my balance? does my webhook
endpoint verify?") and the occasional operation (one payout, an export for accounting) should not need a
script. Everything goes through the same client, signing, clock and retry code as the SDK, so the CLI is also
a faithful way to reproduce what an integration sees. Standard library only (argparse): the ``cli`` extra adds
no dependency.

>>> main(["balances", "--json"])  # doctest: +SKIP
0

Commands: ``demo``, ``fake-server``, ``whoami``, ``balances``, ``invoices create|get``,
``payouts create|get|mass``, ``exchange quote|create|get``, ``purse transactions``, ``raw``,
``webhooks verify|listen``, ``completion bash|zsh|fish``. Credentials: see :mod:`calypso_async.cli._profiles`.
Exit codes: see :mod:`calypso_async.cli._base` (0 ok, 1 API error, 2 usage/config, 3 connection/timeout, 4 outcome
unknown, 5 webhook signature invalid, 130 interrupted). ``docs/cli.md`` has an example of each command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from .._version import __version__
from . import account, completion, demo, exchange, fake_server, invoices, payouts, purse, raw, webhooks
from ._base import (
    EXIT_API_ERROR,
    EXIT_BAD_SIGNATURE,
    EXIT_CONNECTION,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_USAGE,
    Context,
    configure_logging,
    non_negative_int,
    positive_float,
    report,
)

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_BAD_SIGNATURE",
    "EXIT_CONNECTION",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUTCOME_UNKNOWN",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

_EPILOG = """\
credentials: CALYPSO_API_KEY, CALYPSO_SECRET_KEY, CALYPSO_ACCOUNT, CALYPSO_BASE_URL, or --profile NAME
(CALYPSO_PROFILE) from ~/.config/calypso/config.ini ($CALYPSO_CONFIG).

exit codes: 0 ok, 1 API error, 2 usage/config error (nothing sent), 3 connection/timeout,
4 outcome unknown, 5 webhook signature invalid, 130 interrupted.
"""


def _common() -> argparse.ArgumentParser:
    """Options every command accepts, before or after the command name (defaults are SUPPRESSed so that
    a value given before the command is not reset by the command's own parser)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    s = argparse.SUPPRESS
    group.add_argument("--profile", default=s, metavar="NAME", help="credentials profile from the config file")
    group.add_argument(
        "--account", action="append", default=s, metavar="ID", help="account to act on (default: configured)"
    )
    group.add_argument("--base-url", default=s, metavar="URL", help="API base URL (default: configured)")
    group.add_argument("--json", action="store_true", default=s, help="machine-readable JSON (exact decimals)")
    group.add_argument("--timeout", type=positive_float, default=s, metavar="SECONDS", help="per attempt (default 30)")
    group.add_argument(
        "--max-retries", type=non_negative_int, default=s, metavar="N", help="retries after the first attempt (2)"
    )
    group.add_argument("--quiet", "-q", action="store_true", default=s, help="no progress or notes on stderr")
    group.add_argument("--debug", action="store_true", default=s, help="debug logs and full tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree (``calypso --help``)."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="calypso",
        description="Calypso Pay from the command line: balances, invoices, payouts, exchange, exports, "
        "webhooks, and a local fake server.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", "-V", action="version", version=f"calypso {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (demo, fake_server, account, invoices, payouts, exchange, purse, raw, webhooks, completion):
        module.register(sub, common)
    return parser


def _discard_stdout() -> None:
    """Point the real stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout): nothing to protect
        pass


def main(argv: Sequence[str] | None = None, *, demo_then: Callable[[], None] | None = None) -> int:
    """Run one command; returns its exit code (never raises, except for ``SystemExit`` from ``--help``).

    ``demo_then`` runs after the async part of ``calypso demo``: the installed command passes the sync
    facade's turn (``calypso_sync.cli``), since this package never imports the sync one.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2): argparse has printed them
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.demo_then = demo_then
    debug = bool(getattr(args, "debug", False))
    restore = configure_logging(debug, sys.stderr)
    try:
        code: int = args.handler(Context(args))
        return code
    except BrokenPipeError:  # `calypso ... | head`: the reader has all it wanted
        _discard_stdout()
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc, sys.stderr, debug=debug)
    finally:
        restore()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):  # stdout closed early (`| head`): nothing left to show
            pass
