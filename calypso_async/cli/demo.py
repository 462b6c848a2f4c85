"""``calypso demo``: the README's tour of the main flows against the embedded fake server.

Why a command: it is the quickest proof that an installation works — no credentials, no network. The async
package knows nothing of the sync one, so the installed ``calypso`` command (``calypso_sync.cli``) hands the sync
facade's turn in as ``main(demo_then=...)``; ``python -m calypso_async.cli demo`` runs the async tour alone.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._base import EXIT_OK, Context

__all__ = ["register"]


def _demo(ctx: Context) -> int:
    from .. import demo

    ctx.stdout.flush()
    demo.main(then=getattr(ctx.args, "demo_then", None))
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
