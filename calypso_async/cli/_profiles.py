"""Where the CLI's credentials come from: the SDK's environment variables, or a named profile in an INI file.

Why profiles: people who run the CLI by hand often have several key pairs (sandbox, production, one per
merchant) and should not have to paste secrets into the shell for every command; scripts and CI keep using the
same environment variables as the SDK. A key pair always comes from **one** place, never half from the
environment and half from a file (that mix signs with the wrong secret and fails with a confusing 003).

Resolution, first match wins:

1. ``--profile NAME`` (or ``CALYPSO_PROFILE``): section ``[NAME]`` of the config file; both keys must be there;
2. ``CALYPSO_API_KEY`` + ``CALYPSO_SECRET_KEY`` from the environment;
3. section ``[default]`` of the config file, when it exists.

``account`` and ``base_url``: the ``--account`` / ``--base-url`` options win, then the chosen source (for the
environment: ``CALYPSO_ACCOUNT`` / ``CALYPSO_BASE_URL``). A profile is self-contained: environment variables
never redirect a profile's keys to another server or account. The config file is ``$CALYPSO_CONFIG``, else
``$XDG_CONFIG_HOME/calypso/config.ini``, else ``~/.config/calypso/config.ini``::

    [default]
    api_key = ...
    secret_key = ...
    account = 0x...
    base_url = https://api.calypso.finance

The secret is never printed: :class:`Credentials` hides it from ``repr`` and messages name only the key id.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._config import DEFAULT_BASE_URL
from .._signing import mask

__all__ = ["PROFILE_KEYS", "ConfigError", "Credentials", "config_path", "resolve"]

PROFILE_KEYS = ("api_key", "secret_key", "account", "base_url")


class ConfigError(Exception):
    """Credentials or the config file are missing or wrong: a usage/config error (exit code 2)."""


@dataclass(frozen=True)
class Credentials:
    """A resolved key pair plus the default account and base URL; ``source`` says where they came from."""

    api_key: str
    secret_key: str = field(repr=False)
    account: str | None
    base_url: str
    source: str

    @property
    def masked_key(self) -> str:
        return mask(self.api_key)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def config_path(environ: Mapping[str, str]) -> Path:
    """The config file this environment points at (it may not exist)."""
    explicit = _clean(environ.get("CALYPSO_CONFIG"))
    if explicit:
        return Path(explicit).expanduser()
    xdg = _clean(environ.get("XDG_CONFIG_HOME"))
    base = Path(xdg).expanduser() if xdg else Path(environ.get("HOME") or Path.home()).expanduser() / ".config"
    return base / "calypso" / "config.ini"


def _read(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, default_section="__no_defaults__")
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except configparser.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot read config file {path}: {first}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return parser


def _profile(path: Path, name: str, *, warnings: list[str]) -> dict[str, str | None]:
    if not path.is_file():
        raise ConfigError(
            f"profile {name!r} asked for, but there is no config file at {path} "
            "(create it, or point CALYPSO_CONFIG at yours)"
        )
    parser = _read(path)
    if not parser.has_section(name):
        known = ", ".join(parser.sections()) or "none"
        raise ConfigError(f"no profile [{name}] in {path} (profiles there: {known})")
    section = parser[name]
    unknown = sorted(set(section) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in profile [{name}] of {path} (known: {', '.join(PROFILE_KEYS)})"
        )
    values = {key: _clean(section.get(key)) for key in PROFILE_KEYS}
    missing = [key for key in ("api_key", "secret_key") if not values[key]]
    if missing:
        raise ConfigError(f"profile [{name}] in {path} has no {' and no '.join(missing)}")
    _check_mode(path, warnings)
    return values


def _check_mode(path: Path, warnings: list[str]) -> None:
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(
            f"{path} holds secret keys but other users can read it (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


def resolve(
    environ: Mapping[str, str],
    *,
    profile: str | None = None,
    account: str | None = None,
    base_url: str | None = None,
    warnings: list[str] | None = None,
) -> Credentials:
    """Pick the credentials (see the module docstring); :class:`ConfigError` with a how-to when there are none.

    ``warnings`` collects non-fatal notes (a config file readable by others) for the caller to show.
    """
    notes: list[str] = [] if warnings is None else warnings
    path = config_path(environ)
    env_account = _clean(environ.get("CALYPSO_ACCOUNT"))
    env_base = _clean(environ.get("CALYPSO_BASE_URL"))
    chosen = _clean(profile) or _clean(environ.get("CALYPSO_PROFILE"))
    values: dict[str, str | None]
    if chosen:
        values = _profile(path, chosen, warnings=notes)
        source = f"profile [{chosen}] in {path}"
    else:
        env_key = _clean(environ.get("CALYPSO_API_KEY"))
        env_secret = _clean(environ.get("CALYPSO_SECRET_KEY"))
        if env_key and env_secret:
            values = {"api_key": env_key, "secret_key": env_secret, "account": env_account, "base_url": env_base}
            source = "environment (CALYPSO_API_KEY, CALYPSO_SECRET_KEY)"
        elif env_key or env_secret:
            have, lack = (
                ("CALYPSO_API_KEY", "CALYPSO_SECRET_KEY") if env_key else ("CALYPSO_SECRET_KEY", "CALYPSO_API_KEY")
            )
            raise ConfigError(f"{have} is set but {lack} is not: set both (or use --profile NAME)")
        elif path.is_file() and _read(path).has_section("default"):
            values = _profile(path, "default", warnings=notes)
            source = f"profile [default] in {path}"
        else:
            raise ConfigError(
                "no API credentials: set CALYPSO_API_KEY and CALYPSO_SECRET_KEY, or add a profile to "
                f"{path} and pass --profile NAME (try `calypso fake-server` for local keys)"
            )
    api_key, secret_key = values["api_key"], values["secret_key"]
    assert api_key is not None and secret_key is not None
    return Credentials(
        api_key=api_key,
        secret_key=secret_key,
        account=_clean(account) or values["account"],
        base_url=(_clean(base_url) or values["base_url"] or DEFAULT_BASE_URL).rstrip("/"),
        source=source,
    )
