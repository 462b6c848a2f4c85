"""Proxies, TLS and the User-Agent, with real parts on loopback: a CONNECT proxy, a TLS server, a test CA."""

from __future__ import annotations

import pickle
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import trustme

from calypso_async import AsyncCalypso, __version__
from calypso_async._errors import APIConnectionError
from calypso_async._network import redact_url, split_proxy, user_agent
from calypso_async.testing import FakeCalypso
from calypso_sync import Calypso

from ._net import Proxy, TLSFront


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def server() -> Iterator[FakeCalypso]:
    with FakeCalypso.run_in_thread(seed=5) as fake:
        yield fake


@pytest.fixture
def tls(ca: trustme.CA, server: FakeCalypso) -> Iterator[TLSFront]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    with TLSFront(context, (host, int(port))).running() as front:
        yield front


def _client(server: FakeCalypso, base_url: str | None = None, **options: object) -> AsyncCalypso:
    return server.client(base_url=base_url or server.base_url, max_retries=0, **options)


# ------------------------------------------------------------------------------------------------- User-Agent


def test_user_agent_names_sdk_python_and_aiohttp_versions() -> None:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert user_agent() == f"calypso-pay/{__version__} Python/{python} aiohttp/{aiohttp.__version__}"
    assert user_agent("myapp/1.2") == f"{user_agent()} myapp/1.2"


@pytest.mark.parametrize("bad", ["", "  ", "evil\r\nX-Injected: 1", "café/1"])
def test_app_info_that_cannot_be_a_header_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="app_info"):
        AsyncCalypso("k" * 32, "s" * 32, account="0x1", app_info=bad)


async def test_every_request_carries_the_user_agent_with_app_info(server: FakeCalypso, no_env_proxy: None) -> None:
    async with _client(server, app_info="shop/2.0") as client:
        await client.account.get()
        await client.rates.get(from_currencies=["BTC"], to_currencies=["USDT_TRX"])
    agents = {r.headers.get("User-Agent") for r in server.requests}
    assert agents == {user_agent("shop/2.0")}


async def test_own_session_gets_the_user_agent_per_request(server: FakeCalypso, no_env_proxy: None) -> None:
    async with aiohttp.ClientSession() as session, _client(server, session=session) as client:
        await client.account.get()
    assert server.requests[-1].headers.get("User-Agent") == user_agent()


def test_sync_client_sends_the_user_agent(server: FakeCalypso, no_env_proxy: None) -> None:
    with Calypso(
        server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url, app_info="cron/1"
    ) as client:
        client.account.get()
    assert server.requests[-1].headers.get("User-Agent") == user_agent("cron/1")


# ------------------------------------------------------------------------------------------------- proxies


async def test_explicit_proxy_carries_the_call(server: FakeCalypso, no_env_proxy: None) -> None:
    with Proxy().running() as proxy:
        async with _client(server, proxy=proxy.url) as client:
            await client.account.get()
    assert [s.method for s in proxy.seen] == ["POST"]
    assert proxy.seen[0].target == f"{server.base_url}/api/v1/account"
    assert server.requests[-1].status == 200


def test_sync_client_goes_through_the_proxy(server: FakeCalypso, no_env_proxy: None) -> None:
    with Proxy().running() as proxy:
        with Calypso(
            server.api_key, server.secret_key, account=server.account_id, base_url=server.base_url, proxy=proxy.url
        ) as client:
            client.account.get()
    assert len(proxy.seen) == 1
    assert proxy.seen[0].target.startswith(server.base_url)


async def test_https_call_tunnels_through_connect(
    server: FakeCalypso, tls: TLSFront, ca_file: Path, no_env_proxy: None
) -> None:
    with Proxy().running() as proxy:
        async with _client(server, f"https://localhost:{tls.port}", proxy=proxy.url, verify=ca_file) as client:
            await client.account.get()
    assert [(s.method, s.target) for s in proxy.seen] == [("CONNECT", f"localhost:{tls.port}")]
    assert server.requests[-1].status == 200


async def test_environment_proxy_is_honoured(
    server: FakeCalypso, monkeypatch: pytest.MonkeyPatch, no_env_proxy: None
) -> None:
    with Proxy().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with _client(server) as client:
            await client.account.get()
        assert len(proxy.seen) == 1


