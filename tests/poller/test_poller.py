"""BalancePoller against the fake server over loopback HTTP, on a ManualClock: every timing is a clock step."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import (
    APITimeoutError,
    AsyncCalypso,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    Response,
)
from calypso_async.poller import (
    AccountSnapshot,
    BalanceChange,
    BalancePoller,
    ManualClock,
    PollError,
)
from calypso_async.testing import FakeCalypso, Fault

from .conftest import (
    Gate,
    Recorder,
    ScriptedTransport,
    add_accounts,
    for_account,
    polled_accounts,
    poller_tasks,
)

MakePoller = Callable[..., BalancePoller]


async def settle() -> None:
    """Let woken tasks run (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition()`` holds (fails instead of hanging)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


# ------------------------------------------------------------------------------------------- changes


async def test_first_observation_is_a_baseline_and_snapshots_match_the_server(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    async with make_poller(client, server.accounts) as poller:
        assert poller.snapshot(server.accounts[0]) is None
        await poller.advance(10)
        assert recorder.events == []
        snaps = poller.snapshots()
        assert set(snaps) == set(server.accounts)
        for account in server.accounts:
            snap = poller.snapshot(account)
            assert isinstance(snap, AccountSnapshot)
            assert dict(snap.balances) == server.state.accounts[account].balances
            assert snap.observed_at.tzinfo is not None
        assert poller.stats().polls == len(server.accounts)


async def test_each_real_change_is_reported_exactly_once(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    target, other = server.accounts[0], server.accounts[1]
    btc = server.balance(target, "BTC")
    eth = server.balance(other, "ETH")
    async with make_poller(client, server.accounts) as poller:
        await poller.advance(10)
        server.set_balance(target, "BTC", btc + Decimal("0.25"))
        await poller.advance(50)  # ~5 more polls of every account; one real change
        assert [(c.account, c.currency, c.previous, c.new) for c in recorder.changes] == [
            (target, "BTC", btc, btc + Decimal("0.25"))
        ]
        server.set_balance(target, "BTC", btc)
        server.set_balance(other, "ETH", Decimal("7.000000000000000001"))
        await poller.advance(50)
        assert poller.stats().polls >= 10 * len(server.accounts)
    assert sorted((c.account, c.currency, c.previous, c.new) for c in recorder.changes[1:]) == sorted(
        [(target, "BTC", btc + Decimal("0.25"), btc), (other, "ETH", eth, Decimal("7.000000000000000001"))]
    )
    assert len(recorder.changes) == 3
    assert recorder.changes[0].delta == Decimal("0.25")
    assert recorder.errors == []


async def test_decimal_equality_not_representation(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    account = server.accounts[0]
    server.set_balance(account, "BTC", Decimal("1.5"))
    async with make_poller(client, [account]) as poller:
        await poller.advance(10)
        server.set_balance(account, "BTC", Decimal("1.50000"))  # same number, other exponent
        await poller.advance(30)
    assert recorder.changes == []


async def test_currency_appearing_and_disappearing(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    account = server.accounts[0]
    balances = server.state.accounts[account].balances
    gone = next(c for c, amount in balances.items() if amount != 0)
    gone_amount = balances[gone]
    async with make_poller(client, [account]) as poller:
        await poller.advance(10)
        balances["NEWCOIN"] = Decimal("3")
        balances["ZEROCOIN"] = Decimal("0")  # listed at zero: not a change while absent counts as zero
        del balances[gone]
        await poller.advance(10)
        assert dict(poller.snapshot(account).balances)["ZEROCOIN"] == 0  # type: ignore[union-attr]
    got = {(c.currency, c.previous, c.new) for c in recorder.changes}
    assert got == {("NEWCOIN", None, Decimal("3")), (gone, gone_amount, None)}
    disappeared = next(c for c in recorder.changes if c.currency == gone)
    assert disappeared.delta == -gone_amount


async def test_listing_changes_at_zero_are_events_when_absent_is_not_zero(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    account = server.accounts[0]
    balances = server.state.accounts[account].balances
    balances["ZEROCOIN"] = Decimal("0")
    async with make_poller(client, [account], absent_is_zero=False) as poller:
        await poller.advance(10)
        del balances["ZEROCOIN"]
        await poller.advance(10)
        balances["OTHERZERO"] = Decimal("0")
        await poller.advance(10)
    assert [(c.currency, c.previous, c.new) for c in recorder.changes] == [
        ("ZEROCOIN", Decimal("0"), None),
        ("OTHERZERO", None, Decimal("0")),
    ]


async def test_emit_initial_reports_every_listed_currency_once(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    account = server.accounts[0]
    nonzero = {c: a for c, a in server.state.accounts[account].balances.items() if a != 0}
    async with make_poller(client, [account], emit_initial=True) as poller:
        await poller.advance(40)
    assert {(c.currency, c.previous, c.new) for c in recorder.changes} == {(c, None, a) for c, a in nonzero.items()}
    assert len(recorder.changes) == len(nonzero)


# ----------------------------------------------------------------------------------------- scheduling


async def test_first_polls_are_spread_over_the_interval(server: FakeCalypso, make_poller: MakePoller) -> None:
    accounts = add_accounts(server, 200)
    async with (
        server.client() as client,
        make_poller(client, accounts, interval=100.0, concurrency=8, jitter=0.0) as poller,
    ):
        seen = []
        for _ in range(10):
            await poller.advance(10)
            seen.append(poller.stats().polls)
    per_tenth = [b - a for a, b in zip([0, *seen[:-1]], seen, strict=True)]
    assert sum(per_tenth) == 200
    assert max(per_tenth) <= 40  # uniform: ~20 per tenth of the interval, never a herd
    assert min(per_tenth) >= 5


async def test_later_polls_keep_the_interval_with_jitter(server: FakeCalypso, make_poller: MakePoller) -> None:
    account = server.accounts[0]
    async with server.client() as client, make_poller(client, [account], jitter=0.1) as poller:
        await poller.advance(1000)
    polls = polled_accounts(server)[account]
    assert 90 <= polls <= 112  # 10 s ± 10 % => 1000 s hold 91..111 polls


async def test_failing_account_backs_off_while_others_keep_their_schedule(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    healthy = server.accounts
    missing = "0x" + "0" * 40  # unknown to the server: NotFoundError (004)
    async with (
        server.client() as client,
        make_poller(client, [*healthy, missing], jitter=0.0, first_poll_spread=0.0) as poller,
    ):
        await poller.advance(95)
        assert poller.failures(missing) == 3
        assert poller.snapshot(missing) is None
    counts = polled_accounts(server)
    assert all(counts[a] == 10 for a in healthy)  # t = 0, 10, ..., 90: untouched by the failures
    assert counts[missing] == 3  # t = 0, 20, 60 (next would be 140)
    errors = recorder.errors
    assert [(e.account, e.failures, e.retry_in) for e in errors] == [
        (missing, 1, 20.0),
        (missing, 2, 40.0),
        (missing, 3, 80.0),
    ]
    assert all(isinstance(e.error, NotFoundError) for e in errors)


async def test_backoff_is_capped_and_resets_after_a_success(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    account = server.accounts[0]
    failing = {"on": True}
    transport = ScriptedTransport(lambda request: APITimeoutError("no answer within 10 s") if failing["on"] else None)
    async with (
        server.client(transport=transport) as client,
        make_poller(client, [account], jitter=0.0, first_poll_spread=0.0, max_backoff=50.0) as poller,
    ):
        await poller.advance(500)
        retry_ins = [e.retry_in for e in recorder.errors]
        assert retry_ins[:4] == [20.0, 40.0, 50.0, 50.0]
        assert set(retry_ins[2:]) == {50.0}
        failing["on"] = False
        await poller.advance(50)
        assert poller.failures(account) == 0
        assert poller.snapshot(account) is not None
        polls = poller.stats().polls
        await poller.advance(30)
        assert poller.stats().polls == polls + 3  # back to every 10 s
    assert all(isinstance(e.error, APITimeoutError) for e in recorder.errors)


async def test_clients_with_their_own_credentials_fail_alone(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    async with (
        FakeCalypso(seed=9) as second,
        server.client() as good,
        second.client() as other,
        server.client(secret_key="0" * 32) as wrong,
    ):
        poller = make_poller(good, server.accounts[:2], jitter=0.0, first_poll_spread=0.0)
        poller.add(*second.accounts, client=other)
        poller.add(server.accounts[2], client=wrong)
        async with poller:
            await poller.advance(35)
        assert {a for a in polled_accounts(second)} == set(second.accounts)
        for account in [*server.accounts[:2], *second.accounts]:
            assert poller.snapshot(account) is not None
        assert poller.snapshot(server.accounts[2]) is None
        assert {e.account for e in recorder.errors} == {server.accounts[2]}
        assert all(isinstance(e.error, AuthenticationError) for e in recorder.errors)


async def test_polls_use_no_client_retries_and_the_poll_timeout(server: FakeCalypso, make_poller: MakePoller) -> None:
    seen: list[float] = []

    def record(request: Any) -> None:
        seen.append(request.timeout)
        return None

    transport = ScriptedTransport(record, lambda request: Response(503, {}, b'{"errorCode":"000","message":"x"}'))
    async with (
        server.client(transport=transport, max_retries=5) as client,
        make_poller(client, [server.accounts[0]], timeout=2.5, first_poll_spread=0.0) as poller,
    ):
        await poller.advance(0)
        assert poller.stats().errors == 1
    assert seen == [2.5]  # one attempt: the client did not retry the 503 itself


async def test_workers_start_one_after_another_not_in_one_burst(server: FakeCalypso, make_poller: MakePoller) -> None:
    gate = Gate()
    transport = ScriptedTransport(lambda request: gate)
    async with server.client(transport=transport) as client:
        poller = make_poller(client, add_accounts(server, 8), first_poll_spread=0.0, concurrency=4)
        await poller.start()
        in_flight = []
        for _ in range(20):
            await asyncio.sleep(0)  # one pass of the loop
            in_flight.append(gate.waiting)
        assert in_flight[0] <= 1 and in_flight[-1] == 4
        assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(in_flight))  # one more per pass
        gate.open()
        await poller.stop()


async def test_hung_transport_is_bounded_by_the_outer_timeout(server: FakeCalypso, recorder: Recorder) -> None:
    gate = Gate()
    transport = ScriptedTransport(lambda request: gate)
    async with server.client(transport=transport) as client:
        # Real clock here: the outer bound (2 * timeout + 1 s) is a real asyncio timeout.
        poller = BalancePoller(
            client, [server.accounts[0]], interval=60, timeout=0.01, first_poll_spread=0.0, on_error=recorder
        )
        async with poller:
            while not recorder.errors:
                await asyncio.sleep(0.01)
        assert isinstance(recorder.errors[0].error, APITimeoutError)
        assert gate.waiting == 0


# ---------------------------------------------------------------------------------- shared backpressure


async def test_rate_limit_pauses_the_whole_poller_honouring_retry_after_and_recovers(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    accounts = add_accounts(server, 20)
    async with (
        server.client() as client,
        make_poller(client, accounts, jitter=0.0, first_poll_spread=10.0, recovery_half_life=5.0) as poller,
    ):
        await poller.advance(10)
        server.inject("/api/v1/account", Fault.status(429, retry_after=7))
        await poller.advance(1)  # the next poll meets the 429
        stats = poller.stats()
        assert stats.rate_limited == 1 and stats.backpressure_events == 1
        assert stats.slowdown == 2.0
        assert 5.0 < stats.paused_for <= 7.0
        requests = len(server.requests)
        await poller.advance(stats.paused_for - 0.01)
        assert len(server.requests) == requests  # nobody polled during the pause
        assert poller.stats().lag > 0  # and it shows as lag
        await poller.advance(0.02)
        assert len(server.requests) > requests
        assert poller.failures(recorder.errors[0].account) == 0  # a 429 is not the account's fault
        assert isinstance(recorder.errors[0].error, RateLimitError)
        await poller.advance(120)
        stats = poller.stats()
        assert stats.slowdown == 1.0 and stats.paused_for == 0.0 and stats.lag == 0.0
        polls = stats.polls
        await poller.advance(10)
        assert poller.stats().polls == polls + 20  # full speed again


async def test_concurrent_429s_are_one_episode(server: FakeCalypso, make_poller: MakePoller) -> None:
    accounts = add_accounts(server, 8)
    async with (
        server.client() as client,
        make_poller(client, accounts, first_poll_spread=0.0, jitter=0.0) as poller,
    ):
        await poller.advance(0)  # the baselines; every worker has started
        server.inject("/api/v1/account", Fault.status(429, retry_after=3, times=8))
        await poller.advance(10)  # all eight polls fall due together, run at once and all meet a 429
        stats = poller.stats()
        assert stats.rate_limited == 8 and stats.backpressure_events == 1 and stats.slowdown == 2.0
        assert stats.paused_for == 3.0
        await poller.advance(4.0)
        assert poller.stats().polls == 24  # each account polled again within a second after the pause


async def test_burst_of_server_errors_slows_everyone_sporadic_ones_do_not(
    server: FakeCalypso, make_poller: MakePoller
) -> None:
    accounts = add_accounts(server, 40)
    async with (
        server.client() as client,
        make_poller(
            client, accounts, jitter=0.0, first_poll_spread=10.0, concurrency=8, server_error_burst=5
        ) as poller,
    ):
        await poller.advance(10)
        for _ in range(4):
            server.inject("/api/v1/account", Fault.status(503))
            await poller.advance(1)
        assert poller.stats().backpressure_events == 0  # 4 isolated 5xx between successes
        server.inject("/api/v1/account", Fault.status(503, times=5))
        await poller.advance(2)  # ~8 polls: the first five meet the 503s
        stats = poller.stats()
        assert stats.backpressure_events == 1
        assert stats.slowdown == 2.0
        assert stats.paused_for > 0
        await poller.advance(200)
        assert poller.stats().slowdown == 1.0


async def test_slowdown_divides_concurrency(server: FakeCalypso, make_poller: MakePoller, clock: ManualClock) -> None:
    accounts = add_accounts(server, 16)
    gate = Gate()
    transport = ScriptedTransport(lambda request: gate if gate_on["on"] else None)
    gate_on = {"on": False}
    async with (
        server.client(transport=transport) as client,
        make_poller(
            client, accounts, jitter=0.0, first_poll_spread=0.0, concurrency=8, recovery_half_life=1000.0
        ) as poller,
    ):
        await poller.advance(1)
        server.inject("/api/v1/account", Fault.status(429, retry_after=1))
        await poller.advance(9)  # round two: one 429 among the polls
        assert poller.stats().slowdown == 2.0
        gate_on["on"] = True
        clock.advance(30)  # not poller.advance(): that would wait for the gated polls
        await settle()
        assert poller.stats().in_flight == 4  # 8 / slowdown 2
        gate.open()
        await poller.wait_idle()


# ------------------------------------------------------------------------------------- add and remove


async def test_accounts_can_be_added_and_removed_while_running(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    first, second, third = server.accounts[:3]
    async with make_poller(client, [first, second], jitter=0.0, first_poll_spread=0.0) as poller:
        await poller.advance(15)
        assert poller.add(third) == 1
        assert poller.add(third) == 0  # already watched
        assert third in poller and len(poller) == 3
        await poller.advance(10)
        assert poller.snapshot(third) is not None
        assert poller.remove(first) == 1 and poller.remove(first) == 0
        counts = polled_accounts(server)
        server.set_balance(first, "BTC", Decimal("99"))
        await poller.advance(50)
        assert polled_accounts(server)[first] == counts[first]  # no poll after removal
        assert poller.snapshot(first) is None and first not in poller.accounts
        assert poller.add() == 1  # the client's default account (= first) again: a fresh baseline
        await poller.advance(20)
        assert poller.snapshot(first) is not None
    assert recorder.changes == []  # re-adding starts a new baseline: no event for the change while away


async def test_removing_an_account_while_its_poll_is_in_flight_discards_the_result(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    slow, fast = server.accounts[:2]
    gate = Gate()
    transport = ScriptedTransport(for_account(slow, lambda: gate))
    async with server.client(transport=transport) as client:
        poller = make_poller(client, [slow, fast], emit_initial=True, first_poll_spread=0.0)
        async with poller:
            await settle()  # fast finished, slow held in flight
            await until(lambda: gate.waiting > 0)
            assert poller.stats().in_flight == 1
            poller.remove(slow)
            gate.open()
            await poller.wait_idle()
            assert poller.snapshot(slow) is None
            await poller.advance(30)
        assert {c.account for c in recorder.changes} == {fast}
        assert polled_accounts(server)[slow] == 1


# ---------------------------------------------------------------------------------------- stop, tasks


async def test_stop_leaves_no_task_and_streams_end(server: FakeCalypso, make_poller: MakePoller) -> None:
    before = asyncio.all_tasks()
    async with server.client() as client:
        poller = make_poller(client, server.accounts, first_poll_spread=0.0, concurrency=16)
        await poller.start()
        stream = poller.events()
        await poller.advance(1)
        assert len(poller_tasks()) == 17  # the scheduler and 16 workers (started one after another)
        server.set_balance(server.accounts[0], "BTC", Decimal("5"))
        await poller.advance(30)
        await poller.stop()
        assert poller_tasks() == []
        assert not poller.running
        events = [event async for event in stream]  # what was queued, then the end
        assert len(events) == 1 and stream.closed
        late = poller.events()
        assert [e async for e in late] == []
        await poller.stop()  # twice is fine
    leftovers = {t for t in asyncio.all_tasks() - before if "aiohttp" not in repr(t.get_coro())}
    assert leftovers == set()


async def test_stop_cancels_polls_that_do_not_finish_within_the_bound(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    gate = Gate()
    transport = ScriptedTransport(lambda request: gate)
    before = asyncio.all_tasks()
    async with server.client(transport=transport) as client:
        poller = make_poller(client, server.accounts, first_poll_spread=0.0)
        await poller.start()
        await settle()
        await until(lambda: gate.waiting == len(server.accounts))
        await poller.stop(timeout=0.0)
        assert gate.waiting == 0  # every hung poll was cancelled
        assert poller_tasks() == []
        assert poller.stats().in_flight == 0
    assert asyncio.all_tasks() - before == set()
    assert recorder.events == []


async def test_in_flight_polls_finish_during_a_graceful_stop(
    server: FakeCalypso, make_poller: MakePoller, recorder: Recorder
) -> None:
    gate = Gate()
    transport = ScriptedTransport(lambda request: gate)
    async with server.client(transport=transport) as client:
        poller = make_poller(client, [server.accounts[0]], first_poll_spread=0.0, emit_initial=True)
        await poller.start()
        await settle()
        await until(lambda: gate.waiting > 0)
        stopping = asyncio.ensure_future(poller.stop(timeout=30.0))
        await asyncio.sleep(0)
        assert not stopping.done()
        gate.open()
        await stopping
    assert poller.stats().polls == 1
    assert recorder.changes  # the poll that was in flight completed and reported


async def test_stop_from_a_callback(server: FakeCalypso, client: AsyncCalypso, clock: ManualClock) -> None:
    stopped: list[bool] = []

    async def on_change(event: BalanceChange) -> None:
        await poller.stop()
        stopped.append(True)

    poller = BalancePoller(
        client, server.accounts, clock=clock, first_poll_spread=0.0, emit_initial=True, on_change=on_change
    )
    await poller.start()
    await poller.advance(0)
    await poller.wait_idle()
    for _ in range(5):
        await asyncio.sleep(0)
    assert stopped and not poller.running
    assert poller_tasks() == []


async def test_a_poller_runs_once(client: AsyncCalypso) -> None:
    poller = BalancePoller(client)
    await poller.start()
    with pytest.raises(RuntimeError):
        await poller.start()
    await poller.stop()


# ---------------------------------------------------------------------------------- events and callbacks


async def test_every_stream_gets_every_event_and_callbacks_too(
    server: FakeCalypso, client: AsyncCalypso, clock: ManualClock
) -> None:
    account = server.accounts[0]
    seen_async: list[BalanceChange] = []
    seen_errors: list[PollError] = []

    async def on_change(event: BalanceChange) -> None:
        await asyncio.sleep(0)
        seen_async.append(event)

    poller = BalancePoller(
        client,
        [account, "0x" + "1" * 40],
        clock=clock,
        interval=10,
        first_poll_spread=0.0,
        on_change=on_change,
        on_error=seen_errors.append,
    )
    async with poller:
        one, two = poller.events(), poller.events()
        await poller.advance(5)
        server.set_balance(account, "BTC", Decimal("42"))
        await poller.advance(10)
    got_one = [e async for e in one]
    got_two = [e async for e in two]
    assert got_one == got_two
    assert [type(e) for e in got_one] == [PollError, BalanceChange, PollError] or len(got_one) >= 2
    assert [e for e in got_one if isinstance(e, BalanceChange)] == seen_async
    assert [e for e in got_one if isinstance(e, PollError)] == seen_errors
    assert len(seen_async) == 1 and seen_async[0].new == Decimal("42")


async def test_a_full_stream_drops_its_oldest_events_and_never_blocks_polling(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, caplog: pytest.LogCaptureFixture
) -> None:
    missing = ["0x" + f"{i:040x}" for i in range(5)]
    async with make_poller(client, missing, first_poll_spread=0.0, max_backoff=10.0) as poller:
        stream = poller.events(maxsize=3)
        with caplog.at_level(logging.WARNING, logger="calypso.poller"):
            await poller.advance(100)
        assert poller.stats().errors > 10
        assert len(stream) == 3 and stream.dropped == poller.stats().events_dropped > 0
        assert "event stream is full" in caplog.text
        await stream.aclose()
        await poller.advance(30)  # a closed stream gets nothing more
        assert len(stream) == 0


async def test_abandoned_streams_are_forgotten(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller
) -> None:
    async with make_poller(client, server.accounts) as poller:
        poller.events()
        assert len(poller._streams) == 0  # nobody holds it: no queue grows behind the poller's back


async def test_a_failing_callback_is_logged_and_polling_goes_on(
    server: FakeCalypso, client: AsyncCalypso, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event: Any) -> None:
        raise ValueError("callback bug")

    poller = BalancePoller(client, server.accounts, clock=clock, interval=10, emit_initial=True, on_change=boom)
    with caplog.at_level(logging.ERROR, logger="calypso.poller"):
        async with poller:
            await poller.advance(60)
    assert poller.stats().callback_errors > 0
    assert poller.stats().polls >= 5 * len(server.accounts)
    assert "callback failed" in caplog.text


# ---------------------------------------------------------------------------------------- observability


async def test_counters_and_lag(server: FakeCalypso, make_poller: MakePoller, clock: ManualClock) -> None:
    accounts = add_accounts(server, 6)
    gate = Gate()
    transport = ScriptedTransport(for_account(accounts[0], lambda: gate))
    async with (
        server.client(transport=transport) as client,
        make_poller(client, accounts, concurrency=1, first_poll_spread=0.0, jitter=0.0) as poller,
    ):
        await settle()
        await until(lambda: gate.waiting > 0)
        clock.advance(4)  # the only worker is stuck: the other five wait
        await settle()
        stats = poller.stats()
        assert stats.in_flight == 1 and stats.lag == 4.0 and stats.accounts == 6
        gate.open()
        await poller.wait_idle()
        assert poller.stats().lag == 0.0 and poller.stats().max_lag == 4.0
        server.set_balance(accounts[1], "BTC", Decimal("2"))
        await poller.advance(10)
        stats = poller.stats()
        assert stats.polls == 12 and stats.errors == 0 and stats.changes == 1


async def test_debug_logging_costs_nothing_when_off(
    server: FakeCalypso, client: AsyncCalypso, make_poller: MakePoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calypso_async.poller._poller as module

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(module.logger, "debug", lambda *args, **kw: calls.append(args))
    module.logger.setLevel(logging.INFO)
    try:
        server.set_balance(server.accounts[0], "BTC", Decimal("3"))
        async with make_poller(client, server.accounts, emit_initial=True) as poller:
            await poller.advance(30)
        assert calls == []  # not even called: the guard is before the call
        module.logger.setLevel(logging.DEBUG)
        async with make_poller(client, server.accounts, emit_initial=True) as poller:
            await poller.advance(30)
        assert any("polled in" in str(args[0]) for args in calls)
        assert any("changed" in str(args[0]) for args in calls)
    finally:
        module.logger.setLevel(logging.NOTSET)


def test_arguments_are_checked() -> None:
    for kw in ({"interval": 0}, {"concurrency": 0}, {"timeout": 0}, {"jitter": 1.0}, {"server_error_burst": 0}):
        with pytest.raises(ValueError):
            BalancePoller(None, **kw)
    with pytest.raises(ValueError, match="no client"):
        BalancePoller(None, ["0xabc"])


def test_manual_clock_runs_timers_in_order() -> None:
    clock = ManualClock()
    fired: list[tuple[str, float]] = []
    clock.call_later(2, lambda: fired.append(("b", clock.monotonic())))
    clock.call_later(1, lambda: fired.append(("a", clock.monotonic())))
    clock.call_later(5, lambda: fired.append(("c", clock.monotonic()))).cancel()
    clock.advance(10)
    assert fired == [("a", 1.0), ("b", 2.0)] and clock.monotonic() == 10.0


def test_balance_change_delta() -> None:
    from datetime import datetime, timezone

    at = datetime.now(timezone.utc)
    assert BalanceChange("a", "BTC", None, Decimal("2"), at).delta == Decimal("2")
    assert BalanceChange("a", "BTC", Decimal("2"), None, at).delta == Decimal("-2")


def test_a_poller_can_be_built_where_no_loop_runs() -> None:
    # e.g. at import time of a module, then started later inside asyncio.run()
    body = b'{"account":"0xa","balances":[{"currency":"BTC","amount":1.5}]}'
    canned = ScriptedTransport(lambda request: Response(200, {}, body))
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9", transport=canned)
    poller = BalancePoller(client, ["0xa", "0xb"], interval=10, clock=ManualClock(start=1000.0), first_poll_spread=5)
    assert poller.stats().polls == 0 and poller.snapshot("0xa") is None

    async def main() -> None:
        async with poller:
            await poller.advance(5)
        await client.aclose()

    asyncio.run(main())
    assert poller.stats().polls == 2
    snap = poller.snapshot("0xb")
    assert snap is not None and snap.balances == {"BTC": Decimal("1.5")}
