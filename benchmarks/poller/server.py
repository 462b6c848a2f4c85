"""Canned ``account.get`` server with added latency: ``python -m benchmarks.poller.server --latency 0.05``.

Why not the shared canned server (:mod:`benchmarks.server`): the poller benchmark needs every answer to take a
fixed time (the latency is the bound the poller is measured against), and it must not cost the server CPU: a
bare asyncio protocol answers each request with ``loop.call_later(latency, ...)`` (no task, no framework, no
signature check), so one core serves thousands of requests per second. The body is the shared realistic
Account answer (eight 18-decimal balances) with a current ``Date`` header.

Prints ``PORT <n>`` once listening; exits when its stdin closes (it never outlives the benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from email.utils import formatdate

from benchmarks._common import ACCOUNT_BODY

_OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nDate: "


class _Answer:
    """The full response bytes, rebuilt once a second (the ``Date`` header changes)."""

    second = -1
    data = b""

    @classmethod
    def get(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.data = (
                (_OK_HEAD % len(ACCOUNT_BODY)) + formatdate(now, usegmt=True).encode() + b"\r\n\r\n" + ACCOUNT_BODY
            )
        return cls.data


class _Http(asyncio.Protocol):
    latency = 0.05

    def __init__(self) -> None:
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def _answer(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_Answer.get())

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 17)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                return
            del buf[:total]
            self._loop.call_later(self.latency, self._answer)


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", port, backlog=4096, reuse_address=True)
    sys.stdout.write(f"PORT {server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    done = asyncio.Event()

    def wait_for_eof() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    async with server:
        await done.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    _Http.latency = args.latency
    asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
