"""Standalone fake server: ``python -m calypso_async.testing --port 8080 --seed 0``.

Why: to try the SDK, the README demo or another language's client against a local Calypso without keys or
network. Prints the base URL, keys and accounts, then serves until Ctrl-C (or SIGTERM). The unsigned control
endpoints under ``/_fake/`` (pay an invoice, advance payouts, set a balance, inject faults, flush webhooks) answer
while it is bound to loopback; ``--control on`` enables them on any interface, ``--control off`` disables them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from . import _control
from ._server import FakeCalypso


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m calypso_async.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 = any free port; default 8080)")
    parser.add_argument("--seed", type=int, default=0, help="seed of keys, accounts and data (default 0)")
    parser.add_argument("--skew", type=float, default=0.0, help="seconds the server clock runs ahead")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added before each answer")
    parser.add_argument(
        "--control",
        choices=("auto", "on", "off"),
        default="auto",
        help="control endpoints under /_fake/ (auto: only when bound to loopback; default auto)",
    )
    return parser


CONTROL = {"auto": None, "on": True, "off": False}


async def _serve(args: argparse.Namespace) -> None:
    server = FakeCalypso(seed=args.seed, skew=args.skew, latency=args.latency)
    control = CONTROL[args.control]
    await server.start(args.host, args.port, control=control)
    print(f"Fake Calypso serving at {server.base_url}")
    print(f"CALYPSO_BASE_URL={server.base_url}")
    print(f"CALYPSO_API_KEY={server.api_key}")
    print(f"CALYPSO_SECRET_KEY={server.secret_key}")
    print(f"CALYPSO_ACCOUNT={server.account_id}")
    print("accounts: " + ", ".join(server.accounts))
    if control or (control is None and _control.is_loopback(args.host)):
        print(f"control: {server.base_url}{_control.CONTROL_PREFIX}/ (see docs/testing.md)")
    print("Ctrl-C to stop", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
