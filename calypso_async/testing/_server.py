"""``FakeCalypso``: an aiohttp application that speaks the Calypso Pay protocol on loopback.

Why a real HTTP server rather than a mocked transport: the SDK's hard parts (exact signed bytes, the ``Date``
clock, timeouts, dropped connections, truncated bodies) live in the HTTP exchange itself, so the fake has to
be on the other end of a socket. It checks every request the way the reference describes, in this order:

1. ``Key`` header is the API key (401 / 002);
2. ``Sign`` is HMAC-SHA512 of the raw body with the secret key (401 / 003);
3. the body is a JSON object whose integer ``timestamp`` is within ±180,000 ms of the server clock (011);
4. the envelope matches the operation's ``x-envelope`` (``account``/``payload``; unknown account 004);
5. ``payload`` matches the operation's request schema from the vendored spec (001, naming the field).

Every answer carries a ``Date`` header from the server's (possibly skewed) clock; every error carries the
reference's body ``{"errorCode", "message", "traceId"}``. Faults (:mod:`._faults`) are applied around this.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import attrs
from aiohttp import web

from .. import _json
from .._client import AsyncCalypso
from .._signing import mask
from . import _control
from . import handlers as _handlers
from ._call import Call
from ._errors import FakeArgumentError, FakeServerError, FakeServerStateError, UnknownObjectError
from ._faults import Fault, FaultBook, drop_connection, send_truncated
from ._http import Answer, ApiError, bad_request, http_date
from ._state import Account, State
from ._validation import OperationSpec, Validator, decode_raw, operations
from ._webhooks import WebhookDispatcher

__all__ = ["TIMESTAMP_WINDOW_MS", "FakeCalypso", "RecordedRequest"]

logger = logging.getLogger("calypso.testing")

TIMESTAMP_WINDOW_MS = 180_000
"""The reference's window: ±3 minutes around the server clock."""

T = TypeVar("T")


def _masked(headers: dict[str, str]) -> dict[str, str]:
    return {name: mask(value) if name.lower() in ("key", "sign") else value for name, value in headers.items()}


@attrs.define
class RecordedRequest:
    """One request as the server received it (``server.requests``), with the status it was answered."""

    method: str
    path: str
    headers: dict[str, str] = attrs.field(repr=lambda headers: repr(_masked(headers)))
    """As received; ``repr`` masks ``Key`` and ``Sign`` (test output must not show credentials)."""
    body: bytes
    json: Any
    """``body`` decoded with ``calypso_async._json.loads`` (numbers as ``Decimal``); ``None`` if not JSON."""
    status: int | None = None
    """HTTP status answered; ``None`` while in flight or when the connection was dropped."""
    operation: str | None = None
    """SDK name of the operation (``payouts.create``), ``None`` for unknown paths."""


_RUNNING: weakref.WeakSet[FakeCalypso] = weakref.WeakSet()
"""Started servers, so that ``calypso_sync`` can refuse at once a call that would block its server's own loop."""


def base_urls_served_on(loop: asyncio.AbstractEventLoop) -> set[str]:
    """The base URLs of the fake servers running on ``loop``."""
    return {s._base_url for s in list(_RUNNING) if s._loop is loop and s._base_url is not None}


