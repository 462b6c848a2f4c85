"""``AsyncAPIClient``: the hand-written engine under the generated ``AsyncCalypso``; every call goes through it.

It knows nothing about endpoints: each call brings its :class:`~calypso_async._operation.Operation` (generated
from the spec), which says how to send it, how to retry it and what the answer is.

A call, start to finish (:meth:`AsyncAPIClient._call`):

1. the payload is validated and encoded **once** (``_json.dumps``); a money-moving create gets its
   ``idempotencyKey`` here, generated when the caller gave none;
2. each attempt stamps a fresh ``timestamp`` from :class:`~calypso_async._clock.ServerClock`, splices it into
   the envelope bytes, signs exactly those bytes and sends exactly those bytes;
3. the answer teaches the clock (``Date`` header); a timestamp rejection (011) re-anchors the clock and the
   attempt is re-signed and sent once more at once;
4. failures go to :class:`~calypso_async._retry.RetryPolicy` (tenacity): reads and keyed creates retry
   connection errors, timeouts, 408/429/5xx; a keyed create that meets "duplicate key" on a retry fetches the
   object its first attempt created with ``op.lookup`` (the reference's recipe); an operation with
   ``blind_retry=False`` is never retried after an ambiguous failure and raises
   :class:`~calypso_async.OutcomeUnknownError`;
5. the JSON answer (numbers as ``Decimal``) is structured into the operation's model.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aiohttp
import attrs

from . import _json
from ._clock import ServerClock, parse_retry_after
from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    check_base_url,
    check_int,
    check_seconds,
    resolve_credentials,
)
from ._errors import (
    APIError,
    CalypsoError,
    ClientClosedError,
    DuplicateIdempotencyKeyError,
    InvalidResponseError,
    InvalidTimestampError,
    NotFoundError,
    OutcomeUnknownError,
    error_class_for,
)
from ._hooks import EventHook
from ._idempotency import mismatches
from ._network import VerifyTypes
from ._observe import CallRecord, current_record, make_observer, observed
from ._otel import TracerProviderLike
from ._retry import RetryMode, RetryPolicy, is_ambiguous
from ._signing import Signer, mask
from ._transport import AiohttpTransport, AsyncTransport, Request, Response

__all__ = ["NOT_GIVEN", "AsyncAPIClient"]

if TYPE_CHECKING:
    import cattrs

    from ._operation import Lookup, Operation

logger = logging.getLogger("calypso")

_converter: cattrs.Converter | None = None
"""The models' converter (cattrs), once a call has needed it."""


def _load_converter() -> cattrs.Converter:
    # Imported with the first call that sends or reads a model, not with the package (cattrs and the model
    # machinery are most of an import's cost); kept here, because an import statement in the hot path costs a
    # microsecond on every call even when the module is loaded.
    global _converter
    from ._model import converter

    _converter = converter
    return converter


_Self = TypeVar("_Self", bound="AsyncAPIClient")


