"""What every command shares: exit codes, the error line, argument types, the client, confirmation.

Why exit codes are a contract: scripts branch on them (retry on 3, page a human on 4, reject a delivery on 5),
so each one means exactly one kind of outcome, and 2 always means *nothing was sent*:

====  =======================================================================================================
0     success
1     the API answered with an error, or an answer / delivery could not be understood
2     usage or configuration error, or a confirmation was declined: no request was sent
3     connection error or timeout (the request may not have reached Calypso; a keyed create is safe to repeat
      with the same idempotency key)
4     outcome unknown: a money-moving call without idempotency key failed ambiguously; check before repeating
5     webhook signature invalid
130   interrupted (Ctrl-C)
====  =======================================================================================================

Errors are one line on stderr, ``calypso: error: <Class>: <message> (HTTP 404, errorCode 004, traceId …)``, with
the full traceback only under ``--debug``. Amounts on the command line become ``Decimal`` (a float would round
``0.1`` before it is signed); everything asynchronous runs inside one ``asyncio.run`` per invocation (the CLI is
a short-lived process, and the async client is the SDK's core).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any, TypeVar

from .._client import AsyncCalypso
from .._errors import (
    APIConnectionError,
    APIError,
    CalypsoError,
    InvalidResponseError,
    OutcomeUnknownError,
    WebhookSignatureError,
)
from .._logs import LOG_ENV, RedactingFilter
from .._timestamps import parse_iso_datetime
from . import _profiles
from ._output import Progress, dumps_json, render_kv, render_table

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_BAD_SIGNATURE",
    "EXIT_CONNECTION",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUTCOME_UNKNOWN",
    "EXIT_USAGE",
    "Context",
    "UsageError",
    "amount_arg",
    "describe_error",
    "exit_code_for",
    "iso_datetime",
    "positive_float",
    "set_hint",
]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_OUTCOME_UNKNOWN = 4
EXIT_BAD_SIGNATURE = 5
EXIT_INTERRUPTED = 130

T = TypeVar("T")


class UsageError(Exception):
    """A usage or configuration problem found before anything was sent (exit code 2)."""


# --------------------------------------------------------------------------------------- argument types


def amount_arg(text: str) -> Decimal:
    """argparse type: an exact, finite, non-negative ``Decimal`` (``1e-8`` and ``0.1`` are kept exactly)."""
    cleaned = text.strip().replace("_", "")
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise argparse.ArgumentTypeError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"amount must be finite, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"amount must not be negative, got {text!r}")
    return value


def iso_datetime(text: str) -> str:
    """argparse type: an ISO-8601 date-time (``2025-03-01T10:00:00Z``), checked here and sent as written."""
    candidate = text.strip()
    try:
        parse_iso_datetime(candidate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date-time (e.g. 2025-03-01T10:00:00Z): {text!r}") from None
    return candidate


def positive_float(text: str) -> float:
    """argparse type: seconds, > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


# ------------------------------------------------------------------------------------------- errors


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an exception (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (UsageError, _profiles.ConfigError)):
        return EXIT_USAGE
    if isinstance(exc, OutcomeUnknownError):
        return EXIT_OUTCOME_UNKNOWN
    if isinstance(exc, WebhookSignatureError):
        return EXIT_BAD_SIGNATURE
    if isinstance(exc, APIConnectionError):
        return EXIT_CONNECTION
    if isinstance(exc, CalypsoError):
        return EXIT_API_ERROR
    if isinstance(exc, ValueError):  # the SDK's argument checks (nothing sent yet)
        return EXIT_USAGE
    return EXIT_API_ERROR


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_error(exc: BaseException) -> str:
    """One readable line: class, message, and what support asks for (HTTP status, errorCode, traceId)."""
    if isinstance(exc, (UsageError, _profiles.ConfigError)):
        return _one_line(str(exc))
    name = type(exc).__name__
    if isinstance(exc, APIError):
        details = [f"HTTP {exc.status_code}"]
        if exc.error_code:
            details.append(f"errorCode {exc.error_code}")
        if exc.trace_id:
            details.append(f"traceId {exc.trace_id}")
        if exc.operation:
            details.append(f"operation {exc.operation}")
        if exc.idempotency_key:
            details.append(f"idempotencyKey {exc.idempotency_key}")
        return _one_line(f"{name}: {exc.message} ({', '.join(details)})")
    details = []
    operation = getattr(exc, "operation", None)
    if operation:
        details.append(f"operation {operation}")
    if isinstance(exc, InvalidResponseError) and exc.status_code is not None:
        details.append(f"HTTP {exc.status_code}")
    key = getattr(exc, "idempotency_key", None)
    if key:
        details.append(f"idempotencyKey {key}")
    message = getattr(exc, "message", None) or str(exc) or name
    tail = f" ({', '.join(details)})" if details else ""
    return _one_line(f"{name}: {message}{tail}")


