"""The fault matrix: every fault kind x the read call and every money-moving call x async and sync clients.

For each cell the documented outcome is asserted (recovered, or one specific ``CalypsoError`` subclass), the call
is bounded by a guard (``asyncio.wait_for`` / a thread join timeout) so a hang fails instead of freezing the
suite, and for money-moving calls the number of objects created on the server is exact: one after recovery,
one at most after an ambiguous failure of an un-keyed call (``OutcomeUnknownError``), none when the request was
refused before processing.

The expected outcomes are data (:data:`CASES`); ``render_table()`` turns them into the table of
docs/RELIABILITY.md, and a test keeps the two in step. Retries use a no-op sleep that records the waits.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from calypso_async import (
    APIConnectionError,
    APITimeoutError,
    CalypsoError,
    DuplicateIdempotencyKeyError,
    InvalidResponseError,
    OutcomeUnknownError,
    RateLimitError,
    ServerClock,
    ServerError,
)
from calypso_async.testing import FakeCalypso, Fault

from ._support import (
    CALL_IDS,
    CALLS,
    CallSpec,
    Kind,
    SleepLog,
    async_client,
    closed_port,
    fund,
    guarded,
    in_thread,
    objects,
    policy,
    sync_client,
    threaded_server,
)

MAX_RETRIES = 3
ATTEMPTS = MAX_RETRIES + 1
TIMEOUT = 5.0
SHORT_TIMEOUT = 0.5
BIG = 50 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def big_body() -> bytes:
    return b'{"pad":"' + b"x" * (BIG - 10) + b'"}'


@attrs.frozen
class Expect:
    outcome: type[BaseException] | None
    """``None``: the call returns its typed result; else the exception class raised."""
    objects: int = 0
    """Objects created on the server (money-moving calls; reads create none)."""
    requests: int | None = None
    """Requests that reached the call's path (``None``: not checked, e.g. nothing listens)."""
    waits: tuple[float, ...] | None = None
    """Backoff waits asked of the sleep function (``None``: not checked)."""
    cause: type[BaseException] | None = None
    """For ``OutcomeUnknownError``: the failure it wraps."""
    statuses: tuple[int, ...] | None = None
    """HTTP statuses answered on the call's path, in order."""

    def text(self) -> str:
        what = "recovered" if self.outcome is None else f"`{self.outcome.__name__}`"
        if self.cause is not None:
            what += f" (from `{self.cause.__name__}`)"
        details = []
        if self.requests is not None:
            details.append(f"{self.requests} req")
        return what + (f", {', '.join(details)}" if details else "")


def ok(requests: int | None = 1, **kw: Any) -> Expect:
    return Expect(None, objects=1, requests=requests, **kw)


@attrs.frozen
class Case:
    id: str
    title: str
    expect: dict[Kind, Expect]
    faults: tuple[Fault, ...] = ()
    timeout: float = TIMEOUT
    refused: bool = False
    wall_step: float = 0.0
    """Step the local wall clock by this many seconds after a first synchronising call."""
    wall_offset: float = 0.0
    """Local wall clock wrong by this many seconds from the start (before any answer was seen)."""
    sync_first: bool = False
    """Make a first call (``account.get``) so the client has learnt the server clock before the fault."""

    @property
    def warm_up(self) -> bool:
        return self.sync_first or bool(self.wall_step)


def per_kind(read: Expect, keyed: Expect, no_lookup: Expect, unkeyed: Expect) -> dict[Kind, Expect]:
    return {"read": attrs.evolve(read, objects=0), "keyed": keyed, "keyed-no-lookup": no_lookup, "unkeyed": unkeyed}


def same(expect: Expect) -> dict[Kind, Expect]:
    return per_kind(expect, expect, expect, expect)


def after_processing(cause: type[BaseException]) -> dict[Kind, Expect]:
    """The request was processed, the answer lost or unreadable: the ambiguous case."""
    return per_kind(
        ok(2),
        ok(2),  # the retry meets "duplicate key" and fetches what the first attempt created
        Expect(DuplicateIdempotencyKeyError, objects=1, requests=2),  # no lookup: the 016 is raised, with the key
        Expect(OutcomeUnknownError, objects=1, requests=1, cause=cause),
    )