async def test_no_proxy_and_trust_env_false_go_direct(
    server: FakeCalypso, monkeypatch: pytest.MonkeyPatch, no_env_proxy: None
) -> None:
    with Proxy().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with _client(server, trust_env=False) as client:
            await client.account.get()
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        async with _client(server) as client:
            await client.account.get()
        assert proxy.seen == []


async def test_proxy_credentials_are_sent_but_never_shown(
    server: FakeCalypso, tls: TLSFront, ca_file: Path, no_env_proxy: None
) -> None:
    with Proxy(credentials=("alice", "hunter2-proxy")).running() as proxy:
        url = proxy.url.replace("http://", "http://alice:hunter2-proxy@")
        async with _client(server, proxy=url) as client:
            await client.account.get()  # plain http: absolute-form request
            assert "hunter2" not in repr(client._transport)
        async with _client(server, f"https://localhost:{tls.port}", proxy=url, verify=ca_file) as client:
            await client.account.get()  # https: CONNECT tunnel
        assert [s.method for s in proxy.seen] == ["POST", "CONNECT"]
        assert all(s.proxy_authorization for s in proxy.seen)
        wrong = proxy.url.replace("http://", "http://alice:wrong-secret@")
        async with _client(server, f"https://localhost:{tls.port}", proxy=wrong, verify=ca_file) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.account.get()
    error = caught.value
    assert "407" in str(error)
    assert error.__cause__ is None
    for text in (str(error), repr(error), repr(pickle.loads(pickle.dumps(error)))):
        assert "wrong-secret" not in text


def test_proxy_url_is_split_from_its_credentials() -> None:
    clean, headers = split_proxy("http://u%40x:p%3Aw@proxy.example:3128")
    assert clean == "http://proxy.example:3128"
    assert headers == {"Proxy-Authorization": "Basic dUB4OnA6dw=="}
    assert redact_url("http://u:p@proxy.example:3128") == "http://***@proxy.example:3128"
    with pytest.raises(ValueError) as caught:
        split_proxy("socks5://u:topsecret@proxy.example:1080")
    assert "topsecret" not in str(caught.value)


# ------------------------------------------------------------------------------------------------- TLS


async def test_tls_server_is_accepted_with_its_ca_file(
    server: FakeCalypso, tls: TLSFront, ca_file: Path, no_env_proxy: None
) -> None:
    async with _client(server, f"https://localhost:{tls.port}", verify=str(ca_file)) as client:
        account = await client.account.get()
    assert account.balances
    assert server.requests[-1].status == 200


async def test_tls_server_is_accepted_with_an_ssl_context(
    server: FakeCalypso, tls: TLSFront, ca: trustme.CA, no_env_proxy: None
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with _client(server, f"https://127.0.0.1:{tls.port}", verify=context) as client:
        await client.account.get()


async def test_tls_server_is_refused_without_its_ca(server: FakeCalypso, tls: TLSFront, no_env_proxy: None) -> None:
    before = len(server.requests)
    async with _client(server, f"https://localhost:{tls.port}") as client:
        with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
            await client.account.get()
    assert len(server.requests) == before


def test_sync_client_verifies_with_the_ca_file(
    server: FakeCalypso, tls: TLSFront, ca_file: Path, no_env_proxy: None
) -> None:
    with Calypso(
        server.api_key,
        server.secret_key,
        account=server.account_id,
        base_url=f"https://localhost:{tls.port}",
        verify=ca_file,
    ) as client:
        client.account.get()


@pytest.mark.parametrize("base_url", ["https://api.calypso.finance", "https://10.0.0.1:8443"])
def test_verification_cannot_be_turned_off_for_remote_hosts(base_url: str) -> None:
    unchecked = ssl.create_default_context()
    unchecked.check_hostname = False
    unchecked.verify_mode = ssl.CERT_NONE
    for verify in (False, unchecked):
        with pytest.raises(ValueError, match="only loopback"):
            AsyncCalypso("k" * 32, "s" * 32, account="0x1", base_url=base_url, verify=verify)


async def test_verification_may_be_off_for_loopback(server: FakeCalypso, tls: TLSFront, no_env_proxy: None) -> None:
    async with _client(server, f"https://127.0.0.1:{tls.port}", verify=False) as client:
        await client.account.get()


def test_missing_ca_bundle_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no CA bundle"):
        AsyncCalypso("k" * 32, "s" * 32, account="0x1", verify=tmp_path / "missing.pem")
