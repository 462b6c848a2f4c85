"""The portal: one private event-loop thread per process, on which every sync call runs its coroutine.

>>> PORTAL.run(client_async.account.get())  # doctest: +SKIP

Why a dedicated loop thread (fsspec/synchronicity style) and not a loop per call (asgiref), the caller's loop
(Telethon, Pyrogram) or a second, sync HTTP stack (unasync): the failure modes reported against those designs,
and what this module does about each:

1. *"This event loop is already running" / silent coroutine returns* (Telethon #1455, jupyter-scheduler #330):
   the caller's loop is never used, so a sync call works from a notebook cell or an ``async def``: it blocks
   that thread while the private loop works (and logs a one-time hint to use ``calypso_async`` there).
2. *"There is no current event loop in thread ..."* (Telethon #912/#1365/#4717): ``get_event_loop()`` is never
   called; the loop is created explicitly, lazily, under a lock, on first use.
3. *Loop captured at import / one client bridged onto another's loop* (kurigram #459/#472): nothing happens at
   import; async generators (auto-paging) are driven one ``__anext__`` at a time on the owning loop and closed
   there with ``aclose()`` (:class:`SyncIterator`).
4. *Loop-bound resources reused across loops* (openverse #3000, httpx #2473, aiohttp #10153): there is exactly
   one loop per process for the process's lifetime, and every aiohttp session is created, used and closed on it.
5. *Deadlocks* (crewAI #6742, synchronicity #37): a blocking call made on the private loop's own thread raises
   :class:`~calypso_async.SyncFacadeError` at once instead of waiting for itself forever.
6. *Fork* (langfuse #1654, gunicorn #1953): ``os.register_at_fork(after_in_child=...)`` plus a PID check on every
   call. The child *drops* the parent's loop, thread, sessions and generators without closing or touching them
   (their sockets and even the epoll set are shared with the parent: closing the loop in the child would
   unregister the parent's file descriptors). The at-fork hook keeps them referenced, so their finalizers never
   run while the child lives or exits normally (no "Unclosed client session" from every gunicorn worker); the
   child lazily builds its own loop, and clients rebuild their ``AsyncCalypso`` (``_base.py``).
7. *Shutdown leaks* (GraphScope #971, discohook #56): an ``atexit`` hook closes every still-open client **on the
   owning loop** (``run_coroutine_threadsafe(...).result(timeout)``), closes abandoned generators, stops and
   joins the thread and closes the loop. Nothing is ever started during shutdown (no "can't create new thread at
   interpreter shutdown"), and ``__del__`` paths only *schedule* work on a loop that is already running.
8. *Ctrl-C leaves the coroutine running* (synchronicity #166/#205, dask #5722): when the waiting thread gets a
   ``KeyboardInterrupt`` (any ``BaseException``), the task is cancelled on the loop and given a short grace
   period to finish cancelling before the exception is re-raised. A keyed create's ``idempotency_key`` (and
   ``operation``) found on the cancelled task's exception is copied onto that interrupt, so the caller can
   recover the call that may have reached the server.
9. *Thread death surfacing as "Event loop is closed"* (synchronicity #271): the loop thread records why it
   stopped, fails the calls in flight, and every later call gets a clear :class:`~calypso_async.SyncFacadeError`.
10. *gevent* (gunicorn ``-k gevent``, ``monkey.patch_all()``): a patched ``threading.Thread`` is a greenlet of the
    caller's OS thread, so the loop would look "running" to every greenlet (false warnings, ``asyncio.run()``
    refused to other asyncio users such as gunicorn's control server) and block the hub. When ``threading`` is
    patched, the loop runs in a real OS thread (gevent's saved originals) with the unpatched selector and
    resolver, and a caller waits on a gevent ``Event`` woken through its hub's async watcher: only its own
    greenlet waits.

Residual cost: a sync call from a thread that runs its own loop blocks that loop for the call's duration.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextvars
import inspect
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from importlib import import_module
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from calypso_async import SyncFacadeError

__all__ = ["PORTAL", "Portal", "SyncIterator", "blocked_loop"]

logger = logging.getLogger("calypso")

T = TypeVar("T")

CANCEL_GRACE = 1.0
"""Seconds an interrupted call waits for its task to finish cancelling before the interrupt is re-raised."""

SHUTDOWN_TIMEOUT = 5.0
"""Seconds the exit hook waits for the clients to close and, again, for the loop thread to stop."""

_IDLE = "idle"  # no loop in this process yet
_RUNNING = "running"  # loop thread started and healthy
_DEAD = "dead"  # the loop thread stopped without being asked to
_CLOSED = "closed"  # shut down (exit hook or Portal.shutdown): never restarted

# Lock acquisition is interruptible by signals on POSIX only; on Windows the waiter polls so Ctrl-C gets through.
_POLL_INTERVAL: float | None = 0.2 if sys.platform == "win32" else None


# ------------------------------------------------------------------------------------------ gevent support


def _gevent_monkey() -> Any:
    """``gevent.monkey`` if it has patched ``threading`` in this process (checked per call: patching can come
    after import, as in a gunicorn ``--preload`` master whose gevent workers patch after fork), else None."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None:
        return None
    try:
        return monkey if monkey.is_module_patched("threading") else None
    except Exception:  # pragma: no cover - an unexpected gevent version: behave as unpatched
        return None


