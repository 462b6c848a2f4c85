"""``calypso demo``: the README's tour of the main flows against the embedded fake server.

Why a command: it is the quickest proof that an installation works — no credentials, no network — and it is
the same tour as ``python -m calypso_sync.demo``: :mod:`calypso_async.demo`'s async flows, then the sync facade.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._base import EXIT_OK, Context

__all__ = ["register"]


def _demo(ctx: Context) -> int:
    # The CLI is the layer that may use both packages: the async tour, then calypso_sync's turn.
    from calypso_sync import demo

    ctx.stdout.flush()
    demo.main()
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="tour of the main flows against the embedded fake server (no credentials)",
        description="Run the README's tour: balances, an invoice paid, a payout surviving a dropped connection, "
        "an exchange, clock skew and retries, all against an embedded fake Calypso server.",
    )
    p.set_defaults(handler=_demo)
