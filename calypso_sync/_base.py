"""Hand-written bases of the generated sync classes: client lifecycle, fork rebuild, resource plumbing.

>>> with Calypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     client.account.get()

Why each piece exists (numbers refer to the failure modes listed in ``_portal.py``):

* The sync client wraps one ``AsyncCalypso`` built eagerly (arguments are checked at once, in the caller's
  thread) but *used* only on the portal's loop, where its aiohttp session is created lazily by the first call,
  used, and closed (4: loop-bound resources).
* It remembers its constructor arguments and the attributes set on it, so that in a forked child (gunicorn
  ``--preload``, multiprocessing) it drops the parent's ``AsyncCalypso`` untouched and builds its own on the
  child's loop at the first call (6: fork).
* ``close()`` / ``with`` close the pool on the loop; an unclosed client is closed by the portal's exit hook, and
  a client that is garbage-collected while open only *schedules* its close on a loop that is already running:
  finalizers never start a loop or block (7: shutdown leaks).
* ``session=`` is refused: an aiohttp session belongs to the loop it was created on, and no caller can create
  one on the private loop (4).
"""

from __future__ import annotations

import copy
import sys
from typing import Any, ClassVar, TypeVar

from calypso_async import NOT_GIVEN, AsyncCalypso, ClientClosedError, SyncFacadeError

from ._portal import PORTAL, Portal, blocked_loop

__all__ = ["SyncClient", "SyncResource"]

_NEVER_USED = -1  # built, never used on any loop: reusable in a fork child as is
_CLOSED = -2
_COPY = -3  # a with_options copy: its AsyncCalypso is derived from its parent's at each call

_Client = TypeVar("_Client", bound="SyncClient")


class _SyncClientClosedError(ClientClosedError, SyncFacadeError):
    """A call on a closed sync client: a ``ClientClosedError`` as on the async client (and, as before, a
    ``SyncFacadeError``)."""


