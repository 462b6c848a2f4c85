"""Verifying a delivery: HMAC-SHA512 of the raw body with the subscription's ``secretKey``.

Why this strict: the signature is the only thing that proves a delivery came from Calypso (no timestamp is
signed, no source addresses are published), so it is checked over the exact bytes received, in constant time
(:func:`hmac.compare_digest`), and the only tolerance is the one the reference suggests: hex case and
whitespace around the header value. Nothing in this module logs or shows a key or a signature.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from .. import _json
from .._errors import WebhookPayloadError, WebhookSignatureError
from .._signing import sign as hmac_sha512_hex
from ._envelope import WebhookEvent, parse_event

__all__ = ["Headers", "RawBody", "construct_event", "header_value", "parse_body", "verify_signature"]

Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
"""Request headers: any mapping (aiohttp/Django/Flask headers, a dict) or ``(name, value)`` pairs."""

RawBody: TypeAlias = bytes | bytearray | memoryview
"""The request body exactly as received."""

_WHITESPACE = " \t\r\n\x0b\x0c"


def _as_bytes(raw_body: Any) -> bytes:
    if isinstance(raw_body, bytes):
        return raw_body
    if isinstance(raw_body, (bytearray, memoryview)):
        return bytes(raw_body)
    raise TypeError(
        f"raw_body must be the bytes exactly as received (e.g. await request.read(), request.body), "
        f"got {type(raw_body).__name__}"
    )


def verify_signature(raw_body: RawBody, sign: str, secret_key: str) -> bool:
    """True when ``sign`` is the HMAC-SHA512 (hex) of ``raw_body`` with ``secret_key``.

    Constant-time; tolerates upper-case hex and whitespace around ``sign``, nothing else. An empty ``sign``
    or ``secret_key`` never verifies.

    >>> verify_signature(raw_body, request.headers["Sign"], subscription_secret)   # doctest: +SKIP
    True
    """
    body = _as_bytes(raw_body)
    expected = hmac_sha512_hex(secret_key or "", body).encode("ascii")
    candidate = sign.strip(_WHITESPACE) if isinstance(sign, str) else ""
    # Only ASCII is lower-cased: no other character may be folded into a hex digit.
    given = candidate.lower().encode("ascii") if candidate.isascii() else b""
    matches = hmac.compare_digest(expected, given)
    return matches and bool(secret_key) and bool(given)


def header_value(headers: Headers, name: str) -> str | None:
    """The value of header ``name`` (case-insensitive); ``None`` when absent.

    Two different values under the same name are ambiguous and raise ``WebhookSignatureError``.

    >>> header_value({"sign": "ab"}, "Sign")
    'ab'
    """
    wanted = name.lower()
    items: Iterable[Any]
    if isinstance(headers, Mapping):
        getall = getattr(headers, "getall", None)  # multidicts (aiohttp) hide repeated headers from .items()
        if callable(getall):
            try:
                values = [str(v) for v in getall(name, [])]
            except (KeyError, TypeError):
                values = []
            if values:
                return _single(values, name)
        items = headers.items()
    else:
        items = headers
    found = [str(value) for key, value in items if isinstance(key, str) and key.lower() == wanted]
    return _single(found, name) if found else None


def _single(values: list[str], name: str) -> str:
    if len(set(values)) > 1:
        raise WebhookSignatureError(f"webhook delivery carries several different {name!r} headers")
    return values[0]


def construct_event(
    raw_body: RawBody, headers: Headers, secret_key: str, *, public_key: str | None = None
) -> WebhookEvent:
    """Verify a delivery and parse it into a :class:`WebhookEvent`.

    ``headers`` are looked up case-insensitively. When ``public_key`` (the subscription's ``publicKey``) is
    given, the ``Key`` header must equal it. Raises :class:`~calypso_async.WebhookSignatureError` when the
    ``Sign`` header is missing or wrong (or ``Key`` does not match) and
    :class:`~calypso_async.WebhookPayloadError` when the signed body is not the documented envelope.

    >>> event = construct_event(await request.read(), request.headers, secret_key)   # doctest: +SKIP
    """
    body = _as_bytes(raw_body)
    if not secret_key:
        raise WebhookSignatureError("no webhook secret key configured for this delivery")
    if public_key is not None:
        key = header_value(headers, "Key")
        if key is None:
            raise WebhookSignatureError("webhook delivery has no 'Key' header")
        if not hmac.compare_digest(key.strip(_WHITESPACE).encode("utf-8"), public_key.encode("utf-8")):
            raise WebhookSignatureError("webhook 'Key' header is not this subscription's public key")
    sign = header_value(headers, "Sign")
    if sign is None or not sign.strip(_WHITESPACE):
        raise WebhookSignatureError("webhook delivery has no 'Sign' header")
    if not verify_signature(body, sign, secret_key):
        raise WebhookSignatureError("webhook 'Sign' header does not match the body")
    return parse_body(body)


def parse_body(raw_body: RawBody) -> WebhookEvent:
    """Parse a body without verifying it (only for bodies already verified, e.g. replayed from your store).

    >>> parse_body(stored_body).type   # doctest: +SKIP
    'INVOICE_PAID'
    """
    body = _as_bytes(raw_body)
    try:
        payload = _json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = str(exc)[:200]
        raise WebhookPayloadError(f"webhook body is not valid UTF-8 JSON ({reason})") from None
    try:
        return parse_event(payload)
    except WebhookPayloadError:
        raise
    except Exception as exc:  # untrusted input: nothing but a CalypsoError may escape
        raise WebhookPayloadError(f"webhook body could not be parsed: {type(exc).__name__}") from exc
