"""Transport security: TLS always verified, plain http only on loopback or by explicit opt-in, no redirects
followed for signed calls, answers capped in size (a 50 MB stream is refused without buffering it)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from calypso_async import (
    AiohttpTransport,
    APIConnectionError,
    APIError,
    AsyncCalypso,
    InvalidResponseError,
    OutcomeUnknownError,
)

from ..conftest import ACCOUNT, API_KEY, SECRET
from ._servers import (
    ACCOUNT_JSON,
    Recorder,
    bomb_handler,
    compressed,
    json_handler,
    redirect_handler,
    serve,
    serve_in_thread,
    streaming_handler,
)
from ._support import ADDRESS, CALL_IDS, CALLS, CallSpec, guarded, in_thread, policy, sync_class

MiB = 1024 * 1024


def client_for(base_url: str, **kw: Any) -> AsyncCalypso:
    kw.setdefault("retry_policy", policy(2))
    kw.setdefault("timeout", 10.0)
    return AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, base_url=base_url, **kw)


def sync_for(base_url: str, **kw: Any) -> Any:
    cls = sync_class()
    kw.setdefault("retry_policy", policy(2))
    kw.setdefault("timeout", 10.0)
    return cls(API_KEY, SECRET, account=ACCOUNT, base_url=base_url, **kw)


# ------------------------------------------------------------------------------------------------- TLS


async def test_default_connector_verifies_certificates() -> None:
    transport = AiohttpTransport()
    try:
        session = transport._get_session()
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector._ssl is True  # aiohttp: True means "verify with the default trust store"
    finally:
        await transport.aclose()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI.

    The ``cryptography`` package is not a dependency of calypso nor of its tests, so the CLI is used; without it
    the TLS tests are skipped with that reason."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl CLI is available to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    yield cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_self_signed_server_is_refused(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    recorder = Recorder()
    async with serve(json_handler(ACCOUNT_JSON, recorder), ssl_context=server_context(cert, key)) as url:
        async with client_for(url) as client:
            with pytest.raises(APIConnectionError) as info:
                await guarded(client.account.get(), 30)
        assert "certificate" in str(info.value).lower()
        assert info.value.request_sent is False
        assert len(recorder) == 0  # no request ever reached the handler

        # Control: the same server is fine for a client that trusts this certificate, so what failed above is
        # certificate verification and nothing else.
        trusting = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session:
            async with client_for(url, session=session) as client:
                account = await guarded(client.account.get(), 30)
        assert account.account == ACCOUNT and len(recorder) == 1


def test_self_signed_server_is_refused_sync(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    recorder = Recorder()
    with serve_in_thread(json_handler(ACCOUNT_JSON, recorder), ssl_context=server_context(cert, key)) as url:
        client = sync_for(url)
        try:
            with pytest.raises(APIConnectionError) as info:
                in_thread(client.account.get, 30)
        finally:
            client.close()
    assert "certificate" in str(info.value).lower()
    assert len(recorder) == 0


# ------------------------------------------------------------------------------------------ plain http


@pytest.mark.parametrize(
    "url",
    [
        "http://api.calypso.finance",
        "http://10.0.0.7:8080",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example",
        "http://evil.example#@127.0.0.1",
        "http://[::ffff:8.8.8.8]",
        "ftp://127.0.0.1",
        "127.0.0.1:8080",
    ],
)
def test_plain_http_is_refused_off_loopback(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        AsyncCalypso(API_KEY, SECRET, base_url=url)
    monkeypatch.setenv("CALYPSO_BASE_URL", url)
    with pytest.raises(ValueError):
        AsyncCalypso(API_KEY, SECRET)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9", "http://127.8.9.10"])
async def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    async with AsyncCalypso(API_KEY, SECRET, base_url=url) as client:
        assert client.base_url == url


async def test_plain_http_elsewhere_needs_the_explicit_opt_in() -> None:
    async with AsyncCalypso(API_KEY, SECRET, base_url="http://gateway.internal", allow_insecure_http=True) as client:
        assert client.base_url == "http://gateway.internal"


def test_plain_http_is_refused_by_the_sync_client_too() -> None:
    cls = sync_class()
    with pytest.raises(ValueError):
        cls(API_KEY, SECRET, base_url="http://api.calypso.finance")


# ------------------------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(status: int) -> None:
    elsewhere = Recorder()
    here = Recorder()
    async with serve(json_handler(ACCOUNT_JSON, elsewhere)) as target:
        async with serve(redirect_handler(status, target + "/steal", here)) as url, client_for(url) as client:
            with pytest.raises(APIError) as read:
                await guarded(client.account.get(), 30)
            with pytest.raises(APIError) as payout:
                await guarded(
                    client.payouts.create(deposit_address=ADDRESS, amount=Decimal("1"), currency="USDT_TRX"), 30
                )
    assert read.value.status_code == status and payout.value.status_code == status
    assert payout.value.idempotency_key
    assert len(here) == 2  # not retried either: a redirect is not a transient failure
    assert len(elsewhere) == 0  # the Location was never requested


def test_redirects_are_not_followed_sync() -> None:
    elsewhere, here = Recorder(), Recorder()
    with serve_in_thread(json_handler(ACCOUNT_JSON, elsewhere)) as target:
        with serve_in_thread(redirect_handler(302, target + "/steal", here)) as url:
            client = sync_for(url)
            try:
                with pytest.raises(APIError) as info:
                    in_thread(client.account.get, 30)
            finally:
                client.close()
    assert info.value.status_code == 302
    assert len(here) == 1 and len(elsewhere) == 0


# ------------------------------------------------------------------------------------------ size cap


async def test_streamed_50_mb_answer_is_refused_with_bounded_memory() -> None:
    recorder = Recorder()
    async with serve(streaming_handler(50 * MiB, recorder)) as url, client_for(url) as client:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            with pytest.raises(InvalidResponseError) as info:
                await guarded(client.account.get(), 60)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "max_response_bytes" in str(info.value)
    assert len(recorder) == 3  # retried (a read), each attempt cut at the cap
    # Bounded: well under the 50 MB sent, and not growing with the attempts.
    assert peak < 28 * MiB, f"peak {peak / MiB:.1f} MiB while reading a capped answer"


async def test_a_capped_answer_error_does_not_pin_the_partial_body() -> None:
    async with serve(streaming_handler(50 * MiB)) as url, client_for(url, retry_policy=policy(0)) as client:
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with pytest.raises(InvalidResponseError) as info:
                await guarded(client.account.get(), 60)
            held = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
    assert info.value is not None
    assert held < 2 * MiB, f"the error keeps {held / MiB:.1f} MiB alive"


async def test_streamed_answer_over_a_small_cap_on_a_money_moving_call() -> None:
    recorder = Recorder()
    async with serve(streaming_handler(50 * MiB, recorder)) as url:
        async with client_for(url, max_response_bytes=256 * 1024, retry_policy=policy(0)) as client:
            with pytest.raises(InvalidResponseError) as info:
                await guarded(
                    client.payouts.create(deposit_address=ADDRESS, amount=Decimal("1"), currency="USDT_TRX"), 60
                )
    assert "max_response_bytes=262144" in str(info.value)
    assert info.value.idempotency_key
    assert len(recorder) == 1


def test_streamed_50_mb_answer_is_refused_sync() -> None:
    recorder = Recorder()
    with serve_in_thread(streaming_handler(50 * MiB, recorder)) as url:
        client = sync_for(url, max_response_bytes=1 * MiB, retry_policy=policy(0))
        try:
            with pytest.raises(InvalidResponseError):
                in_thread(client.account.get, 60)
        finally:
            client.close()
    assert len(recorder) == 1


def _expected_for(call: CallSpec) -> type[Exception]:
    return OutcomeUnknownError if call.kind == "unkeyed" else InvalidResponseError


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
async def test_streamed_50_mb_answer_for_every_call(call: CallSpec) -> None:
    recorder = Recorder()
    async with serve(streaming_handler(50 * MiB, recorder)) as url:
        async with client_for(url, max_response_bytes=1 * MiB, retry_policy=policy(0)) as client:
            with pytest.raises(_expected_for(call)) as info:
                await guarded(call.method(client)(**call.kwargs(0)), 60)
    if call.kind == "unkeyed":
        assert isinstance(info.value.__cause__, InvalidResponseError)
    assert "max_response_bytes" in str(info.value)
    assert len(recorder) == 1


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_streamed_50_mb_answer_for_every_call_sync(call: CallSpec) -> None:
    recorder = Recorder()
    with serve_in_thread(streaming_handler(50 * MiB, recorder)) as url:
        client = sync_for(url, max_response_bytes=1 * MiB, retry_policy=policy(0))
        try:
            with pytest.raises(_expected_for(call)):
                in_thread(lambda: call.method(client)(**call.kwargs(0)), 60)
        finally:
            client.close()
    assert len(recorder) == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_answer_is_capped_after_decompression(encoding: str) -> None:
    recorder = Recorder()
    body = compressed(48 * MiB, encoding)
    assert len(body) < 1 * MiB
    async with serve(bomb_handler(body, encoding, recorder)) as url:
        async with client_for(url, max_response_bytes=4 * MiB, retry_policy=policy(0)) as client:
            tracemalloc.start()
            try:
                with pytest.raises(InvalidResponseError) as info:
                    await guarded(client.account.get(), 60)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert "max_response_bytes" in str(info.value)
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB for a 4 MiB cap"
