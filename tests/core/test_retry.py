"""RetryPolicy: what is retried, how long it waits, and that it stops."""

from __future__ import annotations

import pytest

from calypso_async import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from calypso_async._retry import RetryMode, is_retryable


def server_error(status: int = 503, retry_after: float | None = None) -> ServerError:
    return ServerError("boom", status_code=status, retry_after=retry_after)


@pytest.mark.parametrize(
    ("exc", "all_", "safe"),
    [
        (APIConnectionError("refused", request_sent=False), True, True),
        (APIConnectionError("reset"), True, False),
        (APITimeoutError("slow"), True, False),
        (server_error(), True, False),
        (RateLimitError("slow down", status_code=429), True, True),
        (BadRequestError("bad", status_code=400, error_code="001"), False, False),
    ],
)
def test_classification(exc: Exception, all_: bool, safe: bool) -> None:
    assert is_retryable(exc, RetryMode.ALL) is all_
    assert is_retryable(exc, RetryMode.SAFE) is safe


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25, random=lambda: 1.0)
    assert [policy.delay(n, None) for n in range(1, 7)] == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]
    assert RetryPolicy(random=lambda: 0.0).delay(10, None) == 8.0


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay(1, server_error(retry_after=3.0)) == 3.0
    assert policy.delay(1, server_error(retry_after=3600.0)) == 60.0


async def test_max_retries_means_retries_after_the_first_attempt() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(max_retries=3, sleep=sleep, random=lambda: 0.0)
    attempts: list[int] = []

    async def attempt(n: int) -> str:
        attempts.append(n)
        raise server_error()

    with pytest.raises(ServerError):
        await policy.run(attempt, mode=RetryMode.ALL)
    assert attempts == [1, 2, 3, 4]
    assert slept == [0.5, 1.0, 2.0]


async def test_success_after_failures_and_no_retry_for_4xx() -> None:
    async def sleep(seconds: float) -> None:
        return None

    policy = RetryPolicy(max_retries=2, sleep=sleep)
    calls: list[int] = []

    async def flaky(n: int) -> str:
        calls.append(n)
        if n < 3:
            raise APIConnectionError("reset")
        return "ok"

    assert await policy.run(flaky, mode=RetryMode.ALL) == "ok"
    assert calls == [1, 2, 3]

    async def bad(n: int) -> str:
        calls.append(n)
        raise BadRequestError("no", status_code=400)

    calls.clear()
    with pytest.raises(BadRequestError):
        await policy.run(bad, mode=RetryMode.ALL)
    assert calls == [1]


async def test_per_call_override_of_max_retries() -> None:
    async def sleep(seconds: float) -> None:
        return None

    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        raise server_error()

    with pytest.raises(ServerError):
        await RetryPolicy(max_retries=5, sleep=sleep).run(attempt, mode=RetryMode.ALL, max_retries=0)
    assert calls == [1]
