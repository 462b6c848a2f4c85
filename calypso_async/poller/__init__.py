"""Watch many accounts' balances and report each change once: :class:`BalancePoller` and what goes with it.

>>> from calypso_async.poller import BalancePoller, SQLiteStore  # doctest: +SKIP

Modules: events (:mod:`._events`), clocks (:mod:`._clock`), options (:mod:`._options`), scheduling and shards
(:mod:`._scheduling`), shared backpressure (:mod:`._backpressure`), event streams (:mod:`._stream`), snapshot
stores (:mod:`._store`) and the poller itself (:mod:`._poller`). Everything public is re-exported here, and the
main names from ``calypso_async`` and ``calypso_sync``.
"""

from ._clock import LoopClock, ManualClock, PollerClock
from ._events import AccountSnapshot, BalanceChange, PollerEvent, PollError, PollerStats
from ._options import PollerOptions
from ._poller import BalancePoller
from ._scheduling import shard_of
from ._store import MemoryStore, SnapshotStore, SnapshotStoreError, SQLiteStore, StoredSnapshot
from ._stream import EventStream

__all__ = [
    "AccountSnapshot",
    "BalanceChange",
    "BalancePoller",
    "EventStream",
    "LoopClock",
    "ManualClock",
    "MemoryStore",
    "PollError",
    "PollerClock",
    "PollerEvent",
    "PollerOptions",
    "PollerStats",
    "SQLiteStore",
    "SnapshotStore",
    "SnapshotStoreError",
    "StoredSnapshot",
    "shard_of",
]
