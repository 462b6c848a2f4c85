"""When and how long to wait before trying a call again.

Which failures are retried, by the kind of operation (:class:`RetryMode`):

=====================  =====================================================================================
``RetryMode.ALL``      reads, and creates that carry an idempotency key: connection errors, timeouts, 408,
                       429, 5xx, unreadable 2xx answers. (Creates then follow the reference's recipe, see
                       :mod:`calypso_async._client`.)
``RetryMode.SAFE``     money-moving calls with no idempotency key (``exchanges.create``, ...): only failures
                       that prove the request was not processed: connect errors, 408 and 429.
=====================  =====================================================================================

4xx answers are never retried (a timestamp rejection is handled apart, by the clock: one immediate re-sign).
The wait is ``min(initial * 2**(n-1), max_delay)`` scaled by a random factor in ``[1 - jitter, 1]`` (so that
many clients do not retry in lock-step), or the server's ``Retry-After`` when it gives one, capped at
``max_retry_after``.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

if TYPE_CHECKING:
    import tenacity

from ._errors import APIConnectionError, APIError, InvalidResponseError, RateLimitError, ServerError

__all__ = ["RetryMode", "RetryPolicy"]

T = TypeVar("T")


class RetryMode(enum.Enum):
    ALL = "all"
    SAFE = "safe"


def is_retryable(exc: BaseException, mode: RetryMode) -> bool:
    """True when ``exc`` may be retried under ``mode``."""
    if isinstance(exc, APIConnectionError):
        return mode is RetryMode.ALL or not exc.request_sent
    if isinstance(exc, RateLimitError):
        return True
    if isinstance(exc, APIError):
        if exc.status_code == 408:
            return True
        return mode is RetryMode.ALL and isinstance(exc, ServerError)
    if isinstance(exc, InvalidResponseError):
        return mode is RetryMode.ALL
    return False


def is_ambiguous(exc: BaseException) -> bool:
    """True when the request may have been processed although the caller saw a failure."""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, (ServerError, InvalidResponseError))


@attrs.frozen
class RetryPolicy:
    """Retry settings of a client; ``max_retries=N`` means up to N retries after the first attempt.

    >>> RetryPolicy(max_retries=5, max_delay=4.0)  # doctest: +ELLIPSIS
    RetryPolicy(...)
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)

    def delay(self, retry_number: int, exc: BaseException | None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based) after ``exc``."""
        retry_after: object = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after >= 0:
            return min(float(retry_after), self.max_retry_after)
        base = min(self.initial_delay * 2.0 ** (retry_number - 1), self.max_delay)
        return base * (1.0 - self.jitter * self.random())

    async def run(
        self,
        attempt: Callable[[int], Awaitable[T]],
        *,
        mode: RetryMode,
        max_retries: int | None = None,
        before_retry: Callable[[int, BaseException, float], None] | None = None,
        also_retry: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Call ``attempt(n)`` (n = 1, 2, ...) until it succeeds or a failure is not worth retrying.

        ``also_retry`` marks more failures as retryable (the lookup of a keyed create retries a 404 that
        read-after-write lag can cause). The first attempt runs outside tenacity: the overwhelmingly common
        case costs nothing extra.
        """
        retries = self.max_retries if max_retries is None else max_retries
        try:
            return await attempt(1)
        except Exception as exc:
            if retries <= 0 or not (is_retryable(exc, mode) or (also_retry is not None and also_retry(exc))):
                raise
            first_failure: BaseException = exc
        return await self._retry(attempt, first_failure, mode, retries, before_retry, also_retry)

    async def _retry(
        self,
        attempt: Callable[[int], Awaitable[T]],
        first_failure: BaseException,
        mode: RetryMode,
        retries: int,
        before_retry: Callable[[int, BaseException, float], None] | None,
        also_retry: Callable[[BaseException], bool] | None,
    ) -> T:
        # Apart from run(): the closures below make their captured variables cells, created on every call of
        # the function that holds them; here they cost only calls that retry.
        import tenacity  # only once a retry is due: keeps tenacity out of the import of calypso

        def retryable(exc: BaseException) -> bool:
            return is_retryable(exc, mode) or (also_retry is not None and also_retry(exc))

        counter = {"n": 1}

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            return self.delay(state.attempt_number + 1, exc)

        def log_retry(state: tenacity.RetryCallState) -> None:
            if before_retry is not None and state.outcome is not None and state.next_action is not None:
                exc = state.outcome.exception()
                if exc is not None:
                    before_retry(state.attempt_number + 1, exc, state.next_action.sleep)

        async def next_attempt() -> T:
            counter["n"] += 1
            return await attempt(counter["n"])

        first_delay = self.delay(1, first_failure)
        if before_retry is not None:
            before_retry(1, first_failure, first_delay)
        await self.sleep(first_delay)
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(retries),
            wait=wait,
            retry=tenacity.retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        result: Any = await retrying(next_attempt)
        return result  # type: ignore[no-any-return]
