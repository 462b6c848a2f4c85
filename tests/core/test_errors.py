"""The error tree and the errorCode table."""

from __future__ import annotations

import pytest

import calypso_async as c
from calypso_async._errors import error_class_for


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "001", c.BadRequestError),
        (401, "002", c.AuthenticationError),
        (401, "003", c.AuthenticationError),
        (400, "004", c.NotFoundError),
        (404, None, c.NotFoundError),
        (400, "011", c.InvalidTimestampError),
        (400, "016", c.DuplicateIdempotencyKeyError),
        (400, "006", c.ConflictError),
        (429, None, c.RateLimitError),
        (503, None, c.ServerError),
        (500, "000", c.ServerError),
        (418, None, c.APIError),
        (400, "999", c.BadRequestError),
    ],
)
def test_mapping(status: int, code: str | None, cls: type[c.APIError]) -> None:
    assert error_class_for(status, code) is cls


def test_everything_is_a_calypso_error() -> None:
    for name in c.__all__:
        obj = getattr(c, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, c.CalypsoError), name
    assert issubclass(c.APITimeoutError, c.APIConnectionError)
    assert issubclass(c.DuplicateIdempotencyKeyError, c.ConflictError)


def test_str_carries_code_message_operation_and_trace() -> None:
    err = c.NotFoundError(
        "Payout not found", status_code=400, error_code="004", trace_id="abc123", operation="payouts.get"
    )
    assert str(err) == "[400 errorCode=004] Payout not found (operation=payouts.get, trace_id=abc123)"
    assert "NotFoundError" in repr(err)
    assert (err.status_code, err.error_code, err.message) == (400, "004", "Payout not found")
