"""Secret hygiene: with DEBUG logging on everywhere, run every operation of the fake server through both clients,
the error paths, and webhook subscriptions (whose answer carries ``secretKey``); then scan every log record
(message and formatted with its traceback), every repr/str of clients, models and errors, and every formatted
exception chain for the secret key and webhook secrets: none may appear. The API key appears only masked.

The operation recipes (realistic arguments for each of the 55 operations) are those of
``tests/api/test_operations.py``.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest

from calypso_async import AsyncCalypso, CalypsoError, DuplicateIdempotencyKeyError, Model
from calypso_async._signing import mask
from calypso_async.resources import OPERATIONS
from calypso_async.testing import FakeCalypso, Fault
from calypso_async.webhooks import construct_event
from tests.api.test_operations import RECIPES

from ._support import ADDRESS, async_client, closed_port, fund, policy, sync_client, threaded_server

FORMATTER = logging.Formatter("%(name)s %(levelname)s %(message)s")


class Evidence:
    """Everything a user or an operator could see: texts to scan."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.errors = 0
        self.models = 0
        self.operations: set[str] = set()

    def see(self, *things: Any) -> None:
        for thing in things:
            if isinstance(thing, BaseException):
                self.errors += 1
                self.texts += [repr(thing), str(thing), "".join(traceback.format_exception(thing))]
                for name, value in vars(thing).items():
                    if name not in ("body",):  # the raw error body is data, kept for the caller on purpose
                        self.texts.append(f"{name}={value!r}")
            elif isinstance(thing, Model):
                self.models += 1
                self.texts += [repr(thing), str(thing)]
            elif isinstance(thing, (list, tuple)):
                self.see(*thing)
            else:
                self.texts += [repr(thing), str(thing)]

    def logs(self, records: Iterable[logging.LogRecord]) -> int:
        count = 0
        for record in records:
            count += 1
            self.texts += [record.getMessage(), FORMATTER.format(record), repr(record.args)]
        return count

    def scan(self, secrets: Iterable[str], api_key: str) -> None:
        secrets = [s for s in secrets if s]
        assert secrets
        for text in self.texts:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into: {text[:300]!r}"
            assert api_key not in text, f"the full API key leaked into: {text[:300]!r}"


def webhook_secrets(server: FakeCalypso, results: Iterable[Any]) -> list[str]:
    secrets = [sub.secret_key for sub in server.webhooks.subscriptions()]
    secrets += [r.secret_key for r in results if getattr(r, "secret_key", None)]
    return secrets


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: calypso, calypso.testing, aiohttp, asyncio ...
    return caplog


async def every_operation_async(evidence: Evidence) -> list[str]:
    secrets: list[str] = []
    for name in OPERATIONS:
        async with FakeCalypso(seed=31) as server, async_client(server) as api:
            fund(server)
            kwargs = await RECIPES[name](server, api)
            resource, method = name.split(".")
            result = await getattr(getattr(api, resource), method)(**kwargs)
            evidence.see(result, api, server)
            evidence.operations.add(name)
            secrets += [server.secret_key, *webhook_secrets(server, [result])]
    return secrets


