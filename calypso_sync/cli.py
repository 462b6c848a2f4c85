"""The installed ``calypso`` command: calypso_async's command line, plus the sync facade's turn in ``calypso demo``.

Why here: the async package never imports the sync one, so the console script lives on this side and hands the
sync turn to the async CLI. Every other command is calypso_async's own (``python -m calypso_async.cli`` runs the
same commands, its demo without the sync turn).

>>> main(["--version"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def _sync_turn() -> None:
    from .demo import sync_turn  # loaded by `calypso demo` only, not by every command

    sync_turn()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``calypso`` command; returns its exit code."""
    from calypso_async.cli import main as cli_main

    return cli_main(argv, demo_then=_sync_turn)


if __name__ == "__main__":
    import sys

    sys.exit(main())
