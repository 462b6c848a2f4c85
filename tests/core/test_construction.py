"""Constructor arguments and settable options are checked at once, with errors that say what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

import calypso_sync
from calypso_async import AsyncCalypso

from ..conftest import API_KEY, SECRET

CLIENTS = [AsyncCalypso, calypso_sync.Calypso]
CONTROL_VALUES = ["\n", "\r\n", "\x00", "\x7f", "\t"]


def _fresh_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CALYPSO_API_KEY", "CALYPSO_SECRET_KEY", "CALYPSO_ACCOUNT", "CALYPSO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("url", ["http://api.calypso.finance", "http://127.0.0.1.evil.example", "ftp://x", "nope"])
def test_the_base_url_setter_refuses_what_the_constructor_refuses(cls: Any, url: str) -> None:
    client = cls(API_KEY, SECRET)
    try:
        with pytest.raises(ValueError, match=r"base_url|http"):
            client.base_url = url
        assert client.base_url == "https://api.calypso.finance"
        client.base_url = "http://127.0.0.1:8080/"
        assert client.base_url == "http://127.0.0.1:8080"
    finally:
        if isinstance(client, calypso_sync.Calypso):
            client.close()


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_the_base_url_setter_keeps_allow_insecure_http(cls: Any) -> None:
    client = cls(API_KEY, SECRET, allow_insecure_http=True)
    try:
        client.base_url = "http://gateway.internal"
        assert client.base_url == "http://gateway.internal"
    finally:
        if isinstance(client, calypso_sync.Calypso):
            client.close()


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("control", CONTROL_VALUES, ids=repr)
@pytest.mark.parametrize("argument", ["api_key", "secret_key"])
def test_credentials_with_control_characters_are_refused_without_echoing_them(
    cls: Any, control: str, argument: str
) -> None:
    values = {"api_key": API_KEY, "secret_key": SECRET}
    values[argument] = values[argument] + control
    with pytest.raises(ValueError) as info:
        cls(**values)
    message = str(info.value)
    assert argument in message and "control character" in message
    assert API_KEY not in message and SECRET not in message and API_KEY[:8] not in message and SECRET[:8] not in message


@pytest.mark.parametrize("variable", ["CALYPSO_API_KEY", "CALYPSO_SECRET_KEY"])
def test_credentials_from_the_environment_with_control_characters_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    _fresh_env(monkeypatch)
    monkeypatch.setenv("CALYPSO_API_KEY", API_KEY)
    monkeypatch.setenv("CALYPSO_SECRET_KEY", SECRET)
    monkeypatch.setenv(variable, SECRET[:10] + "\r\n" + SECRET[10:])
    with pytest.raises(ValueError, match=variable) as info:
        AsyncCalypso()
    assert SECRET[:10] not in str(info.value)


@pytest.mark.parametrize("argument", ["account", "base_url"])
def test_account_and_base_url_with_control_characters_are_refused(argument: str) -> None:
    value = {"account": "0xabc\n", "base_url": "https://api.calypso.finance\r\nX: y"}[argument]
    with pytest.raises(ValueError, match=f"{argument}.*control character"):
        AsyncCalypso(API_KEY, SECRET, **{argument: value})


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("timeout", "30", TypeError),
        ("timeout", True, TypeError),
        ("timeout", 0, ValueError),
        ("timeout", -1.0, ValueError),
        ("timeout", float("nan"), ValueError),
        ("timeout", float("inf"), ValueError),
        ("connect_timeout", "10", TypeError),
        ("connect_timeout", 0, ValueError),
        ("max_retries", "2", TypeError),
        ("max_retries", 2.0, TypeError),
        ("max_retries", -1, ValueError),
        ("max_response_bytes", "1MB", TypeError),
        ("max_response_bytes", 0, ValueError),
        ("retry_policy", {"max_retries": 2}, TypeError),
        ("session", "session", TypeError),
        ("transport", object(), TypeError),
        ("clock", 0, TypeError),
        ("allow_insecure_http", "yes", TypeError),
        ("api_key", 12345, TypeError),
        ("account", 12345, TypeError),
    ],
)
def test_constructor_options_are_validated_with_errors_naming_them(argument: str, value: Any, error: type) -> None:
    kwargs: dict[str, Any] = {"api_key": API_KEY, "secret_key": SECRET, argument: value}
    with pytest.raises(error, match=argument):
        AsyncCalypso(**kwargs)


def test_valid_numbers_are_accepted() -> None:
    client = AsyncCalypso(API_KEY, SECRET, timeout=5, connect_timeout=0.5, max_retries=0, max_response_bytes=1)
    assert client.timeout == 5.0 and isinstance(client.timeout, float) and client.max_retries == 0
