"""Scheduling state of a poller: one record per watched account, one per worker, and the heap of due times.

A heap of ``(due, seq)`` feeds a fixed pool of workers, so 10,000 accounts cost a heap entry and a small record
each, not a task each. Accounts are split between shards by a stable hash (:func:`shard_of`), the same in every
process and after every restart (Python's own ``hash`` of a string is salted per process).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from decimal import Decimal
from hashlib import blake2b
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import AsyncCalypso

__all__ = ["shard_of"]


def shard_of(account: str, count: int) -> int:
    """The shard (``0 .. count - 1``) that ``account`` belongs to: a stable hash, the same in every process.

    >>> shard_of("0xc195f8a1d38b24e61f9f0c2a4e9d2b5a7d3e82f8b", 1)
    0
    """
    if count < 1:
        raise ValueError("count must be >= 1")
    digest = blake2b(account.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


class _Watch:
    """One watched account: schedule, backoff state and the latest balances."""

    __slots__ = (
        "account",
        "active",
        "balances",
        "client",
        "digest",
        "failures",
        "interval",
        "observed_at",
        "seq",
        "stored_version",
        "version",
    )

    def __init__(self, account: str, client: AsyncCalypso, interval: float) -> None:
        self.account = account
        self.client = client
        self.interval = interval
        self.failures = 0
        self.balances: dict[str, Decimal] | None = None
        self.digest: bytes | None = None
        """Digest of the answer body that gave ``balances`` (an identical answer is not decoded again)."""
        self.observed_at = 0.0
        self.active = True
        self.seq = -1
        """Sequence number of this watch's live heap entry (older entries are stale and skipped)."""
        self.version = 0
        """Changes of this account reported so far (stored or not): part of each change's ``dedup_key``."""
        self.stored_version = -1
        """Version of the snapshot last handed to the store (-1: none)."""


class _Worker:
    """One worker task and what the watchdog needs to know about it."""

    __slots__ = ("busy_since", "task", "timed_out")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.busy_since = 0.0
        """Loop time the current ``account.get`` started (0.0: not in one)."""
        self.timed_out = False


class _Schedule:
    """Due times of the watched accounts: a heap of ``(due, seq)`` and ``seq -> watch``.

    No object reference in the heap's tuples, so the garbage collector untracks them: 10,000 of them are never
    traversed by a collection. Re-scheduling a watch pushes a new entry; the old one goes stale (its ``seq`` no
    longer matches) and is skipped when it surfaces.
    """

    __slots__ = ("heap", "queued", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int]] = []
        self.queued: dict[int, _Watch] = {}
        self.seq = itertools.count()

    def push(self, watch: _Watch, due: float) -> None:
        seq = next(self.seq)
        watch.seq = seq
        self.queued[seq] = watch
        heapq.heappush(self.heap, (due, seq))

    def next_due(self) -> float | None:
        """Due time of the earliest live entry (stale entries of removed accounts are dropped on the way)."""
        heap = self.heap
        queued = self.queued
        while heap:
            due, seq = heap[0]
            watch = queued.get(seq)
            if watch is not None and watch.active and watch.seq == seq:
                return due
            heapq.heappop(heap)
            queued.pop(seq, None)
        return None

    def pop_due(self, horizon: float) -> tuple[_Watch, float] | None:
        """The earliest live watch due by ``horizon`` and its due time, taken off the schedule; else ``None``."""
        heap = self.heap
        queued = self.queued
        while heap:
            due, seq = heap[0]
            if due > horizon:
                return None
            heapq.heappop(heap)
            watch = queued.pop(seq, None)
            if watch is None or not watch.active or watch.seq != seq:
                continue  # removed while waiting
            watch.seq = -1
            return watch, due
        return None
