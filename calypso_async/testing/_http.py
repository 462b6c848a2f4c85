"""Small shared pieces of the fake server's HTTP answers: the API error, JSON bodies, dates.

Handlers raise :class:`ApiError` and return plain data; :mod:`._server` turns both into answers. Keeping the
error shape (``{"errorCode", "message", "traceId"}``) in one place keeps every answer the SDK sees consistent
with the reference's error format.
"""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone
from typing import Any

from .._timestamps import parse_iso_datetime

__all__ = [
    "Answer",
    "ApiError",
    "bad_request",
    "duplicate_key",
    "http_date",
    "iso",
    "not_found",
    "parse_iso",
    "wrong_state",
]


class ApiError(Exception):
    """An error answer: HTTP status, the reference's zero-padded ``errorCode`` and a message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self, trace_id: str) -> dict[str, Any]:
        return {"errorCode": self.error_code, "message": self.message, "traceId": trace_id}


def bad_request(message: str) -> ApiError:
    """400 / 001: invalid input."""
    return ApiError(400, "001", message)


def not_found(what: str) -> ApiError:
    """400 / 004: the object does not exist (the reference declares only 400 and 500 per call)."""
    return ApiError(400, "004", f"{what} not found")


def duplicate_key(kind: str, key: str) -> ApiError:
    """400 / 016: the legacy table's "IdempotencyKey ... already exists"."""
    return ApiError(400, "016", f"IdempotencyKey {key} already exists ({kind})")


def wrong_state(code: str, message: str) -> ApiError:
    """400 / 006 (invoice) or 012 (payout): the object is in the wrong state."""
    return ApiError(400, code, message)


def iso(seconds: float) -> str:
    """Unix seconds as ISO-8601 UTC with milliseconds: ``2025-01-01T00:00:00.000Z``."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(seconds: float) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Wed, 01 Jan 2025 00:00:00 GMT``."""
    return email.utils.formatdate(seconds, usegmt=True)


class Answer:
    """An answer before it becomes an aiohttp response: faults may rewrite it on the way out."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else {"Content-Type": "application/json"}


def parse_iso(text: Any, where: str) -> float:
    """An ISO-8601 date-time from a request (``Z`` or offset; naive means UTC) as Unix seconds, else 001."""
    if not isinstance(text, str):
        raise bad_request(f"{where} must be an ISO-8601 date-time string")
    try:
        return parse_iso_datetime(text).timestamp()
    except ValueError:
        raise bad_request(f"{where} is not an ISO-8601 date-time: {text!r}") from None
