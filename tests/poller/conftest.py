"""Shared pieces of the poller tests: a fake server with many accounts, a transport that fails chosen accounts,
a gate that holds polls in flight, and a poller on a :class:`ManualClock` (no real sleeping for timing)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import AiohttpTransport, AsyncCalypso, Request, Response
from calypso_async.poller import BalanceChange, BalancePoller, ManualClock, PollerEvent, PollError
from calypso_async.testing import FakeCalypso


def add_accounts(server: FakeCalypso, n: int, *, prefix: str = "0xfeed") -> list[str]:
    """Create ``n`` more accounts on the fake server (balances: 1 BTC, 100 USDT_TRX)."""
    balances = {"BTC": Decimal("1"), "USDT_TRX": Decimal("100")}
    return [server.add_account(f"{prefix}{i:036x}", balances=balances) for i in range(n)]


def polled_accounts(server: FakeCalypso) -> Counter[str]:
    """How many account.get requests reached the server, per account."""
    return Counter(r.json["account"] for r in server.requests if r.operation == "account.get" and r.json)


class Gate:
    """Holds matching polls in flight until :meth:`open` (or forever)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0

    def open(self) -> None:
        self.opened.set()

    async def wait(self) -> None:
        self.waiting += 1
        try:
            await self.opened.wait()
        finally:
            self.waiting -= 1


Rule = Callable[[Request], "Response | Exception | Gate | None"]


class ScriptedTransport:
    """Real HTTP to the fake server, except for requests a rule answers (an exception, a response, or a gate).

    Rules get the request and return None to let it through.
    """

    def __init__(self, *rules: Rule) -> None:
        self.inner = AiohttpTransport()
        self.rules = list(rules)
        self.sent = 0

    async def send(self, request: Request) -> Response:
        self.sent += 1
        for rule in self.rules:
            outcome = rule(request)
            if isinstance(outcome, Gate):
                await outcome.wait()
            elif isinstance(outcome, Exception):
                raise outcome
            elif outcome is not None:
                return outcome
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def for_account(account: str, outcome: Callable[[], Response | Exception | Gate]) -> Rule:
    def rule(request: Request) -> Response | Exception | Gate | None:
        return outcome() if json.loads(request.body).get("account") == account else None

    return rule


class Recorder:
    """Collects events from callbacks."""

    def __init__(self) -> None:
        self.events: list[PollerEvent] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    @property
    def changes(self) -> list[BalanceChange]:
        return [e for e in self.events if isinstance(e, BalanceChange)]

    @property
    def errors(self) -> list[PollError]:
        return [e for e in self.events if isinstance(e, PollError)]


@pytest.fixture
async def server() -> AsyncIterator[FakeCalypso]:
    async with FakeCalypso(seed=3) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeCalypso) -> AsyncIterator[AsyncCalypso]:
    async with server.client() as cli:
        yield cli


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_poller(clock: ManualClock, recorder: Recorder) -> Callable[..., BalancePoller]:
    def make(client: AsyncCalypso | None, accounts: Any = (), **kw: Any) -> BalancePoller:
        kw.setdefault("interval", 10.0)
        kw.setdefault("clock", clock)
        kw.setdefault("rng", random.Random(7))
        kw.setdefault("on_change", recorder)
        kw.setdefault("on_error", recorder)
        return BalancePoller(client, accounts, **kw)

    return make


def poller_tasks() -> list[asyncio.Task[Any]]:
    """Tasks created by a poller that are still alive."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("calypso-poller")]