async def error_paths_async(evidence: Evidence) -> list[str]:
    async with FakeCalypso(seed=32) as server:
        fund(server)
        results: list[Any] = []
        async with async_client(server, timeout=0.5) as api:
            hook = await api.webhooks.create(url="https://example.com/hook", notification_service_types=["INVOICE"])
            results += [hook, await api.webhooks.list()]
            server.inject("/api/v1/subscription/webhook/create", Fault.drop_after_processing())
            results.append(
                await api.webhooks.create(url="https://example.com/h2", notification_service_types=["PAYOUT"])
            )
            server.inject("/api/v1/subscription/webhook/create", Fault.malformed(b'{"secretKey":"'))
            server.inject("/api/v1/subscription/webhook/create", Fault.status(503, times=9))
            attempts = [
                ("/api/v1/account", Fault.status(503, times=4), api.account.get, {}),
                ("/api/v1/account", Fault.status(400, error_code="011", times=2), api.account.get, {}),
                ("/api/v1/account", Fault.html(502, times=4), api.account.get, {}),
                ("/api/v1/account", Fault.malformed(b"<html>oops</html>", times=4), api.account.get, {}),
                ("/api/v1/account", Fault.delay(5.0, times=4), api.account.get, {}),
                ("/api/v1/exchange/create", Fault.drop_after_processing(), api.exchanges.create,
                 {"source_currency": "TRX", "destination_currency": "ETH", "amount": Decimal("5")}),
                ("/api/v1/payout/create", Fault.truncated(times=4), api.payouts.create,
                 {"deposit_address": ADDRESS, "amount": Decimal("1"), "currency": "USDT_TRX"}),
                ("/api/v1/subscription/webhook/create", None, api.webhooks.create,
                 {"url": "https://example.com/h3", "notification_service_types": ["INVOICE"]}),
            ]  # fmt: skip
            for path, fault, call, kwargs in attempts:
                if fault is not None:
                    server.inject(path, fault)
                with pytest.raises(CalypsoError) as info:
                    await call(**kwargs)
                evidence.see(info.value)
            server.clear_faults()
            for bad in ({"id": "no-such-invoice"}, {"idempotency_key": "no-such-key"}):
                with pytest.raises(CalypsoError) as info:
                    await api.invoices.get(**bad)
                evidence.see(info.value)
            payout = {"deposit_address": ADDRESS, "amount": Decimal("1"), "currency": "USDT_TRX"}
            first = await api.payouts.create(**payout)
            with pytest.raises(DuplicateIdempotencyKeyError) as info:
                await api.payouts.create(**{**payout, "amount": Decimal("2")}, idempotency_key=first.idempotency_key)
            with pytest.raises((TypeError, ValueError)) as bad_amount:
                await api.payouts.create(deposit_address=ADDRESS, amount=float("nan"), currency="USDT_TRX")
            evidence.see(info.value, bad_amount.value, api)
        for overrides in (
            {"api_key": "0" * 32},
            {"secret_key": "f" * 32},
            {"base_url": f"http://127.0.0.1:{closed_port()}"},
            {"account": "0x" + "0" * 40},
        ):
            async with async_client(server, **overrides) as other:
                with pytest.raises(CalypsoError) as info:
                    await other.account.get()
                evidence.see(info.value, other)
        secrets = [server.secret_key, *webhook_secrets(server, results)]
        # A webhook delivery with a wrong signature: the error names neither the secret nor the expected Sign.
        for sub in server.webhooks.subscriptions():
            with pytest.raises(CalypsoError) as info:
                construct_event(b'{"type":"INVOICE_PAID","data":{}}', {"Sign": "00" * 64}, sub.secret_key)
            evidence.see(info.value)
        evidence.see(results)
    return secrets


def assert_api_key_masked(evidence: Evidence, api_keys: Iterable[str]) -> None:
    masked = {mask(key) for key in api_keys}
    assert any(m in text for text in evidence.texts for m in masked), "the masked API key shows in DEBUG logs"


async def test_async_client_leaks_no_secret(debug_logs: pytest.LogCaptureFixture) -> None:
    evidence = Evidence()
    secrets = await every_operation_async(evidence)
    secrets += await error_paths_async(evidence)
    records = evidence.logs(debug_logs.records)
    assert records > 100 and evidence.errors >= 15 and evidence.operations == set(OPERATIONS)
    async with FakeCalypso(seed=31) as server:
        api_key = server.api_key
    evidence.scan(secrets, api_key)
    assert_api_key_masked(evidence, [api_key])