def before_processing(cause: type[BaseException]) -> dict[Kind, Expect]:
    """Refused before any effect, but the client cannot know that: un-keyed calls are not retried."""
    return per_kind(ok(2), ok(2), ok(2), Expect(OutcomeUnknownError, objects=0, requests=1, cause=cause))


BACKOFF = (0.5, 1.0, 2.0)  # jitter 0 in these tests

CASES: list[Case] = [
    Case(
        "refused",
        "connection refused (nothing listens)",
        same(Expect(APIConnectionError, objects=0)),
        refused=True,
    ),
    Case(
        "reset-before-processing",
        "connection reset before the response, request not processed",
        before_processing(APIConnectionError),
        faults=(Fault.drop(),),
    ),
    Case(
        "reset-after-processing",
        "connection reset before the response, request processed",
        after_processing(APIConnectionError),
        faults=(Fault.drop_after_processing(),),
    ),
    Case(
        "reset-mid-body",
        "connection reset mid-body (Content-Length longer than what came)",
        after_processing(APIConnectionError),
        faults=(Fault.truncated(),),
    ),
    Case(
        "truncated-json",
        '200 with truncated JSON `{"trunc`',
        after_processing(InvalidResponseError),
        faults=(Fault.malformed(b'{"trunc'),),
    ),
    Case(
        "invalid-json",
        "200 with invalid JSON",
        after_processing(InvalidResponseError),
        faults=(Fault.malformed(b"{'single': quotes, ]"),),
    ),
    Case(
        "html-502",
        "HTML 502 page from a gateway (not processed)",
        before_processing(ServerError),
        faults=(Fault.html(502),),
    ),
    Case(
        "wrong-content-type",
        "the real JSON answer labelled `text/html`",
        same(ok(1)),
        faults=(Fault.wrong_content_type("text/html"),),
    ),
    Case("empty-200", "200 with an empty body", after_processing(InvalidResponseError), faults=(Fault.empty(),)),
    Case(
        "body-50mb",
        "200 with a 50 MB body (Content-Length given; cap 16 MiB)",
        after_processing(InvalidResponseError),
        faults=(Fault.malformed(b""),),
    ),  # body filled in at run time
    Case(
        "headers-never-come",
        f"headers never come (client timeout {SHORT_TIMEOUT} s)",
        after_processing(APITimeoutError),
        faults=(Fault.delay(60.0),),
        timeout=SHORT_TIMEOUT,
    ),
    Case(
        "5xx-storm",
        f"{ATTEMPTS} x 503: more than the retries",
        per_kind(
            *[Expect(ServerError, objects=0, requests=ATTEMPTS, waits=BACKOFF)] * 3,
            Expect(OutcomeUnknownError, objects=0, requests=1, cause=ServerError),
        ),
        faults=(Fault.status(503, times=ATTEMPTS),),
    ),
    Case(
        "5xx-storm-recovers",
        f"{MAX_RETRIES} x 503 then normal",
        per_kind(
            *[ok(ATTEMPTS, waits=BACKOFF)] * 3, Expect(OutcomeUnknownError, objects=0, requests=1, cause=ServerError)
        ),
        faults=(Fault.status(503, times=MAX_RETRIES),),
    ),
    Case(
        "429-storm-retry-after",
        f"{ATTEMPTS} x 429 with Retry-After: 7",
        same(Expect(RateLimitError, objects=0, requests=ATTEMPTS, waits=(7.0,) * MAX_RETRIES)),
        faults=(Fault.status(429, retry_after=7, times=ATTEMPTS),),
    ),
    Case(
        "429-storm-retry-after-recovers",
        f"{MAX_RETRIES} x 429 with Retry-After: 7, then normal",
        same(ok(ATTEMPTS, waits=(7.0,) * MAX_RETRIES)),
        faults=(Fault.status(429, retry_after=7, times=MAX_RETRIES),),
    ),
    Case(
        "429-storm",
        f"{ATTEMPTS} x 429 without Retry-After",
        same(Expect(RateLimitError, objects=0, requests=ATTEMPTS, waits=BACKOFF)),
        faults=(Fault.status(429, times=ATTEMPTS),),
    ),
    Case(
        "429-storm-recovers",
        f"{MAX_RETRIES} x 429 without Retry-After, then normal",
        same(ok(ATTEMPTS, waits=BACKOFF)),
        faults=(Fault.status(429, times=MAX_RETRIES),),
    ),
    Case(
        "server-clock+5min",
        "server clock jumps +5 min mid-run (after the client synchronised)",
        same(ok(2, statuses=(400, 200))),
        faults=(Fault.skew_jump(300.0),),
        sync_first=True,
    ),
    Case(
        "server-clock-5min",
        "server clock jumps -5 min mid-run (after the client synchronised)",
        same(ok(2, statuses=(400, 200))),
        faults=(Fault.skew_jump(-300.0),),
        sync_first=True,
    ),
    Case(
        "local-clock-step+5min",
        "local wall clock steps +5 min after sync",
        same(ok(1, statuses=(200,))),
        wall_step=300.0,
    ),
    Case(
        "local-clock-step-5min",
        "local wall clock steps -5 min after sync",
        same(ok(1, statuses=(200,))),
        wall_step=-300.0,
    ),
    Case(
        "local-clock-wrong-at-start",
        "local wall clock 5 min ahead before any answer",
        same(ok(2, statuses=(400, 200))),
        wall_offset=300.0,
    ),
    Case(
        "local-clock-behind-at-start",
        "local wall clock 5 min behind before any answer",
        same(ok(2, statuses=(400, 200))),
        wall_offset=-300.0,
    ),
]
CASE_IDS = [c.id for c in CASES]


