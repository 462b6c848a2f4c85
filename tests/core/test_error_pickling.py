"""Every public exception survives pickle, deepcopy and a trip through a process pool with all its attributes."""

from __future__ import annotations

import copy
import pickle
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

import calypso_async as c
import calypso_sync as s

PUBLIC_ERRORS = sorted(
    {
        obj
        for module in (c, s)
        for name in module.__all__
        if isinstance(obj := getattr(module, name), type) and issubclass(obj, BaseException)
    },
    key=lambda cls: cls.__name__,
)


def _make(cls: type[BaseException]) -> BaseException:
    """An instance with every attribute set to something other than its default."""
    exc: Any
    if issubclass(cls, c.APIError):
        exc = cls(
            "Payout not found",
            status_code=409,
            error_code="016",
            trace_id="t-1",
            operation="payouts.create",
            idempotency_key="k-1",
            retry_after=1.5,
            body={"errorCode": "016", "amount": Decimal("0.1")},
        )
    elif issubclass(cls, c.InvalidResponseError):
        exc = cls("not JSON", status_code=502, operation="payouts.get", idempotency_key="k-2")
    elif issubclass(cls, c.APIConnectionError):
        exc = cls("reset", operation="payouts.create", request_sent=False, idempotency_key="k-3")
    elif issubclass(cls, c.OutcomeUnknownError):
        exc = cls("maybe", operation="exchanges.create")
    else:
        exc = cls("message")
        exc.operation = "payouts.create"  # type: ignore[attr-defined]
        exc.idempotency_key = "k-4"  # type: ignore[attr-defined]
    if isinstance(exc, c.DuplicateIdempotencyKeyError):
        exc.existing = {"id": "p-1", "amount": Decimal("5")}
    if isinstance(exc, c.InvalidTimestampError):
        exc.clock_offset = 12.5
    if hasattr(exc, "add_note"):  # Python 3.11+
        exc.add_note("a note")
    return exc  # type: ignore[no-any-return]


def _state(exc: BaseException) -> tuple[Any, ...]:
    return (type(exc), exc.args, str(exc), dict(vars(exc)))


def test_the_public_error_list_is_complete() -> None:
    assert c.CalypsoError in PUBLIC_ERRORS and c.ClientClosedError in PUBLIC_ERRORS
    assert len(PUBLIC_ERRORS) >= 19


@pytest.mark.parametrize("cls", PUBLIC_ERRORS, ids=lambda cls: cls.__name__)
def test_every_public_error_round_trips_through_pickle_and_deepcopy(cls: type[BaseException]) -> None:
    exc = _make(cls)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert _state(pickle.loads(pickle.dumps(exc, protocol))) == _state(exc)
    assert _state(copy.deepcopy(exc)) == _state(exc)
    assert _state(copy.copy(exc)) == _state(exc)


def _raise_in_worker(name: str) -> None:
    raise _make(getattr(c, name))


def test_a_worker_raising_an_api_error_reaches_the_parent_whole() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_raise_in_worker, "DuplicateIdempotencyKeyError")
        with pytest.raises(c.DuplicateIdempotencyKeyError) as info:
            future.result(timeout=60)
        # the pool survives: the next task runs
        assert pool.submit(abs, -3).result(timeout=60) == 3
    err = info.value
    assert (err.status_code, err.error_code, err.idempotency_key, err.operation) == (
        409,
        "016",
        "k-1",
        "payouts.create",
    )
    assert err.existing == {"id": "p-1", "amount": Decimal("5")}
