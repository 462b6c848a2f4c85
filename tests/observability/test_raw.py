"""``client.with_raw_response.<resource>.<method>``: the answer's facts next to the usual model, in both clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from calypso_async import APITimeoutError, BadRequestError, RawResponse
from calypso_async.models import AccountResponseDTO, PublicDealResponseDTO

from .support import ACCOUNT_BODY, StubTransport, assert_no_secret, error, make, make_sync, ok

ROOT = Path(__file__).resolve().parents[2]


def account_script() -> StubTransport:
    headers = {"X-Trace-Id": "t-2", "Content-Type": "application/json"}
    return StubTransport(error(503, None), ok(ACCOUNT_BODY, headers=headers))


def check_account_raw(raw: RawResponse[AccountResponseDTO]) -> None:
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["Content-Type"] == "application/json"
    assert raw.trace_id == "t-2"
    assert raw.attempts == 2
    assert raw.elapsed >= 0
    assert raw.idempotency_key is None
    assert raw.operation == "account.get"
    assert raw.content.startswith(b'{"account"')
    model = raw.parse()
    assert isinstance(model, AccountResponseDTO)
    assert model.account == ACCOUNT_BODY["account"]
    assert_no_secret(repr(raw))


async def test_async_raw_response_has_status_headers_timing_and_model() -> None:
    raw = await make(account_script()).with_raw_response.account.get()
    check_account_raw(raw)


def test_sync_raw_response_has_status_headers_timing_and_model() -> None:
    with make_sync(account_script()) as client:
        raw = client.with_raw_response.account.get()
    check_account_raw(raw)


PAYOUT = {"id": "p-1", "status": "NEW"}


async def test_async_raw_response_of_a_create_returns_the_generated_key() -> None:
    transport = StubTransport(ok(PAYOUT))
    raw = await make(transport).with_raw_response.payouts.create(deposit_address="Tabc", amount=1, currency="TRX")
    assert raw.idempotency_key is not None
    assert raw.idempotency_key in transport.requests[0].body.decode()
    payout = raw.parse()
    assert isinstance(payout, PublicDealResponseDTO)
    assert payout.idempotency_key == raw.idempotency_key


def test_sync_raw_response_of_a_create_returns_the_given_key() -> None:
    with make_sync(StubTransport(ok(PAYOUT))) as client:
        raw = client.with_raw_response.payouts.create(
            deposit_address="Tabc", amount=1, currency="TRX", idempotency_key="k-7"
        )
    assert (raw.idempotency_key, raw.attempts, raw.status_code) == ("k-7", 1, 200)


async def test_raw_response_of_a_create_recovered_by_lookup_shows_the_lookup_answer() -> None:
    transport = StubTransport(
        APITimeoutError("slow"),
        error(409, "016", "duplicate idempotency key"),
        ok({**PAYOUT, "idempotencyKey": "k-1"}, headers={"X-Trace-Id": "lookup"}),
    )
    raw = await make(transport).with_raw_response.payouts.create(
        deposit_address="Tabc", amount=1, currency="TRX", idempotency_key="k-1"
    )
    assert [r.url.rsplit("/api/v1", 1)[1] for r in transport.requests] == ["/payout/create"] * 2 + ["/payout"]
    assert (raw.status_code, raw.trace_id, raw.attempts) == (200, "lookup", 2)
    assert raw.parse().id == "p-1"


async def test_raw_request_escape_hatch_gives_the_decoded_json() -> None:
    raw = await make(StubTransport(ok({"x": 1}))).with_raw_response.request("/api/v1/anything")
    assert (raw.status_code, raw.operation, raw.parse()) == (200, "request", {"x": 1})


async def test_async_raw_call_that_fails_raises_as_usual() -> None:
    with pytest.raises(BadRequestError):
        await make(StubTransport(error(400, "001"))).with_raw_response.account.get()


def test_sync_raw_call_that_fails_raises_as_usual() -> None:
    with make_sync(StubTransport(error(400, "001"))) as client, pytest.raises(BadRequestError):
        client.with_raw_response.account.get()


async def test_raw_wrappers_keep_the_methods_name_and_docstring() -> None:
    client = make(StubTransport())
    wrapped = client.with_raw_response.payouts.create
    assert wrapped.__name__ == "create"
    assert wrapped.__doc__ == client.payouts.create.__doc__


async def test_plain_calls_after_a_raw_call_are_not_observed() -> None:
    client = make(StubTransport(ok(ACCOUNT_BODY), ok(ACCOUNT_BODY)))
    await client.with_raw_response.account.get()
    assert client._observer is None
    account = await client.account.get()
    assert isinstance(account, AccountResponseDTO)


def test_raw_wrappers_are_typed_per_method(tmp_path: Path) -> None:
    """mypy sees ``RawResponse[<the method's model>]`` and the method's own parameters."""
    source = (
        "from calypso_async import AsyncCalypso\n"
        "from calypso_sync import Calypso\n"
        "async def f(a: AsyncCalypso, s: Calypso) -> None:\n"
        "    reveal_type(await a.with_raw_response.payouts.get(id='1'))\n"
        "    reveal_type(s.with_raw_response.account.get().parse())\n"
        "    reveal_type(a.with_options(timeout=1))\n"
        "    await a.with_raw_response.payouts.get(idd='1')\n"
    )
    (tmp_path / "check.py").write_text(source)
    (tmp_path / "mypy.ini").write_text(f"[mypy]\nmypy_path = {ROOT}\n")
    command = ["--strict", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "cache"), "check.py"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    out = done.stdout
    assert (
        'Revealed type is "calypso_async._raw.RawResponse[calypso_async.models.payouts.PublicDealResponseDTO]"' in out
    )
    assert 'Revealed type is "calypso_async.models.account.AccountResponseDTO"' in out
    assert 'Revealed type is "calypso_async._client.AsyncCalypso"' in out
    assert 'Unexpected keyword argument "idd"' in out


def test_raw_wrappers_cover_every_single_call_method_of_both_clients() -> None:
    import functools
    import inspect

    from calypso_async import AsyncCalypso
    from calypso_async._raw_resources import AsyncCalypsoWithRawResponse
    from calypso_sync._raw_resources import CalypsoWithRawResponse

    resources = [
        n
        for n, v in vars(AsyncCalypso).items()
        if isinstance(v, functools.cached_property) and n != "with_raw_response"
    ]
    assert len(resources) == 17
    client = make(StubTransport())
    for name in resources:
        resource = getattr(client, name)
        methods = {m for m, f in vars(type(resource)).items() if inspect.iscoroutinefunction(f)}
        assert set(type(getattr(client.with_raw_response, name)).__slots__) == methods, name
        assert not any(m.startswith("iter_") for m in methods)
        assert isinstance(vars(AsyncCalypsoWithRawResponse)[name], functools.cached_property)
        assert isinstance(vars(CalypsoWithRawResponse)[name], functools.cached_property)
