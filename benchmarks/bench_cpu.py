"""Client CPU per call with the network removed, vs the floor of bare ``json.dumps`` + ``hmac`` + ``json.loads``.

calypso runs ``account.get`` through its whole engine (envelope, signature, headers, clock, retry wrapper,
exact-decimal decode, structuring into ``AccountResponseDTO``) against :class:`~benchmarks._common.CannedTransport`,
which answers at once with the canned server's body. No event-loop round trip happens (the stub never
suspends), so what is timed is calypso's own CPU. The floor does the three unavoidable steps on the same
bodies and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from benchmarks._common import (
    ACCOUNT,
    ACCOUNT_BODY,
    API_KEY,
    SECRET,
    SECRET_BYTES,
    CannedTransport,
    Result,
    Sample,
    ServerProcess,
    Settings,
    compare,
)

GROUP = "cpu"


def floor_per_call(n: int) -> Sample:
    """CPU seconds per call of the bare minimum: encode the envelope, sign it, decode the answer."""
    dumps, loads, new, sha512, now = json.dumps, json.loads, hmac.new, hashlib.sha512, time.time
    body = ACCOUNT_BODY
    start = time.process_time()
    for _ in range(n):
        envelope = dumps({"account": ACCOUNT, "timestamp": int(now() * 1000)}, separators=(",", ":")).encode()
        new(SECRET_BYTES, envelope, sha512).hexdigest()
        loads(body)
    return Sample((time.process_time() - start) / n)


async def _run(settings: Settings) -> list[Result]:
    from calypso_async import AsyncCalypso

    transport = CannedTransport()
    client = AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=transport)
    get = client.account.get

    async def calypso_per_call(n: int) -> Sample:
        start = time.process_time()
        for _ in range(n):
            await get()
        return Sample((time.process_time() - start) / n)

    try:
        answer = await get()
        assert answer.balances is not None and len(answer.balances) == 8, answer
        n = settings.cpu_calls
        await calypso_per_call(max(1, n // 10))
        floor_per_call(max(1, n // 10))
        subject: list[Sample] = []
        baseline: list[Sample] = []
        for i in range(settings.rounds):
            if i % 2 == 0:
                subject.append(await calypso_per_call(n))
                baseline.append(floor_per_call(n))
            else:
                baseline.append(floor_per_call(n))
                subject.append(await calypso_per_call(n))
    finally:
        await client.aclose()
    return [
        compare(
            GROUP,
            "client CPU per call (network removed)",
            subject,
            baseline,
            unit="µs/call",
            baseline_name="json.dumps + hmac + json.loads",
            higher_is_better=False,
            scale=1e6,
            target=2.0,
        )
    ]


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    return asyncio.run(_run(settings))