def _native(module: str, name: str) -> Any:
    """The unpatched ``module.name`` (gevent keeps the originals it replaced), else the current one."""
    monkey = _gevent_monkey()
    if monkey is not None:
        return monkey.get_original(module, name)
    return getattr(import_module(module), name)


def _native_rlock() -> Any:
    return _native("_thread", "RLock")()


def _native_ident() -> int:
    """The OS thread's id: under gevent, ``threading.get_ident()`` names the greenlet instead."""
    ident: int = _native("_thread", "get_ident")()
    return ident


def _new_future() -> concurrent.futures.Future[Any]:
    """A future settled from the loop thread; under gevent its lock is a real one, not a greenlet lock."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    if _gevent_monkey() is not None:
        future._condition = threading.Condition(_native_rlock())
    return future


def _block(future: concurrent.futures.Future[Any], timeout: float | None = None) -> bool:
    """Wait until ``future`` is done (True) or ``timeout`` passed (False), without stalling a gevent hub.

    In a gevent-patched process the caller is a greenlet: it sleeps on a gevent ``Event`` that the loop thread
    sets by ringing an async watcher of the caller's hub, so the hub (and every other greenlet) keeps running.
    """
    if future.done():
        return True
    if _gevent_monkey() is not None:
        hub = import_module("gevent").get_hub()
        event = import_module("gevent.event").Event()
        # An async watcher is the hub's cross-thread doorbell, and an active one keeps the hub from deciding
        # that nothing can ever wake this greenlet (gevent's LoopExit when no other greenlet is waiting).
        doorbell = hub.loop.async_()
        doorbell.start(event.set)
        guard = _native("_thread", "allocate_lock")()
        open_ = [True]

        def ring(_: object) -> None:
            with guard:
                if open_[0]:
                    doorbell.send()

        future.add_done_callback(ring)
        try:
            return bool(event.wait(timeout))
        finally:
            with guard:
                open_[0] = False
                doorbell.close()
    if _POLL_INTERVAL is not None:  # pragma: no cover - Windows: lock waits are not interruptible by Ctrl-C
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future.done():
            step = _POLL_INTERVAL if deadline is None else min(_POLL_INTERVAL, deadline - time.monotonic())
            if step <= 0:
                break
            concurrent.futures.wait([future], timeout=step)
        return future.done()
    concurrent.futures.wait([future], timeout=timeout)
    return future.done()


def _in_gevent_hub() -> bool:
    gevent = import_module("gevent")
    return bool(gevent.getcurrent() is gevent.get_hub())


class _NativeThread:
    """A real OS thread even when gevent has patched ``threading`` (whose threads are greenlets of one OS
    thread: an asyncio loop there would be "running" in every greenlet and block the hub between selects)."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.name = name
        self.ident: int | None = None
        self._target = target
        self._done = _native("_thread", "allocate_lock")()
        self._done.acquire()

    def start(self) -> None:
        started = _native("_thread", "allocate_lock")()
        started.acquire()

        def bootstrap() -> None:
            self.ident = _native_ident()
            started.release()
            try:
                self._target()
            finally:
                self._done.release()

        _native("_thread", "start_new_thread")(bootstrap, ())
        started.acquire()

    def is_alive(self) -> bool:
        return self.ident is not None and self._done.locked()

    def join(self, timeout: float | None = None) -> None:
        if self._done.acquire(timeout=-1 if timeout is None else timeout):
            self._done.release()