class _NotGiven:
    """Sentinel: "argument not passed" (distinct from an explicit ``None``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()

T = TypeVar("T")


class _Prepared:
    """One logical call, encoded once; ``body(ts)`` gives the exact bytes of one attempt."""

    __slots__ = (
        "account",
        "fresh",
        "idempotency_key",
        "op",
        "prefix",
        "record",
        "sent",
        "suffix",
        "timeout",
        "url",
        "went",
    )

    def __init__(
        self,
        op: Operation[Any],
        url: str,
        prefix: bytes,
        suffix: bytes,
        timeout: float,
        idempotency_key: str | None,
        account: str | None,
        sent: Any = None,
    ) -> None:
        self.op = op
        self.url = url
        self.prefix = prefix
        self.suffix = suffix
        self.timeout = timeout
        self.idempotency_key = idempotency_key
        self.account = account
        self.sent = sent
        """The payload as sent (wire names), kept for a keyed create to compare with what its key finds."""
        self.fresh = False
        """Send on a new connection: an un-keyed money-moving call must not meet a stale pooled connection."""
        self.went = False
        """True once an attempt was handed to the transport (the request may have reached the server)."""
        self.record: CallRecord | None = current_record()  # set when hooks, tracing or a raw response observe


def _check_instance(value: object, cls: type, argument: str) -> None:
    if value is not None and not isinstance(value, cls):
        raise TypeError(f"{argument} must be a {cls.__name__} or None, got {type(value).__name__}")


def _is_duplicate_key(exc: BaseException) -> bool:
    if isinstance(exc, DuplicateIdempotencyKeyError):
        return True
    if not isinstance(exc, APIError) or exc.status_code >= 500:
        return False
    # Older API versions answer a reused key with other codes: recognise the message, not any mention of the key
    # (a 400 "idempotencyKey must be a UUID" is a plain validation error).
    message = exc.message.lower()
    return "idempotency" in message and any(word in message for word in ("exist", "duplicate", "already", "used"))


def _log_retry(retry_number: int, exc: BaseException, delay: float) -> None:
    logger.info(
        "%s failed (%s: %s); retry %d in %.2f s",
        getattr(exc, "operation", None) or "call",
        type(exc).__name__,
        exc,
        retry_number,
        delay,
    )


_MAX_CACHED_PREFIXES = 16384
"""Envelope starts kept, one per account (about 100 bytes each): a balance poller watching thousands of
accounts would otherwise encode each account's prefix on every call."""


def _observed_retry(record: CallRecord) -> Callable[[int, BaseException, float], None]:
    def log(retry_number: int, exc: BaseException, delay: float) -> None:
        record.retry(retry_number, exc, delay)
        _log_retry(retry_number, exc, delay)

    return log


