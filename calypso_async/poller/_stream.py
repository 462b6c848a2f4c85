"""``EventStream``: one subscription to a poller's events, as a bounded async iterator.

Delivery: an event counts as delivered when the consumer asks for the next one (or closes the stream without an
error); only then may the poller store the change it reports (see :mod:`calypso_async.poller._store`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from ._events import PollerEvent

if TYPE_CHECKING:
    from ._poller import BalancePoller

__all__ = ["EventStream"]

Ack = Callable[[], None]


class EventStream:
    """Events of one :meth:`BalancePoller.events` subscription, as an async iterator; ends when the poller stops.

    >>> async with poller.events() as stream:  # doctest: +SKIP
    ...     async for event in stream: ...

    Holds at most ``maxsize`` unread events; beyond that the oldest is dropped (counted in ``dropped`` and in
    :attr:`PollerStats.events_dropped`, logged as a warning), so a slow or forgotten reader never stalls
    polling. Snapshots stay exact either way; a dropped change is not stored, so a persistent store reports it
    again after a restart. Need backpressure instead? Use an async ``on_change`` callback.
    """

    def __init__(self, poller: BalancePoller | None, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._poller = poller
        self._maxsize = maxsize
        self._items: deque[tuple[PollerEvent, Ack | None]] = deque()
        self._handed: Ack | None = None
        """Acknowledges the event last handed to the consumer, once it asks for the next one."""
        self._waiter: asyncio.Future[None] | None = None
        self._closed = poller is None
        self.dropped = 0
        """Events this stream dropped because it was full."""

    def _offer(self, event: PollerEvent, ack: Ack | None) -> bool:
        """Queue ``event``; ``ack`` is called once it is delivered. False if the stream takes no more events."""
        if self._closed:
            return False
        items = self._items
        if len(items) >= self._maxsize:
            items.popleft()  # its ack is never called: the change it carries stays unstored
            self.dropped += 1
            if self._poller is not None:
                self._poller._dropped(self)
        items.append((event, ack))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def _finish(self) -> None:
        """No more events will come (the poller stopped); what is queued can still be read."""
        self._closed = True
        self._poller = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _delivered(self) -> None:
        ack = self._handed
        if ack is not None:
            self._handed = None
            ack()

    def _undeliver(self) -> None:
        """The event last handed out was not delivered after all (a sync callback raised): never acknowledge it."""
        self._handed = None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> PollerEvent:
        self._delivered()
        items = self._items
        while not items:
            if self._closed:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        event, self._handed = items.popleft()
        return event

    def get_nowait(self) -> PollerEvent | None:
        """The next queued event, or ``None`` when none is waiting (the previous one counts as delivered).

        >>> event = stream.get_nowait()  # doctest: +SKIP
        """
        self._delivered()
        if not self._items:
            return None
        event, self._handed = self._items.popleft()
        return event

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """True once no more events will be queued (poller stopped or stream closed)."""
        return self._closed

    async def aclose(self) -> None:
        """Unsubscribe: the poller stops queuing events here; the iterator ends. Unread events are not delivered.

        >>> await stream.aclose()  # doctest: +SKIP
        """
        self._close(delivered=True)

    def _close(self, *, delivered: bool) -> None:
        if delivered:
            self._delivered()
        self._handed = None
        poller = self._poller
        if poller is not None:
            poller._streams.discard(self)
        self._items.clear()
        self._finish()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Leaving the block with an error: the event being handled when it struck was not delivered.
        self._close(delivered=exc_type is None)