class _NativeExecutor(concurrent.futures.ThreadPoolExecutor):
    """The private loop's default executor under gevent: a real thread per job (DNS lookups, mostly), since
    a patched pool's "threads" would be greenlets that nothing runs on the loop's thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = _new_future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        _NativeThread(job, "calypso-sync-executor").start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


class _NativeLoop(asyncio.SelectorEventLoop):
    """The private loop under gevent: the unpatched selector, and name resolution with the unpatched resolver
    in a real thread (the patched one would need a gevent hub running on the loop's thread)."""

    async def getaddrinfo(
        self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        resolve = _native("socket", "getaddrinfo")
        return await self.run_in_executor(None, resolve, host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        return await self.run_in_executor(None, _native("socket", "getnameinfo"), sockaddr, flags)


def _new_loop() -> asyncio.AbstractEventLoop:
    if _gevent_monkey() is None:
        return asyncio.new_event_loop()
    loop = _NativeLoop(_native("selectors", "DefaultSelector")())
    loop.set_default_executor(_NativeExecutor(max_workers=1))
    return loop


class _AsyncCloseable(Protocol):
    async def aclose(self) -> None: ...


class _Call(Generic[T]):
    """One coroutine submitted from a sync thread; ``future`` is settled only when the task has ended."""

    __slots__ = ("cancel_requested", "context", "coro", "future", "loop", "portal", "task")

    def __init__(self, portal: Portal, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.portal = portal
        self.loop = loop
        self.coro = coro
        self.context = contextvars.copy_context()  # the caller's context variables reach the coroutine
        self.future: concurrent.futures.Future[T] = _new_future()
        self.task: asyncio.Task[T] | None = None
        self.cancel_requested = False

    def start(self) -> None:
        """On the loop: create the task (or give up if the caller was interrupted before it started)."""
        if self.cancel_requested:
            self.coro.close()
            self.fail(asyncio.CancelledError())
            return
        try:
            task = self.context.run(self.loop.create_task, _guarded(self.coro))
        except BaseException as exc:  # pragma: no cover - create_task does not fail on a running loop
            self.coro.close()
            self.fail(exc)
            return
        self.task = task
        task.add_done_callback(self._finished)

    def cancel(self) -> None:
        """On the loop: the waiting thread was interrupted."""
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()

    def _finished(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self.coro.close()  # cancelled before its first step, the wrapper never awaited it: no warning
            if self.cancel_requested:
                self.fail(_cancelled_error(task))
            else:
                self.fail(SyncFacadeError(self.portal._cancelled_message()))
            return
        exc = task.exception()  # also marks it retrieved: no "exception was never retrieved" log
        if exc is not None:
            self.fail(exc.exc if isinstance(exc, _Escaped) else exc)
            return
        try:
            self.future.set_result(task.result())
        except concurrent.futures.InvalidStateError:  # pragma: no cover - already failed by a dying loop
            pass

    def fail(self, exc: BaseException) -> None:
        try:
            self.future.set_exception(exc)
        except concurrent.futures.InvalidStateError:
            pass


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Escaped(Exception):
    """Carries a ``SystemExit``/``KeyboardInterrupt`` raised by a coroutine to its caller's thread.

    asyncio re-raises those two out of ``run_forever``, which would kill the loop thread that every client of
    the process shares; wrapped, they reach the thread that made the call instead, and the loop lives on.
    """

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


async def _guarded(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return await coro
    except (SystemExit, KeyboardInterrupt) as exc:
        raise _Escaped(exc) from None


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


def _as_coroutine(awaitable: Awaitable[T]) -> Coroutine[Any, Any, T]:
    if inspect.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


class Portal:
    """A private event loop in a daemon thread, started lazily, rebuilt after ``fork``, closed at exit.

    One instance, :data:`PORTAL`, serves every sync client of the process (so 16 threads sharing one client
    share its one connection pool). Other instances exist only for tests.

    >>> PORTAL.run(asyncio.sleep(0, "done"))  # doctest: +SKIP
    'done'
    """

    def __init__(
        self,
        name: str = "calypso-sync",
        *,
        cancel_grace: float = CANCEL_GRACE,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    ) -> None:
        self.name = name
        self.cancel_grace = cancel_grace
        self.shutdown_timeout = shutdown_timeout
        self._pid = os.getpid()
        self._generation = 0
        self._atexit_registered = False
        self._warned_running_loop = False
        self._reset()
        _PORTALS.add(self)

    def _reset(self) -> None:
        self.lock = _native_rlock()
        """Guards start/stop and the client registry; re-created in a forked child (never inherited held)."""
        self._state = _IDLE
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | _NativeThread | None = None
        self._thread_ident: int | None = None
        self._death: BaseException | None = None
        self._tracked: dict[int, _AsyncCloseable] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._inflight: set[_Call[Any]] = set()

    # ------------------------------------------------------------------------------------ process identity

    @property
    def generation(self) -> int:
        """Changes whenever this process is a fork child that dropped its parent's loop (PID check included).

        >>> PORTAL.generation  # doctest: +SKIP
        0
        """
        if self._pid != os.getpid():
            self._after_fork()
        return self._generation

    def _after_fork(self) -> None:
        """In a forked child: forget (but keep referenced, untouched) everything that belongs to the parent."""
        if self._pid == os.getpid():
            return
        loop = self._loop
        if loop is not None:
            # A plain attribute write, no I/O: late finalizers of the parent's sessions must not log in the child.
            loop.set_exception_handler(_silent_exception_handler)
        _FORK_HOOK.orphans.append((loop, self._thread, self._tracked, self._pending, self._inflight))
        self._reset()
        self._pid = os.getpid()
        self._generation += 1

    def is_current(self, generation: int) -> bool:
        """True when ``generation`` is this process's current one; no side effects, so finalizers may ask.

        >>> PORTAL.is_current(PORTAL.generation)  # doctest: +SKIP
        True
        """
        return self._pid == os.getpid() and generation == self._generation

    def orphan(self, obj: object) -> None:
        """Keep ``obj`` (a parent's client or generator, in a fork child) alive and untouched for good.

        >>> PORTAL.orphan(parent_async_client)  # doctest: +SKIP
        """
        _FORK_HOOK.orphans.append(obj)

    # ---------------------------------------------------------------------------------------------- loop

    @property
    def running(self) -> bool:
        """True while this process's loop thread is up (it is started by the first call).

        >>> PORTAL.running  # doctest: +SKIP
        True
        """
        return self._pid == os.getpid() and self._state is _RUNNING

    def is_loop_thread(self) -> bool:
        """True when called on the private loop's own thread (where blocking calls are refused).

        >>> PORTAL.is_loop_thread()  # doctest: +SKIP
        False
        """
        return self._pid == os.getpid() and _native_ident() == self._thread_ident

    def loop(self) -> asyncio.AbstractEventLoop:
        """This process's private loop, started if needed (refused on the loop thread and after shutdown).

        >>> PORTAL.loop().is_running()  # doctest: +SKIP
        True
        """
        if self._pid != os.getpid():
            self._after_fork()
        loop = self._loop
        if loop is None or self._state is not _RUNNING:
            loop = self._start()
        if _native_ident() == self._thread_ident:
            raise SyncFacadeError(
                "a calypso_sync call was made on calypso_sync's own event-loop thread (from a coroutine or "
                "callback running there); it would wait for itself forever. Await the calypso_async client "
                "there instead."
            )
        if _gevent_monkey() is not None and _in_gevent_hub():
            raise SyncFacadeError(
                "a calypso_sync call was made in gevent's hub (a loop callback), where nothing may wait; "
                "make it from a greenlet instead (gevent.spawn(...))"
            )
        if not self._warned_running_loop and blocked_loop() is not None:
            self._warned_running_loop = True
            logger.warning(
                "calypso_sync was called from a thread that runs an event loop; the call works but blocks "
                "that loop until it returns. In async code use calypso_async.AsyncCalypso (await it) instead."
            )
        return loop

    def _start(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self._state is _RUNNING and self._loop is not None:
                return self._loop
            if self._state is _DEAD:
                raise self._dead_error()
            if self._state is _CLOSED or sys.is_finalizing():
                raise SyncFacadeError(
                    "calypso_sync has shut down (interpreter exit): sync calls cannot be made any more"
                )
            try:
                loop = _new_loop()
            except OSError as exc:  # out of file descriptors, say: the selector or self-pipe cannot be made
                raise SyncFacadeError(f"calypso_sync cannot create its event loop: {exc}") from exc
            thread: threading.Thread | _NativeThread
            if _gevent_monkey() is not None:  # a real OS thread, not a greenlet of the caller's thread
                thread = _NativeThread(lambda: self._run_loop(loop), self.name)
            else:
                thread = threading.Thread(target=self._run_loop, args=(loop,), name=self.name, daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # "can't create new thread at interpreter shutdown"
                loop.close()
                raise SyncFacadeError(f"calypso_sync cannot start its event-loop thread: {exc}") from exc
            self._loop = loop
            self._thread = thread
            self._thread_ident = thread.ident
            self._state = _RUNNING
            if not self._atexit_registered:
                self._atexit_registered = True
                atexit.register(self.shutdown)
            return loop

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        cause: BaseException | None = None
        try:
            loop.run_forever()
        except BaseException as exc:  # a callback let SystemExit/KeyboardInterrupt escape: the loop is dead
            cause = exc
        finally:
            asyncio.set_event_loop(None)
            with self.lock:
                died = self._state is _RUNNING and self._loop is loop
                if died:
                    self._state = _DEAD
                    self._death = cause
            if died:
                logger.error(
                    "calypso_sync: the event-loop thread stopped unexpectedly%s",
                    f" ({cause!r})" if cause is not None else "",
                )
                error = self._dead_error()
                for call in list(self._inflight):
                    task = call.task
                    if task is not None and task.done() and not task.cancelled():
                        task.exception()  # reported through the error below, not as "never retrieved"
                    call.fail(error)

    def _dead_error(self) -> SyncFacadeError:
        cause = self._death
        how = f": {type(cause).__name__}: {cause}" if cause is not None else " (its loop was stopped)"
        error = SyncFacadeError(
            f"calypso_sync's event-loop thread has died{how}. The connections of this process's sync clients "
            "lived on that loop, so no more sync calls can be made in this process."
        )
        error.__cause__ = cause
        return error

    def _cancelled_message(self) -> str:
        if self._state is _CLOSED:
            return "the call was cancelled because calypso_sync is shutting down (interpreter exit)"
        return "the call was cancelled on calypso_sync's event loop"

    # ---------------------------------------------------------------------------------------------- calls

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on the private loop and block until it is done; its exception is raised here.

        >>> PORTAL.run(client_async.account.get())  # doctest: +SKIP

        If this thread is interrupted (``KeyboardInterrupt`` or any ``BaseException``) while waiting, the task
        is cancelled on the loop and given ``cancel_grace`` seconds to finish cancelling; then the interrupt is
        re-raised.
        """
        coro = _as_coroutine(awaitable)
        try:
            loop = self.loop()
        except BaseException:
            coro.close()  # never scheduled: no "coroutine was never awaited"
            raise
        call = _Call(self, loop, coro)
        inflight = self._inflight
        inflight.add(call)  # set.add/discard are atomic under the GIL
        scheduled = False
        try:
            try:
                loop.call_soon_threadsafe(call.start)
            except RuntimeError as exc:  # the loop was closed under us
                raise self._dead_error() from exc
            scheduled = True
            if self._state is not _RUNNING:  # died between the check above and scheduling: fail, never hang
                call.fail(self._dead_error())
            return self._wait(call.future)
        except BaseException as interrupt:
            if not scheduled:
                coro.close()
            elif not call.future.done():
                self._cancel(loop, call)
                _carry_recovery_facts(call.future, interrupt)
            raise
        finally:
            inflight.discard(call)

    def _wait(self, future: concurrent.futures.Future[T]) -> T:
        """Block until ``future`` is settled (a seam: tests replace it to interrupt a call deterministically)."""
        _block(future)
        return future.result()

    def _cancel(self, loop: asyncio.AbstractEventLoop, call: _Call[Any]) -> None:
        try:
            loop.call_soon_threadsafe(call.cancel)
        except RuntimeError:  # loop closed: nothing left to cancel
            return
        _block(call.future, self.cancel_grace)

    def iterate(self, iterator: AsyncIterator[T]) -> SyncIterator[T]:
        """A sync iterator over ``iterator`` (an async generator), one ``__anext__`` at a time on the loop.

        >>> for tx in PORTAL.iterate(client_async.customer_purse.iter_transactions()): ...  # doctest: +SKIP
        """
        return SyncIterator(self, iterator)

    # ------------------------------------------------------------------------------------- client registry

    def track(self, obj: _AsyncCloseable) -> None:
        """Close ``obj`` (``await obj.aclose()``) on the loop at exit unless :meth:`untrack` ed before.

        >>> PORTAL.track(async_client)  # doctest: +SKIP
        """
        with self.lock:
            self._tracked[id(obj)] = obj

    def untrack(self, obj: _AsyncCloseable) -> bool:
        """Stop tracking ``obj``; True if it was tracked (it then has something open on the loop).

        >>> PORTAL.untrack(async_client)  # doctest: +SKIP
        True
        """
        with self.lock:
            return self._tracked.pop(id(obj), None) is not None

    def close_soon(self, obj: _AsyncCloseable, *, tracked_only: bool = True) -> None:
        """From a finalizer: schedule ``obj.aclose()`` on the running loop, without waiting, never starting it.

        Does nothing in a forked child for the parent's objects, before the loop exists, or after shutdown.
        With ``tracked_only``, only objects still :meth:`track` ed are closed (and untracked).

        >>> PORTAL.close_soon(async_client)  # doctest: +SKIP
        """
        if self._pid != os.getpid() or self._state is not _RUNNING:
            return
        if tracked_only and id(obj) not in self._tracked:
            return
        loop = self._loop
        if loop is None:  # pragma: no cover - state RUNNING implies a loop
            return
        try:
            loop.call_soon_threadsafe(self._spawn_close, obj, tracked_only)
        except RuntimeError:  # pragma: no cover - closed between the check and the call
            pass

    def _spawn_close(self, obj: _AsyncCloseable, tracked_only: bool) -> None:
        """On the loop. Even when shutdown has begun: the exit hook's ``_aclose_all`` was queued after this
        callback, so it still awaits the task created here."""
        if self.untrack(obj) or not tracked_only:
            task = asyncio.get_running_loop().create_task(self._aclose_quietly(obj))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    @staticmethod
    async def _aclose_quietly(obj: _AsyncCloseable) -> None:
        try:
            await obj.aclose()
        except Exception:  # a finalizer has nobody to report to
            logger.debug("calypso_sync: closing %r failed", obj, exc_info=True)

    # -------------------------------------------------------------------------------------------- shutdown

    def shutdown(self, timeout: float | None = None) -> None:
        """Close every tracked client on the loop, stop and join the thread, close the loop (the exit hook).

        >>> PORTAL.shutdown()  # doctest: +SKIP

        Never starts anything: with no loop in this process it only marks the portal closed. ``timeout``
        (default ``shutdown_timeout``) bounds the wait for the clients to close and, again, for the thread.
        """
        if timeout is None:
            timeout = self.shutdown_timeout
        if self._pid != os.getpid():
            self._after_fork()
        with self.lock:
            state = self._state
            self._state = _CLOSED
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if _native_ident() == self._thread_ident:
            raise SyncFacadeError("calypso_sync cannot shut down its loop from the loop's own thread")
        if state is _RUNNING and thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._aclose_all(), loop)
            try:
                _block(future, timeout)
                future.result(0)
            except Exception:
                future.cancel()
                logger.debug("calypso_sync: closing clients at shutdown failed", exc_info=True)
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # pragma: no cover - already closed
                pass
            thread.join(timeout)
        if not thread.is_alive() and not loop.is_closed():
            loop.close()

    async def _aclose_all(self) -> None:
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        pending = set(self._pending)
        # Calls still in flight (daemon threads blocked at exit) end first, then the pools close under nobody.
        others = [t for t in asyncio.all_tasks(loop) if t is not current and t not in pending]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        with self.lock:
            closeables = list(self._tracked.values())
            self._tracked.clear()
        await asyncio.gather(*(self._aclose_quietly(c) for c in closeables), *pending, return_exceptions=True)
        await loop.shutdown_asyncgens()


def blocked_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that a blocking call made here would block: this thread's running loop, if any.

    >>> blocked_loop() is None  # doctest: +SKIP
    True

    Under gevent a loop "running" in this OS thread may belong to another greenlet, which keeps running while
    this one waits cooperatively: only a task of that loop being in progress means the caller is that loop.
    """
    running = asyncio._get_running_loop()
    if running is None:
        return None
    if _gevent_monkey() is not None and asyncio.current_task(running) is None:
        return None
    return running


def _cancelled_error(task: asyncio.Task[Any]) -> BaseException:
    """The ``CancelledError`` the task ended with (it may carry ``idempotency_key``), else a fresh one."""
    try:
        task.result()
    except asyncio.CancelledError as exc:
        return exc
    except BaseException:  # pragma: no cover - a cancelled task raises CancelledError
        pass
    return asyncio.CancelledError()  # pragma: no cover


_RECOVERY_FACTS = ("idempotency_key", "operation")


def _carry_recovery_facts(future: concurrent.futures.Future[Any], interrupt: BaseException) -> None:
    """Copy ``idempotency_key``/``operation`` from the cancelled call's exception onto the caller's interrupt.

    A keyed create cancelled by Ctrl-C may have reached the server: the key is what lets the caller recover
    (calling again with it returns the object if it exists), so it must ride on the ``KeyboardInterrupt``.
    """
    if not future.done() or future.cancelled():
        return
    cause = future.exception(timeout=0)
    if cause is None or cause is interrupt:
        return
    for name in _RECOVERY_FACTS:
        value = _recovery_fact(cause, name)
        if value is not None and getattr(interrupt, name, None) is None:
            try:
                setattr(interrupt, name, value)
            except (AttributeError, TypeError):  # pragma: no cover - an exception type with __slots__
                pass


def _recovery_fact(exc: BaseException, name: str) -> Any:
    """``exc.<name>``, or that of the nearest exception it was raised from or during.

    On Python 3.10 a cancelled task ends with a new ``CancelledError`` whose ``__context__`` is the one the
    engine marked; later versions re-raise the marked one itself.
    """
    item: BaseException | None = exc
    for _ in range(8):
        if item is None:
            return None
        value = getattr(item, name, None)
        if value is not None:
            return value
        item = item.__cause__ or item.__context__
    return None


def _silent_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Exception handler of a parent's loop inherited by a fork child: its objects are not ours to report."""


class SyncIterator(Iterator[T]):
    """A blocking iterator over an async generator that lives on the portal's loop.

    >>> for tx in client.customer_purse.iter_transactions(page_size=100):  # doctest: +SKIP
    ...     print(tx.id)

    Each ``next()`` runs one ``__anext__`` on the loop, so pages are fetched lazily. ``close()`` (or leaving a
    ``with`` block, or abandoning the iterator to the garbage collector) closes the generator with ``aclose()``
    on the loop, so its ``finally`` blocks run there.
    """

    __slots__ = ("__weakref__", "_done", "_generation", "_iterator", "_portal", "_started")

    def __init__(self, portal: Portal, iterator: AsyncIterator[T]) -> None:
        self._portal = portal
        self._iterator = iterator
        self._generation = portal.generation
        self._started = False
        self._done = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        if self._generation != self._portal.generation:
            # Created before a fork: the generator belongs to the parent's loop.
            self._drop()
            raise SyncFacadeError("this iterator was created in the parent process before fork(); start a new one")
        self._started = True
        try:
            return self._portal.run(_anext(self._iterator))
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None
        except BaseException:
            self._done = True
            # An exception from the generator ended it; anything else (interrupt, refused call) leaves it
            # suspended: close it on the loop without waiting.
            self._portal.close_soon(self._closeable(), tracked_only=False)
            raise

    def close(self) -> None:
        """Close the generator on the loop (its ``finally`` blocks run there); idempotent.

        >>> pages = client.customer_purse.iter_transactions(); next(pages); pages.close()  # doctest: +SKIP
        """
        if self._done:
            return
        self._done = True
        if not self._started:
            return  # never started: nothing ran, nothing to close
        if self._generation != self._portal.generation:
            self._drop()
            return
        if self._portal.running:
            self._portal.run(self._closeable().aclose())

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_done", True) or not self._started:
            return
        if not self._portal.is_current(self._generation):
            self._drop()
            return
        self._portal.close_soon(self._closeable(), tracked_only=False)

    def _closeable(self) -> _AsyncCloseable:
        aclose = getattr(self._iterator, "aclose", None)
        return self._iterator if aclose is not None else _NOTHING_TO_CLOSE  # type: ignore[return-value]

    def _drop(self) -> None:
        self._done = True
        self._portal.orphan(self._iterator)

    def __repr__(self) -> str:
        return f"<SyncIterator over {self._iterator!r}>"


class _NothingToClose:
    async def aclose(self) -> None:
        return None


_NOTHING_TO_CLOSE = _NothingToClose()

_PORTALS: weakref.WeakSet[Portal] = weakref.WeakSet()


class _ForkHook:
    """The ``after_in_child`` hook of every portal; it also owns what a fork child inherited and dropped.

    Why it owns the orphans: the parent's loop, sessions, transports and sockets must never be closed in the
    child (the epoll set and the connections are shared with the parent), and their finalizers must not run
    while the child lives or exits (they would warn "Unclosed client session" / "unclosed transport"). The
    interpreter keeps at-fork hooks until the very end of finalization, after modules and ``sys.stderr`` are
    gone, so anything referenced from here is released only then, silently, with no I/O on the shared state.
    """

    def __init__(self) -> None:
        self.orphans: list[object] = []

    def __call__(self) -> None:
        for portal in list(_PORTALS):
            portal._after_fork()


_FORK_HOOK = _ForkHook()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_FORK_HOOK)

PORTAL = Portal()
"""The process's portal, shared by every :class:`~calypso_sync.Calypso`."""
