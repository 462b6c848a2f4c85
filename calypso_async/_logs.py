"""``CALYPSO_LOG=debug|info``: calypso's logging to stderr without writing any logging setup.

Like ``OPENAI_LOG``/``STRIPE_LOG``: set the variable, run your program, read what calypso did (each attempt
with its status and duration at ``debug``; retries, clock corrections and recoveries at ``info``). Applied
once per process, when the first client is created (or by the CLI). Lines go through a redacting filter as a
second line of defence: calypso never logs a secret, and a key, signature or proxy password that reached a
message some other way is masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys

__all__ = ["LOG_ENV", "RedactingFilter", "setup_logging"]

LOG_ENV = "CALYPSO_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT = "[%(asctime)s.%(msecs)03d %(levelname)s %(name)s] %(message)s"
_DATEFMT = "%Y-%m-%d %H:%M:%S"

_SECRETS = re.compile(
    r"(?i)(?P<name>\b(?:sign|secret[_-]?key|secret|api[_-]?key|key|password|proxy-authorization|authorization)"
    r"[\"']?\s*[:=]\s*[\"']?(?:basic\s+|bearer\s+)?)(?P<value>[^\s\"',;}]{8,})"
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)

_configured = False


def _redact(text: str) -> str:
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    return _SECRETS.sub(lambda m: f"{m['name']}{m['value'][:4]}…", text)


class RedactingFilter(logging.Filter):
    """Masks ``key=…``, ``Sign: …``, ``secret…``, ``Authorization`` values and URL credentials in a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(value: str | None = None) -> None:
    """Attach a stderr handler to the ``calypso`` logger when ``CALYPSO_LOG`` (or ``value``) is debug or info.

    >>> setup_logging("off")  # anything else leaves logging as your application configured it
    """
    global _configured
    if _configured:
        return
    raw = os.environ.get(LOG_ENV, "") if value is None else value
    level = _LEVELS.get(raw.strip().lower())
    if level is None:
        return
    _configured = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, _DATEFMT))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("calypso")
    logger.addHandler(handler)
    logger.setLevel(level)
