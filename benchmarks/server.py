"""Canned-response HTTP/1.1 server for the benchmarks: ``python -m benchmarks.server --port 0``.

It answers ``POST /api/v1/account`` with a realistic Account API body (eight balances, 18-decimal amounts) and a
current ``Date`` header, keeps connections alive, and does as little as possible per request (a bare asyncio
protocol, no framework) so that the *client* is what the benchmarks measure. It does not check signatures: the
SDK's own tests and the fake server do that.

Prints ``PORT <n>`` once listening, and exits when its stdin closes (so it never outlives the benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from email.utils import formatdate

from benchmarks._common import ACCOUNT_BODY, ACCOUNT_PATH

_NOT_FOUND = b'{"errorCode":"404","message":"no such path in the benchmark server"}'


class _Answers:
    """Complete response bytes, rebuilt once a second (the ``Date`` header changes)."""

    def __init__(self) -> None:
        self._second = -1
        self._ok = b""
        self._missing = b""

    def _build(self, status: bytes, body: bytes, date: str) -> bytes:
        return (
            b"HTTP/1.1 " + status + b"\r\n"
            b"Date: " + date.encode("ascii") + b"\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"X-Trace-Id: 3f1d0a7e9c2b4d6f\r\n"
            b"\r\n" + body
        )

    def get(self, path: bytes) -> bytes:
        now = int(time.time())
        if now != self._second:
            date = formatdate(now, usegmt=True)
            self._ok = self._build(b"200 OK", ACCOUNT_BODY, date)
            self._missing = self._build(b"404 Not Found", _NOT_FOUND, date)
            self._second = now
        return self._ok if path == _PATH else self._missing


_PATH = ACCOUNT_PATH.encode("ascii")
_ANSWERS = _Answers()


class _Http(asyncio.Protocol):
    __slots__ = ("_buf", "_transport")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        transport = self._transport
        assert transport is not None
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
            path = head.split(b" ", 2)[1]
            transport.write(_ANSWERS.get(path.split(b"?", 1)[0]))
            if b"\r\nconnection: close" in head:
                transport.close()
                return


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", port, backlog=2048, reuse_address=True)
    sock_port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {sock_port}\n")
    sys.stdout.flush()
    done = asyncio.Event()

    def wait_for_eof() -> None:
        sys.stdin.buffer.read()  # returns when the parent closes our stdin (or dies)
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    async with server:
        await done.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