def test_sync_client_leaks_no_secret(debug_logs: pytest.LogCaptureFixture) -> None:
    evidence = Evidence()
    secrets: list[str] = []
    api_key = ""
    for name in OPERATIONS:
        with threaded_server(seed=33) as server:
            fund(server)
            api_key = server.api_key

            async def prepare(name: str = name, server: FakeCalypso = server) -> dict[str, Any]:
                async with async_client(server) as helper:
                    return await RECIPES[name](server, helper)

            kwargs = asyncio.run(prepare())
            client = sync_client(server)
            try:
                resource, method = name.split(".")
                result = getattr(getattr(client, resource), method)(**kwargs)
                evidence.see(result, client)
                evidence.operations.add(name)
                if name == "account.get":
                    server.inject("/api/v1/account", Fault.status(503, times=4))
                    with pytest.raises(CalypsoError) as info:
                        client.account.get()
                    evidence.see(info.value)
                if name == "webhooks.create":
                    server.inject("/api/v1/subscription/webhook/create", Fault.drop_after_processing())
                    again = client.webhooks.create(url="https://example.com/s", notification_service_types=["PAYOUT"])
                    evidence.see(again)
                    result = [result, again]
            finally:
                client.close()
            secrets += [server.secret_key, *webhook_secrets(server, result if isinstance(result, list) else [result])]
    with threaded_server(seed=33) as server:
        wrong = sync_client(server, secret_key="f" * 32)
        try:
            with pytest.raises(CalypsoError) as info:
                wrong.account.get()
            evidence.see(info.value, wrong)
        finally:
            wrong.close()
    records = evidence.logs(debug_logs.records)
    assert records > 50 and evidence.errors >= 2 and evidence.operations == set(OPERATIONS)
    evidence.scan(secrets, api_key)
    assert_api_key_masked(evidence, [api_key])


def test_repr_of_a_client_built_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_API_KEY", "c529e14832b34b74972365cf7bf02430")
    monkeypatch.setenv("CALYPSO_SECRET_KEY", "b823a6b9ea72408583cef9ec8d67fa52")
    client = AsyncCalypso(retry_policy=policy(0))
    for text in (repr(client), str(client), repr(vars(client).get("_signer"))):
        assert "b823a6b9ea72408583cef9ec8d67fa52" not in text
        assert "c529e14832b34b74972365cf7bf02430" not in text


def test_the_scan_finds_a_planted_secret() -> None:
    evidence = Evidence()
    evidence.see(ValueError("signed with b823a6b9ea72408583cef9ec8d67fa52"))
    with pytest.raises(AssertionError):
        evidence.scan(["b823a6b9ea72408583cef9ec8d67fa52"], "c529e14832b34b74972365cf7bf02430")
    evidence = Evidence()
    evidence.see("Key: c529e14832b34b74972365cf7bf02430")
    with pytest.raises(AssertionError):
        evidence.scan(["b823a6b9ea72408583cef9ec8d67fa52"], "c529e14832b34b74972365cf7bf02430")


WEBHOOK_SECRET = "whsec_5f0c2a9e8b7d4c3a"


@pytest.mark.parametrize(
    "prefix", [b"\xef\xbb\xbf", b")]}',\n", b"\x00", b"\xef\xbb\xbf\xef\xbb\xbf"], ids=["bom", "xssi", "nul", "2bom"]
)
async def test_an_undecodable_answer_does_not_echo_its_secrets(
    prefix: bytes, debug_logs: pytest.LogCaptureFixture
) -> None:
    body = prefix + b'{"requestId":"r-1","secretKey":"' + WEBHOOK_SECRET.encode() + b'","url":"https://x.example"}'
    evidence = Evidence()
    async with FakeCalypso(seed=34) as server, async_client(server, retry_policy=policy(1)) as api:
        server.inject("/api/v1/subscription/webhook/create", Fault.malformed(body, times=2))
        with pytest.raises(CalypsoError) as info:
            await api.webhooks.create(url="https://example.com/hook", notification_service_types=["INVOICE"])
        evidence.see(info.value)
        api_key = server.api_key
    evidence.logs(debug_logs.records)
    evidence.scan([WEBHOOK_SECRET], api_key)
