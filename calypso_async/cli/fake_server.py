"""``calypso fake-server``: the fake Calypso server, standalone, for your own integration tests.

Why through the CLI: test suites in other languages, docker-compose setups and the ``webhooks listen``
receiver all want a local Calypso that checks signatures and keeps state. This is exactly
``python -m calypso_async.testing`` (same options, same output: the base URL, the keys and accounts it accepts
as ``CALYPSO_*=`` lines ready for ``export``), reached under the one ``calypso`` command. The keys it prints are
the fake server's own, derived from ``--seed``: they open nothing real. It serves until Ctrl-C or SIGTERM and
then exits 0.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from ._base import Context, non_negative_int

__all__ = ["register"]


def _fake_server(ctx: Context) -> int:
    args = ctx.args
    serve = importlib.import_module("calypso_async.testing.__main__")
    argv = [
        "--host", args.host,
        "--port", str(args.port),
        "--seed", str(args.seed),
        "--skew", repr(args.skew),
        "--latency", repr(args.latency),
    ]  # fmt: skip
    ctx.stdout.flush()
    code: int = serve.main(argv)
    return code


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "fake-server",
        parents=[common],
        help="run the fake Calypso server standalone (prints its keys and accounts)",
        description="Serve the fake Calypso server (signatures, ±3-minute timestamps, seeded state) until Ctrl-C. "
        "Prints CALYPSO_BASE_URL, CALYPSO_API_KEY, CALYPSO_SECRET_KEY and CALYPSO_ACCOUNT lines for it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    p.add_argument("--port", type=non_negative_int, default=8080, help="port (8080; 0 = any free port)")
    p.add_argument("--seed", type=int, default=0, help="seed of keys, accounts and data (0)")
    p.add_argument("--skew", type=float, default=0.0, metavar="SECONDS", help="server clock runs this far ahead")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added before every answer")
    p.set_defaults(handler=_fake_server)