def _without_frames(exc: BaseException) -> BaseException:
    """Drop the tracebacks of ``exc`` and of its whole cause/context chain.

    Those frames (the transport's, aiohttp's) hold the signed request, its ``Sign`` and ``Key`` headers in their
    locals, and error reporters that capture locals (Sentry, ``capture_locals=True``) would record a request
    anyone could replay. The types and messages of the chain are kept.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        todo.extend((item.__cause__, item.__context__))
    return exc


class _KeyedCreate:
    """A keyed create with a lookup: creates until "duplicate key", then only fetches what the key created.

    One logical call, one retry budget: the lookup's attempts (a 404 from read-after-write lag, a 503) are
    retries of the same call, never a new create.
    """

    __slots__ = ("client", "duplicate", "lookup", "prepared")

    def __init__(self, client: AsyncAPIClient, prepared: _Prepared, lookup: Lookup) -> None:
        self.client = client
        self.prepared = prepared
        self.lookup = lookup
        self.duplicate: APIError | None = None

    async def attempt(self, number: int) -> Any:
        if self.duplicate is None:
            try:
                return await self.client._attempt(self.prepared, number)
            except APIError as exc:
                if not _is_duplicate_key(exc):
                    raise
                self.duplicate = exc
        return await self.client._fetch_created(self.prepared, self.lookup, self.duplicate)

    def lookup_pending(self, exc: BaseException) -> bool:
        """A lookup that found nothing yet is retried (within the call's budget)."""
        return self.duplicate is not None and isinstance(exc, NotFoundError) and exc.operation != self.prepared.op.name

    def failure(self, exc: CalypsoError) -> CalypsoError:
        """The error for a call whose lookup failed: it names the create; the lookup's failure is its cause."""
        duplicate = self.duplicate
        prepared = self.prepared
        if duplicate is None or exc.operation == prepared.op.name or isinstance(exc, ClientClosedError):
            return exc
        error = DuplicateIdempotencyKeyError(
            f"{prepared.op.name}: Calypso answered that idempotency key {prepared.idempotency_key} was already "
            f"used, but {self.lookup.operation.name} could not fetch what it created ({type(exc).__name__}: "
            f"{exc}). Nothing was created twice; call again later with the same idempotency_key to get it.",
            status_code=duplicate.status_code,
            error_code=duplicate.error_code,
            trace_id=duplicate.trace_id,
            operation=prepared.op.name,
            idempotency_key=prepared.idempotency_key,
            body=duplicate.body,
        )
        return error


class AsyncAPIClient:
    """Signing, sending, retrying and decoding: everything a call needs except the endpoints themselves.

    :class:`~calypso_async.AsyncCalypso` (generated) adds the resources; use that class.

    >>> async with AsyncCalypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
    ...     account = await client.account.get()

    Arguments not given come from ``CALYPSO_API_KEY``, ``CALYPSO_SECRET_KEY``, ``CALYPSO_ACCOUNT`` and
    ``CALYPSO_BASE_URL``. ``timeout`` is seconds per attempt; ``max_retries=N`` allows N retries after the
    first attempt. Pass ``session`` to reuse your own ``aiohttp.ClientSession`` (calypso will not close it),
    or ``transport`` to replace HTTP altogether (tests, benchmarks). ``HTTP(S)_PROXY``/``NO_PROXY`` apply
    unless ``trust_env=False``; ``proxy`` names one explicitly; ``verify`` takes a CA bundle path or an
    ``ssl.SSLContext``; ``app_info="myapp/1.2"`` is appended to the User-Agent. ``event_hooks`` and ``tracing``
    observe every attempt (README, "Hooks and tracing").
    """

    def __init__(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        *,
        account: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        transport: AsyncTransport | None = None,
        clock: ServerClock | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        proxy: str | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
        app_info: str | None = None,
        event_hooks: Mapping[str, Iterable[EventHook]] | None = None,
        tracing: bool | TracerProviderLike = False,
    ) -> None:
        api_key, secret_key, account, base_url = resolve_credentials(api_key, secret_key, account, base_url)
        timeout = check_seconds(timeout, "timeout")
        connect_timeout = check_seconds(connect_timeout, "connect_timeout")
        max_retries = check_int(max_retries, "max_retries", minimum=0)
        max_response_bytes = check_int(max_response_bytes, "max_response_bytes", minimum=1)
        _check_instance(retry_policy, RetryPolicy, "retry_policy")
        _check_instance(session, aiohttp.ClientSession, "session")
        if clock is not None and not all(callable(getattr(clock, m, None)) for m in ("now_ms", "observe", "monotonic")):
            raise TypeError("clock must be a ServerClock (or have its now_ms, observe and monotonic methods)")
        if transport is not None and not (callable(getattr(transport, "send", None)) and hasattr(transport, "aclose")):
            raise TypeError("transport must have async send(request) and aclose() methods (see AsyncTransport)")
        if not isinstance(allow_insecure_http, bool):
            raise TypeError(f"allow_insecure_http must be True or False, got {type(allow_insecure_http).__name__}")
        self._signer = Signer(api_key, secret_key)
        self.account_id = account
        """Default account for account-scoped calls (override per call with ``account=``)."""
        self._allow_insecure_http = allow_insecure_http
        self._base_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self.timeout = timeout
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy(max_retries=max_retries)
        self.clock = clock if clock is not None else ServerClock()
        self._transport: AsyncTransport = (
            transport
            if transport is not None
            else AiohttpTransport(
                session,
                connect_timeout=connect_timeout,
                max_response_bytes=max_response_bytes,
                proxy=proxy,
                verify=verify,
                trust_env=trust_env,
                app_info=app_info,
                base_url=self.base_url,
            )
        )
        self._closed = False
        self._shares_pool = False  # True for with_options copies: the client they were made from owns the pool
        self._observer = make_observer(event_hooks, tracing)
        self._prefixes: dict[str | None, bytes] = {}  # envelope starts by account, encoded once

    # ------------------------------------------------------------------------------------------ public

    @property
    def api_key(self) -> str:
        return self._signer.api_key

    @property
    def base_url(self) -> str:
        """Root URL of the API; settable, and checked like the constructor's (plain ``http://`` only on loopback).

        >>> client.base_url  # doctest: +SKIP
        'https://api.calypso.finance'
        """
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = check_base_url(value, allow_insecure_http=self._allow_insecure_http)

    @property
    def max_retries(self) -> int:
        return self.retry_policy.max_retries

    @property
    def clock_offset(self) -> float:
        """Measured server-minus-local clock offset in seconds (0.0 until the first answer)."""
        return self.clock.offset_ms / 1000.0

    async def request(
        self,
        path: str,
        payload: Any = None,
        *,
        account: Any = NOT_GIVEN,
        method: str = "POST",
        timeout: float | None = None,
        max_retries: int | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Signed call to any path: the escape hatch for operations calypso does not wrap yet.

        >>> await client.request("/api/v1/account")  # doctest: +SKIP
        {'account': '0x…', 'balances': [{'currency': 'BTC', 'amount': Decimal('0.5')}], ...}

        Returns the decoded JSON, numbers as ``Decimal``. ``account`` defaults to the client's (left out of the
        envelope when there is none; pass ``account=None`` to leave it out explicitly). ``payload=None`` sends
        no payload. Because calypso cannot know what the path does, ambiguous failures (timeouts, 5xx) are
        retried only when ``idempotent=True`` or the payload carries an ``idempotencyKey``.
        """
        if not path.startswith("/"):
            path = "/api/v1/" + path
        acct = self.account_id if account is NOT_GIVEN else account
        if idempotent is None:
            idempotent = isinstance(payload, dict) and bool(payload.get("idempotencyKey"))
        from ._operation import Operation

        op: Operation[Any] = Operation(
            name="request",
            method=method.upper(),
            path=path,
            account=acct is not None,
            payload="none" if payload is None else "required",
            blind_retry=idempotent,
            raw=True,
        )
        return await self._call(op, payload, account=acct, timeout=timeout, max_retries=max_retries)

    def with_options(
        self: _Self, *, timeout: float | None = None, max_retries: int | None = None, account: Any = NOT_GIVEN
    ) -> _Self:
        """A light copy of this client with other defaults; it shares the pool, clock, keys and hooks.

        >>> await client.with_options(timeout=5, max_retries=0).payouts.get(id="…")  # doctest: +SKIP

        The client you built owns the connection pool: closing a copy leaves the pool open for the client and
        its other copies, and closing the client closes it for every copy.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        if max_retries is not None and max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        new = copy.copy(self)
        state = vars(new)
        for name, value in list(state.items()):
            if getattr(value, "_client", None) is self:
                del state[name]  # cached resources and raw wrappers bound to this client
        new._shares_pool = True
        if timeout is not None:
            new.timeout = float(timeout)
        if max_retries is not None:
            new.retry_policy = attrs.evolve(self.retry_policy, max_retries=max_retries)
        if account is not NOT_GIVEN:
            new.account_id = account
        return new

    async def aclose(self) -> None:
        """Close the connection pools (a session you passed in is left open; a ``with_options`` copy closes nothing).

        Every later call, and every retry of a call still in flight, raises ``ClientClosedError`` at once.
        """
        self._closed = True
        if not self._shares_pool:
            await self._transport.aclose()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_key={mask(self.api_key)!r}, account={self.account_id!r}, "
            f"base_url={self.base_url!r})"
        )

    # ------------------------------------------------------------------------------------------ engine

    def _resolve_account(self, op: Operation[Any], account: str | None) -> str | None:
        if not op.account:
            return None
        acct = account if account is not None else self.account_id
        if not acct:
            raise ValueError(
                f"{op.name} needs an account: pass account=... or set one on the client "
                "(account= argument or CALYPSO_ACCOUNT)"
            )
        return acct

    @observed
    async def _call(
        self,
        op: Operation[T],
        payload: Any = None,
        *,
        account: str | None = None,
        path_params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> T:
        """Run one operation. ``payload`` maps wire names to values (models, dicts, Decimals ...)."""
        if self._closed:
            raise ClientClosedError(f"{op.name}: this client is closed (aclose() was called); create a new one")
        acct = account if op.raw else self._resolve_account(op, account)
        key: str | None = None
        if op.idempotency_field is not None:
            payload = dict(payload or {})
            key = payload.get(op.idempotency_field) or str(uuid.uuid4())
            payload[op.idempotency_field] = key
        lookup = op.lookup if key is not None else None
        prepared = self._prepare(op, payload, acct, path_params, timeout, key, keep_sent=lookup is not None)
        unsafe = not op.blind_retry or (op.money_moving and op.idempotency_field is None)
        mode = RetryMode.SAFE if unsafe else RetryMode.ALL
        # An un-keyed money-moving call never goes out on a pooled connection the server may have closed
        # meanwhile: that would make its outcome unknown although nothing happened.
        prepared.fresh = unsafe and not op.raw

        keyed = None if lookup is None else _KeyedCreate(self, prepared, lookup)
        try:
            if keyed is None and max_retries == 0 and prepared.record is None:
                # A single attempt (the poller's polls): no retry policy, no partial, one coroutine less.
                result: T = await self._attempt(prepared, 1)
            else:
                result = await self._retrying(prepared, keyed, mode, max_retries)
        except CalypsoError as exc:
            if keyed is not None:
                failure = keyed.failure(exc)
                if failure is not exc:
                    raise failure from exc
            if exc.operation is None:
                exc.operation = op.name
            if key is not None:
                exc.idempotency_key = key
            if mode is RetryMode.SAFE and not op.raw and is_ambiguous(exc):
                raise OutcomeUnknownError(
                    f"{op.name} failed after its request may have reached Calypso ({exc}); it has no "
                    "idempotency key, so calypso did not retry it. Check whether it happened (e.g. "
                    "exchanges.get / list the customer) before calling again.",
                    operation=op.name,
                ) from exc
            raise
        except (asyncio.CancelledError, KeyboardInterrupt, TimeoutError, asyncio.TimeoutError) as exc:
            if key is not None:
                self._interrupted(exc, prepared)
            raise
        if key is not None and getattr(result, "idempotency_key", key) is None:
            cast(Any, result).idempotency_key = key
        return result

    def _retrying(
        self, prepared: _Prepared, keyed: _KeyedCreate | None, mode: RetryMode, max_retries: int | None
    ) -> Awaitable[Any]:
        """The attempts of one call under the retry policy (observed calls: under their record's)."""
        record = prepared.record
        attempt: Callable[[int], Awaitable[Any]]
        if keyed is None:
            attempt = functools.partial(self._attempt, prepared)  # nothing to recover: one coroutine less
        else:
            attempt = keyed.attempt
        policy = self.retry_policy if record is None else record.retry_policy(self.retry_policy)
        return policy.run(
            attempt,
            mode=mode,
            max_retries=max_retries,
            before_retry=_log_retry if record is None else _observed_retry(record),
            also_retry=None if keyed is None else keyed.lookup_pending,
        )

    def _prepare(
        self,
        op: Operation[Any],
        payload: Any,
        account: str | None,
        path_params: Mapping[str, str] | None,
        timeout: float | None,
        key: str | None,
        *,
        keep_sent: bool = False,
    ) -> _Prepared:
        path = op.path.format(**path_params) if path_params else op.path
        prefix = self._prefixes.get(account)
        if prefix is None:
            if account is None:
                prefix = b'{"timestamp":'
            else:
                prefix = b'{"account":' + _json.dumps_str(account) + b',"timestamp":'
            if len(self._prefixes) >= _MAX_CACHED_PREFIXES:
                self._prefixes.clear()  # a poller of more accounts than this: rebuild, never grow without bound
            self._prefixes[account] = prefix
        sent: Any = None
        if payload is None or op.payload == "none":
            suffix = b"}"
        else:
            if isinstance(payload, dict):
                payload = {k: v for k, v in payload.items() if v is not None}
            sent = (_converter or _load_converter()).unstructure(payload)
            suffix = b',"payload":' + _json.dumps(sent) + b"}"
        effective_timeout = self.timeout if timeout is None else float(timeout)
        if effective_timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        return _Prepared(
            op, self.base_url + path, prefix, suffix, effective_timeout, key, account, sent if keep_sent else None
        )

    async def _attempt(self, prepared: _Prepared, number: int) -> Any:
        """One attempt; includes the single immediate re-sign after a timestamp rejection."""
        op = prepared.op
        clock = self.clock
        record = prepared.record
        if record is not None:
            await record.attempt(prepared, number)
        for clock_retry in (False, True):
            sent = clock.monotonic()
            response = await self._exchange(prepared)
            received = clock.monotonic()
            if not isinstance(response, Response):
                raise response  # its traceback starts here: no frame below holds the signed request
            if record is not None:
                record.sent(response)
            date = response.headers.get("Date")
            status = response.status
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "calypso %s %s -> %d in %.1f ms (attempt %d, key %s)",
                    op.method,
                    op.path,
                    status,
                    (received - sent) * 1000.0,
                    number,
                    mask(self.api_key),
                )
            if 200 <= status < 300:
                clock.observe(date, sent, received)
                return self._decode(response, prepared)
            error = self._error(response, prepared)
            if isinstance(error, InvalidTimestampError):
                clock.observe(date, sent, received, force=True)
                if not clock_retry:
                    logger.info("timestamp rejected (011); %s; re-signing once", clock.describe_offset())
                    continue
                error.clock_offset = clock.offset_ms / 1000.0
                error.message = f"{error.message} ({clock.describe_offset()})"
            else:
                clock.observe(date, sent, received)
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(self, prepared: _Prepared) -> Response | BaseException:
        """Sign and send one request; a failure is returned (not raised) with its frames dropped.

        The signed body and its headers exist only in this frame and below it, and none of these frames is left
        on a traceback calypso raises (see :func:`_without_frames`).
        """
        if self._closed:
            return ClientClosedError(f"{prepared.op.name}: the client was closed during the call; nothing more is sent")
        request: Request | None = self._signed_request(prepared)
        prepared.went = True
        try:
            return await self._transport.send(request)  # type: ignore[arg-type]
        except CalypsoError as exc:
            if exc.operation is None:
                exc.operation = prepared.op.name
            return _without_frames(exc)
        except BaseException as exc:
            request = None
            raise _without_frames(exc)  # noqa: B904  (cancellation, Ctrl-C: re-raised from here, frames below dropped)

    def _signed_request(self, prepared: _Prepared) -> Request:
        body = prepared.prefix + str(self.clock.now_ms()).encode("ascii") + prepared.suffix
        return Request(
            prepared.op.method,
            prepared.url,
            self._signer.headers(body),
            body,
            prepared.timeout,
            fresh_connection=prepared.fresh,
        )

    def _interrupted(self, exc: BaseException, prepared: _Prepared) -> None:
        """A keyed create was cancelled or interrupted: keep its key reachable, on the exception and in the log."""
        key = prepared.idempotency_key
        try:
            exc.idempotency_key = key  # type: ignore[attr-defined]
            exc.operation = prepared.op.name  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - built-in exceptions all have a __dict__
            pass
        if prepared.went:
            logger.warning(
                "%s was interrupted (%s) after its request may have reached Calypso; it may have been created. "
                "Call %s again with idempotency_key=%r: that returns the object if it exists and creates it "
                "otherwise, never a second one",
                prepared.op.name,
                type(exc).__name__,
                prepared.op.name,
                key,
            )

    def _decode(self, response: Response, prepared: _Prepared) -> Any:
        op = prepared.op
        body = response.body
        if op.response is bytes:
            return body  # the caller reads it itself (the poller skips answers identical to the one before)
        if not body.strip():
            if op.response is None:
                return None
            raise InvalidResponseError(
                f"{op.name}: empty answer with HTTP {response.status}", status_code=response.status, operation=op.name
            )
        try:
            data = _json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidResponseError(
                f"{op.name}: answer is not JSON (HTTP {response.status}, "
                f"Content-Type {response.headers.get('Content-Type')!r}{_snippet(body)}): {exc}",
                status_code=response.status,
                operation=op.name,
            ) from None
        if op.response is None:
            return data
        try:
            return (_converter or _load_converter()).structure(data, op.response)
        except Exception as exc:
            raise InvalidResponseError(
                f"{op.name}: unexpected answer shape: {type(exc).__name__}: {exc}",
                status_code=response.status,
                operation=op.name,
            ) from None

    def _error(self, response: Response, prepared: _Prepared) -> APIError:
        status = response.status
        error_code: str | None = None
        trace_id: str | None = response.headers.get("X-Trace-Id") or response.headers.get("X-Request-Id")
        message = ""
        body: Any = None
        try:
            body = _json.loads(response.body) if response.body.strip() else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
            message = f"HTTP {status} with a non-JSON body{_snippet(response.body)}"
        if isinstance(body, dict):
            code = body.get("errorCode")
            error_code = None if code is None else str(code)
            message = str(body.get("message") or body.get("error") or "")
            trace_id = str(body["traceId"]) if body.get("traceId") else trace_id
        if not message:
            message = message or f"HTTP {status}"
        cls = error_class_for(status, error_code)
        return cls(
            message,
            status_code=status,
            error_code=error_code,
            trace_id=trace_id,
            operation=prepared.op.name,
            idempotency_key=prepared.idempotency_key,
            retry_after=parse_retry_after(response.headers, self.clock),
            body=body if isinstance(body, dict) else None,
        )

    async def _fetch_created(self, prepared: _Prepared, lookup: Lookup, duplicate: APIError) -> Any:
        """The object the key of a "duplicate key" answer created, when it matches this call; never a new create.

        One lookup, no retries of its own: the caller's retry policy retries it within the call's budget.
        """
        key = prepared.idempotency_key
        get_op = lookup.operation
        logger.info("%s met a duplicate key; fetching what key %s created", prepared.op.name, key)
        if lookup.in_list is None:
            found = await self._call(
                get_op, {lookup.field: key}, account=prepared.account, timeout=prepared.timeout, max_retries=0
            )
        else:
            listing = await self._call(get_op, None, account=prepared.account, timeout=prepared.timeout, max_retries=0)
            found = next(
                (
                    item
                    for item in getattr(listing, lookup.in_list, None) or []
                    if item.to_dict().get(lookup.field) == key
                ),
                None,
            )
            if found is None:
                raise NotFoundError(
                    f"{get_op.name}: no item with {lookup.field} {key} (yet)", status_code=404, operation=get_op.name
                )
        problems = mismatches(prepared.sent, found)
        if problems:
            error = DuplicateIdempotencyKeyError(
                f"{prepared.op.name}: idempotency key {key} was already used for a different request "
                f"({', '.join(problems)} differ); the existing object is on this error's `existing`. Use a new "
                "key for a new request.",
                status_code=duplicate.status_code,
                error_code=duplicate.error_code,
                trace_id=duplicate.trace_id,
                operation=prepared.op.name,
                idempotency_key=key,
                body=duplicate.body,
            )
            error.existing = found
            raise error
        return found


def _snippet(body: bytes) -> str:
    """A short excerpt of an unreadable body: markup or plain text only, never JSON-like text (may hold secrets)."""
    text = body[:200].decode("utf-8", "replace").strip().lstrip("\ufeff\x00").strip()
    if not text or not (text.startswith("<") or not any(ch in text for ch in '{["')):
        return ""
    return f", starts with {text[:120]!r}"
