"""Credentials: environment variables or a profile in an INI file, one source per key pair, secrets unprinted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from calypso_async.cli._profiles import ConfigError, config_path, resolve
from calypso_async.testing import FakeCalypso

from .conftest import Cli


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def _profile(server: FakeCalypso, name: str = "local", *, account: str | None = None) -> str:
    return (
        f"[{name}]\napi_key = {server.api_key}\nsecret_key = {server.secret_key}\n"
        f"account = {account or server.account_id}\nbase_url = {server.base_url}\n"
    )


def test_profile_from_the_config_file(server: FakeCalypso, clean_env: Path, cli: Cli) -> None:
    second = server.accounts[1]
    _write(clean_env, _profile(server, "local", account=second))
    r = cli("whoami", "--profile", "local")
    assert r.code == 0, r.err
    assert f"profile [local] in {clean_env}" in r.out
    assert f"* {second}" in r.out
    assert server.secret_key not in r.all


def test_calypso_profile_variable_and_default_section(
    server: FakeCalypso, clean_env: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(clean_env, _profile(server, "default") + _profile(server, "other", account=server.accounts[2]))
    r = cli("balances", "--json")
    assert r.code == 0, r.err  # no environment keys: [default] is used
    assert server.account_id in r.out
    monkeypatch.setenv("CALYPSO_PROFILE", "other")
    r = cli("balances", "--json")
    assert server.accounts[2] in r.out


def test_environment_wins_over_default_but_not_over_an_explicit_profile(
    env: FakeCalypso, clean_env: Path, cli: Cli
) -> None:
    wrong = f"[default]\napi_key = nope\nsecret_key = nope\nbase_url = {env.base_url}\n"
    _write(clean_env, wrong + _profile(env, "good"))
    assert cli("whoami").code == 0  # environment keys, [default] ignored
    assert cli("whoami", "--profile", "default").code == 1  # explicit profile: its (wrong) keys are used
    assert cli("whoami", "--profile", "good").code == 0


def test_a_profile_is_self_contained(
    env: FakeCalypso, clean_env: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(clean_env, f"[p]\napi_key = {env.api_key}\nsecret_key = {env.secret_key}\n")
    monkeypatch.setenv("CALYPSO_BASE_URL", env.base_url)
    creds = resolve(dict(os.environ), profile="p")
    assert creds.base_url == "https://api.calypso.finance"  # CALYPSO_BASE_URL does not redirect a profile's keys
    assert creds.account is None
    assert resolve(dict(os.environ), profile="p", base_url=env.base_url, account="0xabc").account == "0xabc"


def test_profile_errors_exit_2(server: FakeCalypso, clean_env: Path, cli: Cli) -> None:
    r = cli("whoami", "--profile", "prod")
    assert r.code == 2 and f"no config file at {clean_env}" in r.err
    _write(clean_env, _profile(server, "local"))
    r = cli("whoami", "--profile", "prod")
    assert r.code == 2 and "no profile [prod]" in r.err and "profiles there: local" in r.err
    _write(clean_env, "[x]\napi_key = a\nsecret = b\n")
    r = cli("whoami", "--profile", "x")
    assert r.code == 2 and "unknown key(s) secret" in r.err
    _write(clean_env, "[x]\napi_key = a\n")
    r = cli("whoami", "--profile", "x")
    assert r.code == 2 and "has no secret_key" in r.err
    _write(clean_env, "not an ini file")
    r = cli("whoami", "--profile", "x")
    assert r.code == 2 and "cannot read config file" in r.err


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_config_file_others_can_read_is_warned_about(server: FakeCalypso, clean_env: Path, cli: Cli) -> None:
    _write(clean_env, _profile(server, "local"), mode=0o644)
    r = cli("whoami", "--profile", "local")
    assert r.code == 0
    assert f"calypso: warning: {clean_env} holds secret keys but other users can read it (mode 644)" in r.err
    assert server.secret_key not in r.all


def test_config_path_lookup(tmp_path: Path) -> None:
    assert config_path({"CALYPSO_CONFIG": str(tmp_path / "c.ini")}) == tmp_path / "c.ini"
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "calypso" / "config.ini"
    assert config_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "calypso" / "config.ini"


def test_credentials_repr_hides_the_secret() -> None:
    creds = resolve({"CALYPSO_API_KEY": "key-1234567890", "CALYPSO_SECRET_KEY": "very-secret-value"})
    assert "very-secret-value" not in repr(creds)
    assert creds.masked_key == "key-…7890"
    with pytest.raises(ConfigError):
        resolve({"HOME": "/nonexistent-home"})
