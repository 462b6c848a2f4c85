"""Event hooks: user callables that observe every attempt of every call, and never see a secret.

>>> client = AsyncCalypso(event_hooks={"response": [print]})  # doctest: +SKIP

Three kinds, each a list of plain or ``async`` callables taking one :class:`HookEvent`:

* ``request``: an attempt is about to be sent (operation, attempt number, method, path);
* ``response``: an attempt ended, with an answer (``status``) or without one (``error``), and its duration;
* ``retry``: the engine decided to try again after ``retry_delay`` seconds (delivered before that wait).

Events carry no API key, signature, secret or body, so a hook may log them as they are. A hook that raises is
logged (logger ``calypso``) and ignored: observing a call must never change its outcome.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Literal

import attrs

__all__ = ["EventHook", "HookEvent", "HookKind", "emit", "normalize_hooks"]

logger = logging.getLogger("calypso")

HookKind = Literal["request", "response", "retry"]
KINDS: tuple[HookKind, ...] = ("request", "response", "retry")


@attrs.frozen
class HookEvent:
    """What a hook is told about one attempt; ``kind`` says which moment.

    >>> def log(event: HookEvent) -> None: print(event.operation, event.attempt, event.status)  # doctest: +SKIP
    """

    kind: HookKind
    operation: str
    """``payouts.create``; ``request`` for :meth:`AsyncCalypso.request`."""
    attempt: int
    """1 for the first attempt; 0 for the re-send after a duplicate-key lookup found nothing."""
    method: str
    path: str
    """The API path (``/api/v1/payout/create``), without the base URL."""
    account: str | None = None
    """The account, masked (``0xc1…2f8b``)."""
    idempotency_key: str | None = None
    status: int | None = None
    """HTTP status of the answer (``response``, ``retry``); ``None`` when none arrived."""
    duration: float | None = None
    """Seconds the attempt took (``response``, ``retry``)."""
    trace_id: str | None = None
    error: str | None = None
    """Class name of the attempt's failure (``ServerError``, ``APITimeoutError``), if it failed."""
    error_code: str | None = None
    retry_delay: float | None = None
    """Seconds waited before the next attempt (``retry`` only)."""


EventHook = Callable[[HookEvent], Awaitable[object] | object]
"""A hook: ``def hook(event): ...`` or ``async def hook(event): ...``; its return value is ignored."""


def normalize_hooks(event_hooks: Mapping[str, Iterable[EventHook]] | None) -> dict[HookKind, tuple[EventHook, ...]]:
    """Check ``event_hooks`` once, at construction: unknown kinds and non-callables are refused."""
    if not event_hooks:
        return {}
    if not isinstance(event_hooks, Mapping):
        raise ValueError('event_hooks must be a mapping such as {"response": [hook]}')
    found: dict[HookKind, tuple[EventHook, ...]] = {}
    for kind, hooks in event_hooks.items():
        if kind not in KINDS:
            raise ValueError(f"unknown event hook kind {kind!r}; expected one of {', '.join(KINDS)}")
        if callable(hooks):
            hooks = [hooks]
        try:
            listed = tuple(hooks)
        except TypeError:
            raise ValueError(f"event_hooks[{kind!r}] must be a list of callables") from None
        for hook in listed:
            if not callable(hook):
                raise ValueError(f"event_hooks[{kind!r}] holds {type(hook).__name__}, which is not callable")
        if listed:
            found[kind] = listed
    return found


async def emit(hooks: Iterable[EventHook], event: HookEvent) -> None:
    """Run each hook on ``event``; a hook's failure is logged and never reaches the call."""
    for hook in hooks:
        try:
            result = hook(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            logger.warning(
                "calypso event hook %s raised %s on %s event of %s; ignored",
                getattr(hook, "__qualname__", type(hook).__name__),
                type(exc).__name__,
                event.kind,
                event.operation,
                exc_info=True,
            )