class FakeCalypso:
    """A Calypso Pay server for tests, demos and benchmarks; see the package docstring for the tour."""

    def __init__(
        self,
        seed: int = 0,
        skew: float = 0.0,
        latency: float = 0.0,
        webhook_time_scale: float = 1.0,
        *,
        accounts: int | None = None,
    ) -> None:
        """``accounts=N``: the server has exactly N accounts (default: the 3 or 4 seeded ones).

        >>> len(FakeCalypso(accounts=10_000).accounts)
        10000

        Thousands are cheap: accounts beyond the seeded ones are made when first read, each holding 1 BTC and
        100 USDT_TRX; :meth:`set_balance` and :meth:`add_account` work on them as on any other.
        """
        self.seed = seed
        self._skew = float(skew)
        self.latency = float(latency)
        self.state = State(seed, self.now, self._emit, accounts=accounts)
        """The server's data; read it in tests, prefer the helper methods to change it."""
        self.webhooks = WebhookDispatcher(time_scale=webhook_time_scale, now=self.now)
        self.state.webhooks = self.webhooks
        _handlers.seed(self.state)
        self.requests: list[RecordedRequest] = []
        self._faults = FaultBook()
        self._validator = Validator()
        self._exact: dict[str, list[OperationSpec]] = {}
        self._templated: list[OperationSpec] = []
        for op in operations():
            if op.pattern is None:
                self._exact.setdefault(op.path, []).append(op)
            else:
                self._templated.append(op)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stopping: asyncio.Event | None = None
        self._trace_count = 0

    def __repr__(self) -> str:
        where = self._base_url or "not started"
        return f"FakeCalypso(seed={self.seed}, base_url={where!r}, api_key={mask(self.api_key)!r})"

    # ---------------------------------------------------------------------------------- identity

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise FakeServerStateError("FakeCalypso is not started: await server.start() first")
        return self._base_url

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    @property
    def accounts(self) -> list[str]:
        return list(self.state.accounts)

    @property
    def account_id(self) -> str:
        return next(iter(self.state.accounts))

    def client(self, **overrides: Any) -> AsyncCalypso:
        """An ``AsyncCalypso`` for this server (keys, default account, base URL); ``overrides`` win."""
        options: dict[str, Any] = {
            "api_key": self.api_key,
            "secret_key": self.secret_key,
            "account": self.account_id,
            "base_url": self.base_url,
        }
        options.update(overrides)
        return AsyncCalypso(**options)

    # ------------------------------------------------------------------------------------- clock

    def now(self) -> float:
        """Server time in Unix seconds: real time plus ``skew``."""
        return time.time() + self._skew

    @property
    def skew(self) -> float:
        """Seconds the server clock runs ahead of real time (negative: behind)."""
        return self._skew

    def set_skew(self, seconds: float) -> None:
        self._skew = float(seconds)

    # ------------------------------------------------------------------------------------ faults

    def inject(self, path: str, fault: Fault) -> None:
        """Queue ``fault`` for requests to ``path`` (e.g. ``"/api/v1/account"``) or ``"*"`` for any path."""
        if not isinstance(fault, Fault):
            raise FakeArgumentError(f"fault must be a Fault (e.g. Fault.status(503)), not {type(fault).__name__}")
        if path != "*" and not path.startswith("/"):
            path = "/" + path
        self._in_loop(lambda: self._faults.add(path, fault))

    def clear_faults(self) -> None:
        self._in_loop(self._faults.clear)

    @property
    def pending_faults(self) -> int:
        """Fault hits still queued (0 once every injected fault was consumed)."""
        return self._faults.pending()

    # ------------------------------------------------------------------------------- data helpers

    def balance(self, account_id: str, currency: str) -> Decimal:
        """The account's balance in ``currency`` (0 when it holds none); :class:`UnknownObjectError` (a ``LookupError``)
        for an unknown account."""
        self._known_account(account_id)
        return self._in_loop(lambda: self.state.balance(account_id, currency))

    def set_balance(self, account_id: str, currency: str, amount: Decimal) -> None:
        """Set a balance exactly (any currency code; it shows in ``account.get``)."""
        if not isinstance(amount, Decimal):
            raise FakeArgumentError(f"amount must be a Decimal (exact), not {type(amount).__name__}")
        self._known_account(account_id)

        def apply() -> None:
            self.state.accounts[account_id].balances[currency] = amount

        self._in_loop(apply)

    def add_account(
        self, account_id: str | None = None, *, balances: dict[str, Decimal] | None = None, name: str | None = None
    ) -> str:
        """Create one more account (an id is made up when none is given); returns its id.

        >>> server.add_account(balances={"BTC": Decimal("0.5")})  # doctest: +SKIP
        '0x3f9c…'
        """
        accounts = self.state.accounts
        if account_id is None:
            account_id = "0x" + hashlib.sha256(f"{self.seed}:added:{len(accounts)}".encode()).hexdigest()[:40]
        if not isinstance(account_id, str) or not account_id:
            raise FakeArgumentError("account_id must be a non-empty string")
        if any(not isinstance(amount, Decimal) for amount in (balances or {}).values()):
            raise FakeArgumentError("balances must be Decimal amounts")
        owner = next(iter(accounts.explicit())).owner_id

        def apply() -> None:
            if account_id in accounts:
                raise FakeArgumentError(f"account {account_id!r} exists already")
            label = name or f"Account {len(accounts) + 1}"
            accounts[account_id] = Account(account_id, label, owner, dict(balances or {}))

        self._in_loop(apply)
        return account_id

    def _known_account(self, account_id: str) -> None:
        accounts = self.state.accounts
        if account_id not in accounts:
            known = ", ".join(accounts) if len(accounts) <= 10 else f"{len(accounts):,} accounts"
            raise UnknownObjectError(f"no account {account_id!r}; known: {known}")

    def pay_invoice(
        self, invoice_id_or_key: str, amount: Decimal | None = None, *, currency: str | None = None
    ) -> dict[str, Any]:
        """Simulate a customer paying an invoice; returns the invoice as ``invoices.get`` would."""
        return self._in_loop(lambda: _handlers.pay_invoice(self.state, invoice_id_or_key, amount, currency))

    def select_widget_currency(self, widget_key: str, currency: str) -> dict[str, Any]:
        """The payer picks ``currency`` on a payment widget: an invoice is created under it (and returned)."""
        return self._in_loop(lambda: _handlers.select_widget_currency(self.state, widget_key, currency))

    def advance_payouts(self, steps: int | None = None) -> int:
        """Move payouts along CREATED -> IN_PROGRESS -> COMPLETED (mass: CREATION_IN_PROGRESS -> IN_PROGRESS ->
        COMPLETED or PARTIAL), emitting ``PAYOUT_CHANGE_STATUS``; ``steps=None`` goes to the end.

        Returns how many state changes happened (0 when every payout is final or waits for its executionDate).
        """
        return self._in_loop(lambda: _handlers.advance_payouts(self.state, steps))

    def fail_payout(
        self, payout_id_or_key: str, message: str = "Transaction rejected by the network"
    ) -> dict[str, Any]:
        """Fail an open payout: amount and fee are refunded, ``PAYOUT_VALIDATION_ERROR`` and FAILED emitted."""
        return self._in_loop(lambda: _handlers.fail_payout(self.state, payout_id_or_key, message))

    def add_purse_transactions(
        self, customer_id: str, n: int, *, currency: str = "USDT_TRX", state: str = "CONFIRMED"
    ) -> list[dict[str, Any]]:
        """Seed ``n`` deposit transactions for a customer (history only: balances are not touched)."""
        return self._in_loop(lambda: _handlers.add_purse_transactions(self.state, customer_id, n, currency, state))

    def deposit_to_purse(self, customer_id: str, currency: str, amount: Decimal) -> dict[str, Any]:
        """A live customer deposit: purse webhooks through to TRANSLATION_TO_ACCOUNT_COMPLETED, balance credited."""
        return self._in_loop(lambda: _handlers.deposit(self.state, customer_id, currency, amount))

    def _emit(self, event_type: str, service: str, data: dict[str, Any]) -> None:
        self.webhooks.emit(event_type, service, data)

    def _in_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (helpers called from a sync test while the server runs in a thread)."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.get_ident() == self._loop_thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        try:
            return future.result(timeout=30)
        except concurrent.futures.TimeoutError:
            raise FakeServerError("the fake server's event loop did not run the helper within 30 s") from None

    # --------------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, control: bool | None = None) -> None:
        """Serve on ``host:port`` (0: a free port). ``control`` enables the ``/_fake/`` control endpoints
        (:mod:`._control`); by default they answer only when ``host`` is a loopback address."""
        if self._runner is not None:
            raise FakeServerStateError("FakeCalypso is already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(_control.control_routes(self, _control.is_loopback(host) if control is None else control))
        app.router.add_route("*", "/{tail:.*}", self._entry)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.webhooks.attach(self._loop)
        self._stopping = asyncio.Event()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self._base_url = f"http://{shown}:{bound_port}"
        _RUNNING.add(self)

    async def stop(self) -> None:
        runner = self._runner
        if runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        self._runner = None
        _RUNNING.discard(self)
        await runner.cleanup()
        await self.webhooks.aclose()
        self._base_url = None
        self._loop = None
        self._loop_thread = None

    async def __aenter__(self) -> FakeCalypso:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(
        cls, *, host: str = "127.0.0.1", port: int = 0, control: bool | None = None, **kwargs: Any
    ) -> Iterator[FakeCalypso]:
        """Run a server on its own event loop in a daemon thread, for sync tests and scripts.

        >>> with FakeCalypso.run_in_thread(seed=1) as server:  # doctest: +SKIP
        ...     print(server.base_url)
        """
        server = cls(**kwargs)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-calypso", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(server.start(host, port, control=control), loop).result(timeout=30)
            try:
                yield server
            finally:
                asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()

    # -------------------------------------------------------------------------------- the exchange

    def _trace_id(self) -> str:
        self._trace_count += 1
        return hashlib.sha256(f"{self.seed}:{self._trace_count}".encode()).hexdigest()[:24]

    async def _pause(self, seconds: float) -> None:
        """Sleep that ends early when the server stops (so a delayed answer never holds up ``stop``)."""
        if seconds <= 0:
            return
        stopping = self._stopping
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            decoded = _json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            decoded = None
        record = RecordedRequest(request.method, request.path, dict(request.headers), body, decoded)
        with contextlib.suppress(ApiError):
            record.operation = self._route(request.method, request.path)[0].name
        self.requests.append(record)
        fault = self._faults.take(request.path)
        if fault is not None and fault.kind == "skew_jump":
            self._skew += fault.seconds
            fault = None
        if fault is not None and fault.kind == "drop":
            return drop_connection(request)
        if fault is not None and fault.kind == "status":
            answer = fault.error_answer(self._trace_id())
        else:
            answer = self._process(request, body, record)
            if fault is not None and fault.kind == "drop_after_processing":
                return drop_connection(request)
            if fault is not None and fault.kind == "delay":
                await self._pause(fault.seconds)
            if fault is not None:
                answer = fault.rewrite(answer)
        await self._pause(self.latency)
        headers = dict(answer.headers)
        headers["Date"] = http_date(self.now())
        record.status = answer.status
        if fault is not None and fault.kind == "truncated":
            return await send_truncated(request, answer, headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def _route(self, method: str, path: str) -> tuple[OperationSpec, dict[str, str]]:
        candidates = self._exact.get(path)
        params: dict[str, str] = {}
        if candidates is None:
            for op in self._templated:
                assert op.pattern is not None
                match = op.pattern.match(path)
                if match:
                    candidates, params = [op], match.groupdict()
                    break
        if not candidates:
            raise ApiError(404, "004", f"No operation at {path}")
        for op in candidates:
            if op.method == method:
                return op, params
        allowed = ", ".join(op.method for op in candidates)
        raise ApiError(405, "001", f"Method {method} not allowed at {path} (use {allowed})")

    def _process(self, request: web.Request, body: bytes, record: RecordedRequest) -> Answer:
        try:
            op, params = self._route(request.method, request.path)
            call = self._check(op, request, body, record.json, params)
            handler = _handlers.HANDLERS.get(op.name)
            if handler is None:
                raise ApiError(501, "000", f"{op.name} is not implemented by the fake server")
            result = handler(call)
        except ApiError as exc:
            return Answer(exc.status, _json.dumps(exc.body(self._trace_id())))
        except Exception as exc:
            logger.exception("fake calypso: handler failed")
            error = ApiError(500, "000", f"Internal server error ({type(exc).__name__}: {exc})")
            return Answer(500, _json.dumps(error.body(self._trace_id())))
        return Answer(200, b"" if result is None else _json.dumps(result))

    def _check(
        self, op: OperationSpec, request: web.Request, body: bytes, decoded: Any, params: dict[str, str]
    ) -> Call:
        state = self.state
        if request.headers.get("Key", "") != state.api_key:
            raise ApiError(401, "002", "Invalid API key")
        sign = request.headers.get("Sign", "").strip().lower()
        expected = hmac.new(state.secret_key.encode("utf-8"), body, hashlib.sha512).hexdigest()
        if not hmac.compare_digest(expected, sign):
            raise ApiError(401, "003", "Wrong signature: Sign must be the HMAC-SHA512 hex of the raw body")
        if not isinstance(decoded, dict):
            raise bad_request("Request body must be a JSON object")
        timestamp = decoded.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise ApiError(400, "011", "Invalid timestamp: timestamp must be an integer (Unix time in milliseconds)")
        server_ms = int(self.now() * 1000)
        if abs(timestamp - server_ms) > TIMESTAMP_WINDOW_MS:
            raise ApiError(
                400,
                "011",
                f"Invalid timestamp: {timestamp} is {timestamp - server_ms:+d} ms from server time {server_ms}; "
                f"it must be within ±{TIMESTAMP_WINDOW_MS} ms (3 minutes)",
            )
        account = decoded.get("account")
        if op.account:
            if account is None:
                raise bad_request(f"account is required for {op.name}")
            if not isinstance(account, str):
                raise bad_request("account must be a string")
            state.account(account)
        elif account is not None:
            raise bad_request(f"account must not be sent for {op.name}")
        payload = decoded.get("payload")
        if op.payload == "required" and payload is None:
            raise bad_request(f"payload is required for {op.name}")
        if op.payload == "none" and payload is not None:
            raise bad_request(f"payload must not be sent for {op.name}")
        if payload is not None:
            if not isinstance(payload, dict):
                raise bad_request("payload must be a JSON object")
            schema = self._validator.payload_schema(op.request_schema)
            if schema is not None:
                problem = self._validator.check(schema, decode_raw(body).get("payload"), "payload")
                if problem:
                    raise bad_request(f"Validation failed: {problem}")
        return Call(op.name, state, account or "", payload or {}, params)