class SyncClient:
    """Base of the generated :class:`~calypso_sync.Calypso`: owns the ``AsyncCalypso`` and its lifecycle.

    >>> client = Calypso(api_key, secret_key); client.close()  # doctest: +SKIP
    """

    _portal: ClassVar[Portal] = PORTAL
    _parent: SyncClient | None = None  # set on with_options copies
    _copy_options: dict[str, Any]
    _copy_of: AsyncCalypso | None  # the parent's AsyncCalypso this copy's was derived from

    def __new__(cls, *args: Any, **options: Any) -> SyncClient:
        # The generated constructor does not list session=/transport=; refuse them with the reason, not a TypeError.
        for name in ("session", "transport"):
            if options.get(name) is not None:
                raise ValueError(
                    f"calypso_sync.Calypso does not take {name}=: an aiohttp {name} belongs to the event loop it was "
                    "created on, and the sync client runs every call on its own private loop, where it creates its "
                    f"own. Use calypso_async.AsyncCalypso to bring your own {name}."
                )
        return super().__new__(cls)

    def __init__(self, **options: Any) -> None:
        self._generation = _CLOSED  # until fully built: a failed constructor leaves nothing for __del__
        if options.get("session") is not None:
            raise ValueError(
                "calypso_sync.Calypso does not take session=: an aiohttp session belongs to the event loop it was "
                "created on, and the sync client runs every call on its own private loop, where it creates its "
                "own session. Use calypso_async.AsyncCalypso to bring your own session."
            )
        self._overrides: dict[str, Any] = {}
        self._async_client = AsyncCalypso(**options)
        # Kept for the rebuild in a fork child, without the secret: it lives only in the signer (a keyed HMAC
        # state), which the rebuilt client takes over.
        self._options = {**options, "secret_key": "-"}
        self._generation = _NEVER_USED

    def _inner(self) -> AsyncCalypso:
        """The ``AsyncCalypso`` of this process, ready for a call on the portal's loop."""
        if self._generation != self._portal.generation:
            self._activate()
        inner = self._async_client
        loop = blocked_loop()
        if loop is not None:
            _refuse_own_fake_server(inner, loop)
        return inner

    def _activate(self) -> None:
        if self._parent is not None:
            self._activate_copy(self._parent)
            return
        portal = self._portal
        generation = portal.generation  # handles a fork first (new lock, new generation)
        with portal.lock:
            if self._generation == generation:
                return
            if self._generation == _CLOSED:
                raise _SyncClientClosedError("this Calypso client is closed; create a new one")
            if self._generation != _NEVER_USED:
                # Used by the parent process before fork(): its session, sockets and loop are the parent's.
                portal.orphan(self._async_client)
                inner = AsyncCalypso(**self._options)
                inner._signer = self._async_client._signer
                for name, value in self._overrides.items():
                    setattr(inner, name, value)
                self._async_client = inner
            portal.track(self._async_client)
            self._generation = generation

    def _activate_copy(self, parent: SyncClient) -> None:
        """A copy follows its parent's ``AsyncCalypso`` (rebuilt after fork): same pool, its own options."""
        if self._generation == _CLOSED:
            raise SyncFacadeError("this Calypso client is closed; create a new one")
        inner = parent._inner()
        if self._copy_of is not inner:
            derived = inner.with_options(**self._copy_options)
            for name, value in self._overrides.items():
                setattr(derived, name, value)
            self._async_client = derived
            self._copy_of = inner

    def with_options(
        self: _Client, *, timeout: float | None = None, max_retries: int | None = None, account: Any = NOT_GIVEN
    ) -> _Client:
        """A light copy of this client with other defaults; it shares the pool, clock, keys and hooks.

        >>> client.with_options(timeout=5, max_retries=0).payouts.get(id="…")  # doctest: +SKIP

        The client you built owns the connection pool: closing a copy leaves it open, closing the client closes
        it for every copy.
        """
        parent = self._parent if self._parent is not None else self
        options = dict(self._copy_options) if self._parent is not None else {}
        if timeout is not None:
            options["timeout"] = timeout
        if max_retries is not None:
            options["max_retries"] = max_retries
        if account is not NOT_GIVEN:
            options["account"] = account
        derived = self._async_client.with_options(**options)  # checks the options, in the caller's thread
        new = copy.copy(self)
        state = vars(new)
        for name, value in list(state.items()):
            if getattr(value, "_client", None) is self:
                del state[name]  # cached resources and raw wrappers bound to this client
        new._parent = parent
        new._copy_options = options
        new._overrides = dict(self._overrides) if self._parent is not None else {}
        new._async_client = derived
        new._copy_of = self._copy_of if self._parent is not None else self._async_client
        new._generation = _COPY
        return new

    def _set_option(self, name: str, value: Any) -> None:
        """Set an attribute of the ``AsyncCalypso`` and remember it for the rebuild in a fork child."""
        setattr(self._async_client, name, value)
        self._overrides[name] = value

    def _close(self) -> None:
        portal = self._portal
        if portal.is_loop_thread():
            raise SyncFacadeError(
                "Calypso.close() was called on calypso_sync's own event-loop thread; "
                "await the AsyncCalypso's aclose() there instead"
            )
        generation = portal.generation
        with portal.lock:
            if self._generation == _CLOSED:
                return
            active = self._generation == generation
            self._generation = _CLOSED
            inner = self._async_client
            opened = active and portal.untrack(inner)
        if opened and portal.running:
            portal.run(inner.aclose())
        # Otherwise nothing of this client is open in this process (never used here, or already closed by the
        # exit hook, or the loop is gone): nothing to do, and never start a loop just to close.

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called.

        >>> client.closed  # doctest: +SKIP
        False
        """
        return self._generation == _CLOSED

    def __del__(self) -> None:
        generation = getattr(self, "_generation", _CLOSED)
        if generation < 0:
            return  # closed, or never used: nothing open
        portal = self._portal
        if not portal.is_current(generation):
            portal.orphan(self._async_client)  # the parent's client in a fork child: never closed, never freed
            return
        portal.close_soon(self._async_client)

    def __repr__(self) -> str:
        return repr(self._async_client).replace(type(self._async_client).__name__, type(self).__name__, 1)


def _refuse_own_fake_server(inner: AsyncCalypso, loop: Any) -> None:
    """A call to a ``FakeCalypso`` served by the very loop the call would block can only time out: refuse it."""
    server = sys.modules.get("calypso_async.testing._server")  # never imported here: only if the app did
    served_on = getattr(server, "base_urls_served_on", None)
    if served_on is None:
        return
    if inner.base_url.rstrip("/") in {url.rstrip("/") for url in served_on(loop)}:
        raise SyncFacadeError(
            f"this calypso_sync call goes to a FakeCalypso ({inner.base_url}) that is served by the event loop "
            "running in this very thread (as after `await server.start()` in a notebook); the call would block "
            "that loop and so wait for itself until it timed out. Await calypso_async.AsyncCalypso here, or run "
            "the server in its own thread: `with FakeCalypso.run_in_thread() as server: ...`."
        )


class SyncResource:
    """Base of the generated resource classes (``client.payouts`` ...): a view on the client's async resource.

    >>> client.payouts.get(id="…")  # doctest: +SKIP
    """

    __slots__ = ("_client",)

    _portal: ClassVar[Portal] = PORTAL

    def __init__(self, client: SyncClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