def _faults(case: Case) -> tuple[Fault, ...]:
    if case.id == "body-50mb":
        return (Fault.malformed(big_body()),)
    return case.faults


@attrs.define
class Observed:
    result: Any = None
    error: BaseException | None = None
    objects: int = 0
    requests: list[Any] = attrs.field(factory=list)
    waits: list[float] = attrs.field(factory=list)


class Wall:
    """A steppable local wall clock for :class:`ServerClock`."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def guard_seconds(case: Case) -> float:
    return case.timeout * (ATTEMPTS + 2) + 10.0


async def run_async(call: CallSpec, case: Case) -> Observed:
    async with FakeCalypso(seed=11) as server:
        fund(server)
        sleep = SleepLog()
        wall = Wall(case.wall_offset)
        overrides: dict[str, Any] = {
            "retry_policy": policy(MAX_RETRIES, sleep, jitter=0.0),
            "timeout": case.timeout,
            "clock": ServerClock(wall=wall),
        }
        if case.refused:
            overrides["base_url"] = f"http://127.0.0.1:{closed_port()}"
        observed = Observed()
        async with async_client(server, **overrides) as client:
            if case.warm_up:
                await client.account.get()  # synchronise (then, for the wall_step cases, the local clock steps)
                wall.offset += case.wall_step
            before_objects, before_requests = objects(server), len(server.requests)
            for fault in _faults(case):
                server.inject(call.path, fault)
            try:
                observed.result = await guarded(call.method(client)(**call.kwargs(0)), guard_seconds(case))
            except CalypsoError as exc:
                observed.error = exc
        observed.objects = objects(server) - before_objects
        observed.requests = [r for r in server.requests[before_requests:] if r.path == call.path]
        observed.waits = sleep.waits
    return observed


def run_sync(call: CallSpec, case: Case) -> Observed:
    with threaded_server(seed=11) as server:
        fund(server)
        sleep = SleepLog()
        wall = Wall(case.wall_offset)
        overrides: dict[str, Any] = {
            "retry_policy": policy(MAX_RETRIES, sleep, jitter=0.0),
            "timeout": case.timeout,
            "clock": ServerClock(wall=wall),
        }
        if case.refused:
            overrides["base_url"] = f"http://127.0.0.1:{closed_port()}"
        observed = Observed()
        client = sync_client(server, **overrides)
        try:
            if case.warm_up:
                client.account.get()
                wall.offset += case.wall_step
            before_objects, before_requests = objects(server), len(server.requests)
            for fault in _faults(case):
                server.inject(call.path, fault)
            try:
                observed.result = in_thread(lambda: call.method(client)(**call.kwargs(0)), guard_seconds(case))
            except CalypsoError as exc:
                observed.error = exc
        finally:
            client.close()
        observed.objects = objects(server) - before_objects
        observed.requests = [r for r in list(server.requests)[before_requests:] if r.path == call.path]
        observed.waits = sleep.waits
    return observed


def check(call: CallSpec, case: Case, observed: Observed) -> None:
    expect = case.expect[call.kind]
    if expect.outcome is None:
        assert observed.error is None, f"expected recovery, got {observed.error!r}"
        assert isinstance(observed.result, call.response)
        assert call.check(observed.result, 0)
    else:
        assert isinstance(observed.error, expect.outcome), f"expected {expect.outcome.__name__}, got {observed.error!r}"
        if expect.cause is not None:
            assert isinstance(observed.error.__cause__, expect.cause), repr(observed.error.__cause__)
        if case.refused:
            assert getattr(observed.error, "request_sent", None) is False
    assert observed.objects == expect.objects, f"{observed.objects} objects created, expected {expect.objects}"
    if expect.requests is not None:
        assert len(observed.requests) == expect.requests, [r.status for r in observed.requests]
    if expect.statuses is not None:
        assert tuple(r.status for r in observed.requests) == expect.statuses
    if expect.waits is not None:
        assert tuple(observed.waits) == expect.waits
    if call.kind in ("keyed", "keyed-no-lookup") and observed.requests:
        keys = {r.json["payload"]["idempotencyKey"] for r in observed.requests if r.json is not None}
        assert len(keys) == 1, f"one key for every attempt, got {keys}"
        (key,) = keys
        if observed.result is not None:
            assert getattr(observed.result, "idempotency_key", key) == key
        if observed.error is not None:
            assert getattr(observed.error, "idempotency_key", None) == key
    if call.kind == "unkeyed" and isinstance(observed.error, OutcomeUnknownError):
        assert observed.error.operation == call.name


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
async def test_async(call: CallSpec, case: Case) -> None:
    check(call, case, await run_async(call, case))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_sync(call: CallSpec, case: Case) -> None:
    check(call, case, run_sync(call, case))


# ------------------------------------------------------------------------------------------ the doc table

KIND_TITLES: dict[Kind, str] = {
    "read": "read (`account.get`)",
    "keyed": "keyed create (payouts, mass payouts, invoices x4, widgets x2)",
    "keyed-no-lookup": "`fiat_deposits.generate_key` (keyed, no lookup)",
    "unkeyed": "`exchanges.create`, `customer_purse.create_customer` (no key)",
}


def render_table() -> str:
    kinds: list[Kind] = ["read", "keyed", "keyed-no-lookup", "unkeyed"]
    lines = [
        "| fault | " + " | ".join(KIND_TITLES[k] for k in kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for case in CASES:
        cells = []
        for kind in kinds:
            expect = case.expect[kind]
            text = expect.text()
            if kind != "read":
                text += f", {expect.objects} object" + ("" if expect.objects == 1 else "s")
            cells.append(text)
        lines.append(f"| {case.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_doc_table_matches_the_matrix() -> None:
    doc = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    assert render_table() in doc, "docs/RELIABILITY.md is stale: paste the output of render_table()"


def test_matrix_shape() -> None:
    assert len(CASES) * len(CALLS) * 2 >= 500
    assert {c.kind for c in CALLS} == set(KIND_TITLES)