def set_hint(exc: BaseException, hint: str) -> None:
    """Attach advice that :func:`report` appends to the error line (e.g. how to check an uncertain payout)."""
    exc.cli_hint = hint  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------- context


class Context:
    """One invocation: parsed arguments, the streams, output helpers and the client factory."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.args = args
        self.stdout: IO[str] = stdout if stdout is not None else sys.stdout
        self.stderr: IO[str] = stderr if stderr is not None else sys.stderr
        self.stdin: IO[str] = stdin if stdin is not None else sys.stdin
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ
        self._credentials: _profiles.Credentials | None = None

    # options shared by every command (SUPPRESS defaults: they may stand before or after the command)

    def opt(self, name: str, default: Any = None) -> Any:
        return getattr(self.args, name, default)

    @property
    def json(self) -> bool:
        return bool(self.opt("json", False))

    @property
    def debug(self) -> bool:
        return bool(self.opt("debug", False))

    @property
    def quiet(self) -> bool:
        return bool(self.opt("quiet", False))

    def accounts(self) -> list[str]:
        """Every ``--account`` given (commands that act on several accounts)."""
        return [a for a in (self.opt("account") or []) if a]

    def single_account(self) -> str | None:
        given = self.accounts()
        if len(given) > 1:
            raise UsageError(f"{self.opt('command', 'this command')} acts on one account; got {len(given)} --account")
        return given[0] if given else None

    # printing

    def print(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            self.print(line)

    def note(self, text: str, *, always: bool = False) -> None:
        """Information for people, on stderr (never mixed into ``--json`` output); silenced by ``--quiet``
        unless ``always`` (a generated idempotency key: the one record that finds an uncertain payout)."""
        if always or not self.quiet:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    def warn(self, text: str) -> None:
        self.stderr.write(f"calypso: warning: {text}\n")
        self.stderr.flush()

    def print_json(self, data: Any) -> None:
        self.print(dumps_json(data))

    def kv(self, pairs: list[tuple[str, Any]]) -> None:
        self.lines(render_kv(pairs))

    def table(self, headers: list[str], rows: list[list[Any]]) -> None:
        self.lines(render_table(headers, rows))

    def progress(self) -> Progress:
        return Progress(self.stderr, enabled=not self.quiet)

    def is_tty(self, stream: IO[str]) -> bool:
        isatty = getattr(stream, "isatty", None)
        try:
            return bool(isatty()) if callable(isatty) else False
        except ValueError:  # closed stream
            return False

    # confirmation

    def confirm(self, question: str) -> None:
        """Ask before moving money; ``--yes`` skips. Not answerable (no terminal) or declined: UsageError."""
        if self.opt("yes", False):
            return
        if not self.is_tty(self.stdin):
            raise UsageError(
                f"no terminal to confirm on ({question}); pass --yes to confirm non-interactively. Nothing was sent"
            )
        self.stderr.write(f"{question} [y/N] ")
        self.stderr.flush()
        answer = self.stdin.readline()
        if answer.strip().lower() not in ("y", "yes"):
            raise UsageError("not confirmed. Nothing was sent")

    # credentials and the client

    def credentials(self) -> _profiles.Credentials:
        if self._credentials is None:
            notes: list[str] = []
            given = self.accounts()
            self._credentials = _profiles.resolve(
                self.environ,
                profile=self.opt("profile"),
                account=given[0] if len(given) == 1 else None,
                base_url=self.opt("base_url"),
                warnings=notes,
            )
            for note in notes:
                self.warn(note)
        return self._credentials

    def make_client(self) -> AsyncCalypso:
        """An ``AsyncCalypso`` from the resolved credentials and ``--timeout`` / ``--max-retries``."""
        creds = self.credentials()
        options: dict[str, Any] = {}
        if self.opt("timeout") is not None:
            options["timeout"] = self.opt("timeout")
        if self.opt("max_retries") is not None:
            options["max_retries"] = self.opt("max_retries")
        client = AsyncCalypso(
            creds.api_key, creds.secret_key, account=creds.account, base_url=creds.base_url, **options
        )
        client.account_id = creds.account  # the SDK would fall back to CALYPSO_ACCOUNT; a profile is self-contained
        return client

    def run(self, work: Callable[[AsyncCalypso], Awaitable[T]]) -> T:
        """Resolve credentials (errors before any event loop), then run ``work(client)`` in ``asyncio.run``."""
        self.credentials()

        async def main() -> T:
            async with self.make_client() as client:
                return await work(client)

        return run_interruptibly(main)

    def run_plain(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """``asyncio.run`` for commands that need no credentials (webhook receiver)."""
        return run_interruptibly(work)


def run_interruptibly(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(work())`` where Ctrl-C cancels the work, lets it clean up, then raises KeyboardInterrupt.

    The same on every Python: 3.10's ``asyncio.run`` lets SIGINT raise wherever the loop happens to be, leaving
    tasks half-finished and "Task exception was never retrieved" noise. Here SIGINT cancels the main task, whose
    ``finally`` blocks and ``async with`` exits run (connections closed, pollers stopped); the interruption is
    re-raised only after the loop has shut down, and :func:`report` turns it into exit code 130.
    """
    interrupted = False

    async def main() -> T | None:
        nonlocal interrupted
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            if task is not None:
                task.cancel()

        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
        try:
            return await work()
        except asyncio.CancelledError:
            if interrupted:
                return None
            raise
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    result = asyncio.run(main())
    if interrupted:
        raise KeyboardInterrupt
    return result  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------- reporting


