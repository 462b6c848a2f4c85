"""The fake server's own errors: a helper misused (not started, an unknown id, a wrong argument).

Why separate from the API errors: those are what the fake server *answers* (``BadRequestError`` for a bad
payload), raised in the client; these are raised by the server's Python helpers in your test. They are
``CalypsoError`` subclasses like every calypso error, and keep the built-in base a caller may already catch
(``RuntimeError``, ``LookupError``/``KeyError``, ``ValueError``/``TypeError``).
"""

from __future__ import annotations

from .._errors import CalypsoError

__all__ = ["FakeArgumentError", "FakeServerError", "FakeServerStateError", "UnknownObjectError"]


class FakeServerError(CalypsoError):
    """Root of the errors the fake server's helpers raise."""


class FakeServerStateError(FakeServerError, RuntimeError):
    """The server is not in the state the call needs (``base_url`` before ``start()``, ``start()`` twice)."""


class UnknownObjectError(FakeServerError, KeyError):
    """No object with that id (invoice, payout, account, customer, widget, webhook subscription)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class FakeArgumentError(FakeServerError, ValueError, TypeError):
    """An argument of the wrong type or value (``set_balance`` with a float, ``inject`` without a ``Fault``)."""
