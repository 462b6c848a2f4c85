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

import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

import aiohttp

from . import _json
from ._clock import ServerClock, parse_http_date
from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    check_base_url,
    resolve_credentials,
)
from ._errors import (
    APIError,
    CalypsoError,
    DuplicateIdempotencyKeyError,
    InvalidResponseError,
    InvalidTimestampError,
    NotFoundError,
    OutcomeUnknownError,
    error_class_for,
)
from ._model import converter
from ._network import VerifyTypes
from ._operation import Lookup, Operation
from ._retry import RetryMode, RetryPolicy, is_ambiguous
from ._signing import Signer, mask
from ._transport import AiohttpTransport, AsyncTransport, Request, Response

__all__ = ["NOT_GIVEN", "AsyncAPIClient"]

logger = logging.getLogger("calypso")

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

    __slots__ = ("account", "idempotency_key", "op", "prefix", "suffix", "timeout", "url")

    def __init__(
        self,
        op: Operation[Any],
        url: str,
        prefix: bytes,
        suffix: bytes,
        timeout: float,
        idempotency_key: str | None,
        account: str | None,
    ) -> None:
        self.op = op
        self.url = url
        self.prefix = prefix
        self.suffix = suffix
        self.timeout = timeout
        self.idempotency_key = idempotency_key
        self.account = account


def _parse_retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_http_date(value)
    return None if when is None else max(0.0, when / 1000.0 - time.time())


def _is_duplicate_key(exc: BaseException) -> bool:
    if isinstance(exc, DuplicateIdempotencyKeyError):
        return True
    return isinstance(exc, APIError) and exc.status_code < 500 and "idempotency" in exc.message.lower()


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
    ``ssl.SSLContext``; ``app_info="myapp/1.2"`` is appended to the User-Agent.
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
    ) -> None:
        api_key, secret_key, account, base_url = resolve_credentials(api_key, secret_key, account, base_url)
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._signer = Signer(api_key, secret_key)
        self.account_id = account
        """Default account for account-scoped calls (override per call with ``account=``)."""
        self.base_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self.timeout = float(timeout)
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
        self._prefixes: dict[str | None, bytes] = {}  # envelope starts by account, encoded once

    # ------------------------------------------------------------------------------------------ public

    @property
    def api_key(self) -> str:
        return self._signer.api_key

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

    async def aclose(self) -> None:
        """Close the connection pool (a session you passed in is left open)."""
        self._closed = True
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
        acct = account if op.raw else self._resolve_account(op, account)
        key: str | None = None
        if op.idempotency_field is not None:
            payload = dict(payload or {})
            key = payload.get(op.idempotency_field) or str(uuid.uuid4())
            payload[op.idempotency_field] = key
        prepared = self._prepare(op, payload, acct, path_params, timeout, key)
        unsafe = not op.blind_retry or (op.money_moving and op.idempotency_field is None)
        mode = RetryMode.SAFE if unsafe else RetryMode.ALL
        lookup = op.lookup if key is not None else None

        attempt: Callable[[int], Awaitable[Any]]
        if lookup is None:
            attempt = functools.partial(self._attempt, prepared)  # nothing to recover: one coroutine less
        else:
            found = lookup

            async def attempt_or_fetch(number: int) -> Any:
                try:
                    return await self._attempt(prepared, number)
                except APIError as exc:
                    if number > 1 and _is_duplicate_key(exc):
                        # An earlier attempt reached the server: the object exists. Fetch it, never re-create.
                        return await self._fetch_created(prepared, found)
                    raise

            attempt = attempt_or_fetch

        try:
            result: T = await self.retry_policy.run(
                attempt, mode=mode, max_retries=max_retries, before_retry=self._log_retry(prepared)
            )
        except CalypsoError as exc:
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
        if key is not None and getattr(result, "idempotency_key", key) is None:
            cast(Any, result).idempotency_key = key
        return result

    def _prepare(
        self,
        op: Operation[Any],
        payload: Any,
        account: str | None,
        path_params: Mapping[str, str] | None,
        timeout: float | None,
        key: str | None,
    ) -> _Prepared:
        path = op.path.format(**path_params) if path_params else op.path
        prefix = self._prefixes.get(account)
        if prefix is None:
            prefix = b'{"timestamp":' if account is None else b'{"account":' + _json.dumps(account) + b',"timestamp":'
            if len(self._prefixes) < 64:
                self._prefixes[account] = prefix
        if payload is None or op.payload == "none":
            suffix = b"}"
        else:
            if isinstance(payload, dict):
                payload = {k: v for k, v in payload.items() if v is not None}
            suffix = b',"payload":' + _json.dumps(converter.unstructure(payload)) + b"}"
        effective_timeout = self.timeout if timeout is None else float(timeout)
        if effective_timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        return _Prepared(op, self.base_url + path, prefix, suffix, effective_timeout, key, account)

    async def _attempt(self, prepared: _Prepared, number: int) -> Any:
        """One attempt; includes the single immediate re-sign after a timestamp rejection."""
        op = prepared.op
        clock = self.clock
        for clock_retry in (False, True):
            body = prepared.prefix + str(clock.now_ms()).encode("ascii") + prepared.suffix
            request = Request(op.method, prepared.url, self._signer.headers(body), body, prepared.timeout)
            sent = clock.monotonic()
            response = await self._transport.send(request)
            received = clock.monotonic()
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

    def _decode(self, response: Response, prepared: _Prepared) -> Any:
        op = prepared.op
        body = response.body
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
            return converter.structure(data, op.response)
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
            retry_after=_parse_retry_after(response.headers),
            body=body if isinstance(body, dict) else None,
        )

    async def _fetch_created(self, prepared: _Prepared, lookup: Lookup) -> Any:
        key = prepared.idempotency_key
        logger.info("%s met a duplicate key on retry; fetching what key %s created", prepared.op.name, key)
        get_op = lookup.operation
        try:
            if lookup.in_list is None:
                return await self._call(get_op, {lookup.field: key}, account=prepared.account)
            listing = await self._call(get_op, None, account=prepared.account)
            for item in getattr(listing, lookup.in_list, None) or []:
                if item.to_dict().get(lookup.field) == key:
                    return item
        except NotFoundError:
            pass
        # The duplicate answer was not about our object after all: the create did not happen. Try again.
        return await self._attempt(prepared, 0)

    def _log_retry(self, prepared: _Prepared) -> Any:
        def log(retry_number: int, exc: BaseException, delay: float) -> None:
            logger.info(
                "%s failed (%s: %s); retry %d in %.2f s",
                prepared.op.name,
                type(exc).__name__,
                exc,
                retry_number,
                delay,
            )

        return log


def _snippet(body: bytes) -> str:
    """A short excerpt of an unreadable body: markup or plain text only, never JSON-like text (may hold secrets)."""
    text = body[:200].decode("utf-8", "replace").strip().lstrip("\ufeff\x00").strip()
    if not text or not (text.startswith("<") or not any(ch in text for ch in '{["')):
        return ""
    return f", starts with {text[:120]!r}"