def report(exc: BaseException, stderr: IO[str], *, debug: bool) -> int:
    """Show ``exc`` (one line, traceback with ``--debug``) and return its exit code."""
    code = exit_code_for(exc)
    if isinstance(exc, KeyboardInterrupt):
        stderr.write("calypso: interrupted\n")
        return code
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=stderr)
    known = isinstance(exc, (CalypsoError, UsageError, _profiles.ConfigError, ValueError))
    line = describe_error(exc)
    if not known:
        line = f"unexpected {line} (a bug in calypso? run with --debug for the traceback)"
    hint = getattr(exc, "cli_hint", None)
    if isinstance(hint, str) and hint:
        line = f"{line}; {hint}"
    stderr.write(f"calypso: error: {line}\n")
    stderr.flush()
    return code


class _CliFormatter(logging.Formatter):
    """``calypso: warning: ...``: log lines read like the CLI's own ``calypso: error: ...`` lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"calypso: {record.levelname.lower()}: {super().format(record)}"


def configure_logging(debug: bool, stream: IO[str]) -> Callable[[], None]:
    """``--debug``: calypso's DEBUG logs on stderr (the SDK never logs secrets); else ``CALYPSO_LOG``'s level
    (debug or info); otherwise warnings only.

    Returns a function that puts the ``calypso`` logger back as it was (``main()`` runs in-process in tests and
    in programs that embed the CLI, whose logging must not change behind their back).
    """
    logger = logging.getLogger("calypso")
    saved = (logger.level, logger.propagate)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_CliFormatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    from_env = {"debug": logging.DEBUG, "info": logging.INFO}.get(os.environ.get(LOG_ENV, "").strip().lower())
    logger.setLevel(logging.DEBUG if debug else from_env or logging.WARNING)
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]

    return restore
