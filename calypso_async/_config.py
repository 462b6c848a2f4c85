"""Defaults and environment variables, in one place.

Environment: ``CALYPSO_API_KEY``, ``CALYPSO_SECRET_KEY``, ``CALYPSO_ACCOUNT``, ``CALYPSO_BASE_URL``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "check_base_url",
    "check_int",
    "check_seconds",
    "resolve_credentials",
]

DEFAULT_BASE_URL = "https://api.calypso.finance"
DEFAULT_TIMEOUT = 30.0
"""Seconds per attempt for the whole exchange (connect, send, answer)."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to get a connection (including waiting for a free one in the pool)."""
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Answers larger than this are refused (a 1,000-item page is well under 1 MiB)."""
DEFAULT_POOL_SIZE = 100


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() or None if value is not None else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_text(value: Any, argument: str, variable: str, *, secret: bool) -> None:
    """Refuse non-strings and control characters (CR/LF, NUL, a trailing newline read from a file) at once.

    Such a value would otherwise fail every call later, inside aiohttp; the message names where the value came
    from and never shows it.
    """
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, got {type(value).__name__}")
    match = _CONTROL.search(value)
    if match is not None:
        where = "at its end" if match.start() == len(value) - 1 else f"at position {match.start()}"
        shown = "" if secret else f" ({value!r})"
        raise ValueError(
            f"{argument} (or {variable}) contains a control character {where} (code {ord(match.group()):#04x})"
            f"{shown}; remove it (e.g. .strip() a value read from a file)"
        )


def check_seconds(value: Any, argument: str) -> float:
    """A positive, finite number of seconds (int or float, not bool or str)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{argument} must be a number of seconds (int or float), got {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{argument} must be a positive, finite number of seconds, got {value!r}")
    return seconds


def check_int(value: Any, argument: str, *, minimum: int) -> int:
    """An ``int`` (not bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{argument} must be >= {minimum}, got {value!r}")
    return value


def resolve_credentials(
    api_key: str | None, secret_key: str | None, account: str | None, base_url: str | None
) -> tuple[str, str, str | None, str]:
    """Fill missing arguments from the environment; a missing key is an error now, not at the first call."""
    api_key = api_key or _env("CALYPSO_API_KEY")
    secret_key = secret_key or _env("CALYPSO_SECRET_KEY")
    account = account or _env("CALYPSO_ACCOUNT")
    base_url = base_url or _env("CALYPSO_BASE_URL") or DEFAULT_BASE_URL
    missing = [
        name
        for name, value in (("api_key (CALYPSO_API_KEY)", api_key), ("secret_key (CALYPSO_SECRET_KEY)", secret_key))
        if not value
    ]
    if missing:
        raise ValueError(
            "calypso needs its API keys: pass " + " and ".join(missing) + " or set the environment variable"
        )
    assert api_key is not None and secret_key is not None
    _check_text(api_key, "api_key", "CALYPSO_API_KEY", secret=True)
    _check_text(secret_key, "secret_key", "CALYPSO_SECRET_KEY", secret=True)
    if account is not None:
        _check_text(account, "account", "CALYPSO_ACCOUNT", secret=False)
    _check_text(base_url, "base_url", "CALYPSO_BASE_URL", secret=False)
    return api_key, secret_key, account, base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """Refuse plain ``http://`` except on loopback (the fake server) or when explicitly allowed."""
    _check_text(base_url, "base_url", "CALYPSO_BASE_URL", secret=False)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing plain http:// for {parts.hostname}: API keys and signed requests would travel "
            "unencrypted; use https, or pass allow_insecure_http=True if you really mean it"
        )
    return base_url.rstrip("/")
