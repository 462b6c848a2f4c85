"""The control endpoints (``/_fake/...``) drive the fake server over HTTP, and the ``calypso fake-server``
actions drive them from a shell; both refuse to act unless the server is on loopback or enabled explicitly."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calypso_async import AsyncCalypso, ServerError, _json
from calypso_async.cli import main
from calypso_async.testing import FakeCalypso, Fault
from calypso_async.testing._control import control_routes, is_loopback
from calypso_sync import Calypso

from ..cli.conftest import read_until

Control = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
async def control(server: FakeCalypso) -> AsyncIterator[Control]:
    """``await control("POST", "/payouts/advance", {"steps": 1})`` -> (status, decoded JSON)."""
    async with aiohttp.ClientSession() as session:

        async def send(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            data = None if body is None else _json.dumps(body)
            async with session.request(method, f"{server.base_url}/_fake{path}", data=data) as resp:
                return resp.status, _json.loads(await resp.read())

        yield send


async def _invoice(client: AsyncCalypso) -> str:
    invoice = await client.invoices.create_single(amount=Decimal("10"), currency="USDT_TRX", description="order")
    assert invoice.id is not None
    return invoice.id


async def test_state_shows_accounts_balances_and_counts(server: FakeCalypso, control: Control) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("12.5"))
    status, state = await control("GET", "/state")
    assert status == 200
    assert state["defaultAccount"] == server.account_id
    assert state["accounts"][server.account_id]["USDT_TRX"] == Decimal("12.5")
    assert set(state["accounts"]) == set(server.accounts)
    assert state["pendingFaults"] == 0 and state["skew"] == 0
    assert server.secret_key not in str(state) and server.api_key not in str(state)


async def test_pay_invoice_by_id_pays_and_credits(server: FakeCalypso, client: AsyncCalypso, control: Control) -> None:
    invoice_id = await _invoice(client)
    before = server.balance(server.account_id, "USDT_TRX")
    status, paid = await control("POST", f"/invoices/{invoice_id}/pay")
    assert status == 200 and paid["id"] == invoice_id and paid["state"] == "COMPLETED"
    assert (await client.invoices.get(id=invoice_id)).state == "COMPLETED"
    assert server.balance(server.account_id, "USDT_TRX") > before


async def test_pay_invoice_partially_and_refusals(client: AsyncCalypso, control: Control) -> None:
    invoice_id = await _invoice(client)
    status, partial = await control("POST", f"/invoices/{invoice_id}/pay", {"amount": "4"})
    assert status == 200 and partial["state"] != "COMPLETED"
    status, error = await control("POST", f"/invoices/{invoice_id}/pay", {"currency": "BTC"})
    assert status == 400 and error["errorCode"] == "001" and "BTC" in error["message"] and error["traceId"]
    status, error = await control("POST", "/invoices/no-such/pay")
    assert status == 404 and "no-such" in error["message"]
    status, error = await control("POST", f"/invoices/{invoice_id}/pay", {"amount": "-1"})
    assert status == 400 and "amount" in error["message"]


async def test_advance_and_fail_payouts(server: FakeCalypso, client: AsyncCalypso, control: Control) -> None:
    server.set_balance(server.account_id, "USDT_TRX", Decimal("100"))
    address = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    first = await client.payouts.create(currency="USDT_TRX", amount=Decimal("1"), deposit_address=address)
    assert (await control("POST", "/payouts/advance", {"steps": 1})) == (200, {"changes": 1})
    assert (await client.payouts.get(id=first.id)).state == "IN_PROGRESS"
    other = await client.payouts.create(currency="USDT_TRX", amount=Decimal("1"), deposit_address=address)
    status, answer = await control("POST", f"/payouts/{first.id}/advance")
    assert status == 200 and answer["id"] == first.id and answer["state"] == "COMPLETED"
    assert (await client.payouts.get(id=other.id)).state == "CREATED"  # only the named payout moved
    status, answer = await control("POST", f"/payouts/{other.idempotency_key}/advance", {"steps": 1})
    assert status == 200 and answer["state"] == "IN_PROGRESS"

    second = await client.payouts.create(currency="USDT_TRX", amount=Decimal("2"), deposit_address=address)
    balance = server.balance(server.account_id, "USDT_TRX")
    status, failed = await control("POST", f"/payouts/{second.id}/fail", {"message": "rejected"})
    assert status == 200 and failed["state"] == "FAILED"
    assert server.balance(server.account_id, "USDT_TRX") > balance  # refunded
    assert (await control("POST", f"/payouts/{second.id}/fail"))[0] == 400  # already final
    assert (await control("POST", "/payouts/nope/advance"))[0] == 404
    assert (await control("POST", "/payouts/advance", {"steps": 0}))[0] == 400


async def test_set_balance_on_the_default_or_a_named_account(
    server: FakeCalypso, client: AsyncCalypso, control: Control
) -> None:
    status, answer = await control("POST", "/balances", {"currency": "USDT_TRX", "amount": "1000.000001"})
    assert status == 200 and answer == {
        "account": server.account_id,
        "currency": "USDT_TRX",
        "amount": Decimal("1000.000001"),
    }
    other = server.accounts[-1]
    assert (await control("POST", "/balances", {"account": other, "currency": "BTC", "amount": 2}))[0] == 200
    assert server.balance(other, "BTC") == Decimal("2")
    status, error = await control("POST", "/balances", {"account": "0xnope", "currency": "BTC", "amount": 1})
    assert status == 404 and "0xnope" in error["message"]
    assert (await control("POST", "/balances", {"currency": "BTC"}))[0] == 400
    assert (await control("POST", "/balances", {"currency": "BTC", "amount": "NaN"}))[0] == 400


async def test_faults_use_the_in_process_vocabulary(
    server: FakeCalypso, client: AsyncCalypso, control: Control
) -> None:
    spec = {"path": "/api/v1/account", "kind": "status", "code": 503, "times": 3, "retry_after": 0}
    assert await control("POST", "/faults", spec) == (200, {"pendingFaults": 3})
    with pytest.raises(ServerError) as caught:
        await client.account.get(max_retries=0)
    assert caught.value.status_code == 503
    assert (await control("DELETE", "/faults")) == (200, {"pendingFaults": 0})
    await client.account.get()

    assert (await control("POST", "/faults", {"kind": "skew_jump", "seconds": -5}))[0] == 200
    for bad in ({"kind": "explode"}, {"kind": "delay"}, {"kind": "status", "code": 503, "colour": "red"}):
        status, error = await control("POST", "/faults", bad)
        assert status == 400 and error["errorCode"] == "001", bad


async def test_control_requests_are_not_recorded_nor_faulted(server: FakeCalypso, control: Control) -> None:
    server.inject("*", Fault.drop())
    status, _ = await control("GET", "/state")
    assert status == 200 and server.requests == [] and server.pending_faults == 1


async def test_flush_delivers_pending_webhooks(server: FakeCalypso, client: AsyncCalypso, control: Control) -> None:
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        await client.webhooks.create(
            request_id="H1", url=f"http://{host}:{port}/hook", notification_service_types=["INVOICE"]
        )
        invoice_id = await _invoice(client)
        await control("POST", f"/invoices/{invoice_id}/pay")
        status, answer = await control("POST", "/webhooks/flush", {"timeout": 20})
        assert status == 200 and answer["deliveries"] >= 0
        assert len(received) == len(server.webhooks.deliveries) >= 2  # created, then paid: all delivered
        assert b'"state":"COMPLETED"' in received[-1]
        assert (await control("POST", "/webhooks/flush", {"timeout": 0}))[0] == 400
    finally:
        await runner.cleanup()


async def test_clock_sets_the_skew(server: FakeCalypso, control: Control) -> None:
    assert await control("POST", "/clock", {"skew": Decimal("-30.5")}) == (200, {"skew": Decimal("-30.5")})
    assert server.skew == -30.5
    assert (await control("POST", "/clock", {"skew": "soon"}))[0] == 400
    assert (await control("POST", "/clock", {"skew": 10**12}))[0] == 400


async def test_bad_bodies_and_unknown_endpoints(control: Control) -> None:
    status, error = await control("POST", "/balances", [1])
    assert status == 400 and "JSON object" in error["message"]
    assert (await control("POST", "/nothing-here"))[0] == 404
    assert (await control("GET", "/balances"))[0] == 404


async def test_disabled_control_answers_403_and_changes_nothing() -> None:
    server = FakeCalypso()
    await server.start(control=False)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{server.base_url}/_fake/balances", data=b'{"currency":"BTC","amount":5}') as r:
                assert r.status == 403 and "loopback" in (await r.json())["message"]
        assert server.balance(server.account_id, "BTC") != Decimal(5)
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_only_loopback_hosts_enable_control_by_default(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# ------------------------------------------------------------------------------------------------- the CLI


@pytest.fixture
def threaded() -> Any:
    with FakeCalypso.run_in_thread() as server:
        yield server


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_actions_drive_a_running_server(threaded: FakeCalypso, capsys: pytest.CaptureFixture[str]) -> None:
    url = ("--url", threaded.base_url)
    code, out, _ = _cli(capsys, "fake-server", "set-balance", "USDT_TRX", "250.5", *url)
    assert code == 0 and _json.loads(out)["amount"] == Decimal("250.5")
    assert threaded.balance(threaded.account_id, "USDT_TRX") == Decimal("250.5")

    code, out, _ = _cli(capsys, "fake-server", "state", *url)
    assert code == 0 and _json.loads(out)["accounts"][threaded.account_id]["USDT_TRX"] == Decimal("250.5")

    code, out, _ = _cli(capsys, "fake-server", "fault", "status", "--code", "502", "--times", "2", *url)
    assert code == 0 and threaded.pending_faults == 2
    assert _cli(capsys, "fake-server", "clear-faults", *url)[0] == 0 and threaded.pending_faults == 0
    assert _cli(capsys, "fake-server", "fault", "delay", "--seconds", "0.5", "--path", "/api/v1/account", *url)[0] == 0
    assert threaded.pending_faults == 1

    assert _cli(capsys, "fake-server", "advance-payouts", "--steps", "1", *url)[0] == 0
    code, _, err = _cli(capsys, "fake-server", "advance-payouts", "--payout", "nope", *url)
    assert code == 1 and "nope" in err
    assert _cli(capsys, "fake-server", "flush-webhooks", *url)[0] == 0
    assert _cli(capsys, "fake-server", "set-skew", "-10", *url)[0] == 0 and threaded.skew == -10


def test_cli_pay_invoice_and_fail_payout(threaded: FakeCalypso, capsys: pytest.CaptureFixture[str]) -> None:
    options = {"account": threaded.account_id, "base_url": threaded.base_url}
    with Calypso(threaded.api_key, threaded.secret_key, **options) as client:
        invoice = client.invoices.create_single(amount=Decimal("5"), currency="ETH", description="x")
    assert invoice.id is not None
    code, out, _ = _cli(capsys, "fake-server", "pay-invoice", invoice.id, "--base-url", threaded.base_url)
    assert code == 0 and _json.loads(out)["state"] == "COMPLETED"
    code, _, err = _cli(capsys, "fake-server", "fail-payout", "nope", "--url", threaded.base_url)
    assert code == 1 and "404" in err and "nope" in err


def test_cli_action_reads_calypso_base_url(
    threaded: FakeCalypso, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALYPSO_BASE_URL", threaded.base_url)
    code, out, _ = _cli(capsys, "fake-server", "state")
    assert code == 0 and threaded.account_id in out


def test_cli_action_without_a_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "fake-server", "state", "--url", "http://127.0.0.1:1")
    assert code == 3 and "cannot reach a fake server" in err


def test_standalone_server_prints_and_serves_its_control_endpoints() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALYPSO_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "calypso_async.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        seen = read_until(proc, "Ctrl-C", timeout=30.0)
        control_line = next(line for line in seen.splitlines() if line.startswith("control: "))
        url = control_line.split()[1]
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "state", timeout=20) as resp:
            assert resp.status == 200 and "accounts" in _json.loads(resp.read())
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_docs_show_every_control_endpoint_and_action() -> None:
    from pathlib import Path

    from calypso_async.cli import build_parser

    docs = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")
    server = FakeCalypso()
    paths = {route.path for route in control_routes(server, True)} - {"/_fake/{tail:.*}"}
    for path in paths:
        assert path.replace("{id}", "").split("{")[0] in docs.replace("{id}", ""), path
    fake_server = build_parser()._subparsers._group_actions[0].choices["fake-server"]  # type: ignore[union-attr]
    actions = fake_server._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for action in actions:
        assert f"calypso fake-server {action}" in docs, action


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_FIELDS = ["amount", "currency", "account", "steps", "message", "kind", "path", "code", "seconds", "times", "skew"]
_BODIES = st.one_of(
    st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=4),
    _JSON,
    st.binary(max_size=30).map(lambda raw: raw),
)
_ENDPOINTS = [
    ("POST", "/invoices/x/pay"),
    ("POST", "/payouts/advance"),
    ("POST", "/payouts/x/advance"),
    ("POST", "/payouts/x/fail"),
    ("POST", "/balances"),
    ("POST", "/faults"),
    ("POST", "/clock"),
    ("POST", "/webhooks/flush"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(_ENDPOINTS), body=_BODIES)
def test_hostile_bodies_are_refused_never_a_server_error(
    threaded: FakeCalypso, endpoint: tuple[str, str], body: Any
) -> None:
    method, path = endpoint
    data = body if isinstance(body, bytes) else _json.dumps(body)
    request = urllib.request.Request(f"{threaded.base_url}/_fake{path}", data=data, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    assert status in (200, 400, 404), raw
    assert isinstance(_json.loads(raw), dict)
    threaded.clear_faults()
    threaded.set_skew(0)
