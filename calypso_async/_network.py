"""How calypso reaches the network: User-Agent, proxies and TLS, resolved once per client.

Why here and not in aiohttp's ``trust_env``: aiohttp resolves environment proxies and ``~/.netrc`` in a worker
thread on *every* request; calypso talks to one host, so the proxy for it is worked out once per connection
pool from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (as requests and httpx read them), and ``.netrc`` is
never consulted (calls are authenticated by signature). Proxy credentials travel only in the
``Proxy-Authorization`` header: the URL aiohttp sees, and anything it or calypso prints, has none.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
import sys
import urllib.request
from typing import Any, Union
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp

from ._version import __version__

__all__ = ["Route", "VerifyTypes", "is_loopback", "make_ssl", "redact_url", "route_for", "user_agent"]

VerifyTypes = Union[ssl.SSLContext, str, "os.PathLike[str]", bool]
"""``verify=``: ``True`` (system CAs), an ``ssl.SSLContext``, a CA bundle file or directory, or ``False``
(loopback hosts only)."""

_PROXY_SCHEMES = ("http", "https")


def user_agent(app_info: str | None = None) -> str:
    """``calypso-pay/0.1.0 Python/3.12 aiohttp/3.10.5`` plus your ``app_info`` (``myapp/1.2``), if given.

    >>> user_agent("shop/2.0").split()[-1]
    'shop/2.0'
    """
    base = f"calypso-pay/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]} aiohttp/{aiohttp.__version__}"
    if app_info is None:
        return base
    if not isinstance(app_info, str) or not app_info.strip():
        raise ValueError("app_info must be a non-empty string such as 'myapp/1.2'")
    if not app_info.isascii() or not app_info.isprintable():
        raise ValueError("app_info must be printable ASCII (it is sent in the User-Agent header)")
    return f"{base} {app_info.strip()}"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """``http://user:pw@proxy:3128`` -> ``http://***@proxy:3128``: safe for logs, reprs and errors."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class Route:
    """Where one origin's requests go: the per-request keyword arguments for aiohttp, prepared once."""

    __slots__ = ("headers", "kwargs", "proxy")

    def __init__(self, proxy: str | None, proxy_headers: dict[str, str] | None, ssl_arg: Any, tunnel: bool) -> None:
        self.proxy = proxy  # without credentials
        self.headers: dict[str, str] = {}
        """Added to each request's own headers (aiohttp sends ``proxy_headers`` only on a CONNECT tunnel)."""
        self.kwargs: dict[str, Any] = {"ssl": ssl_arg}
        if proxy is not None:
            self.kwargs["proxy"] = proxy
            if proxy_headers and tunnel:
                self.kwargs["proxy_headers"] = proxy_headers
            elif proxy_headers:
                self.headers.update(proxy_headers)


def split_proxy(url: str) -> tuple[str, dict[str, str] | None]:
    """A proxy URL without its credentials, and the ``Proxy-Authorization`` header carrying them."""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        port = parts.port
    except ValueError:
        raise ValueError(f"proxy is not a valid URL: {redact_url(url)!r}") from None
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname:
        raise ValueError(f"proxy must be an http:// or https:// URL, got {redact_url(url)!r}")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    clean = urlunsplit((parts.scheme, host + (f":{port}" if port else ""), parts.path, "", ""))
    if parts.username is None and parts.password is None:
        return clean, None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return clean, {"Proxy-Authorization": f"Basic {token}"}


def _env_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment names for ``scheme://host``, honouring ``NO_PROXY`` (as requests does)."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return None
    if urllib.request.proxy_bypass(host):  # reads NO_PROXY when the environment names proxies
        return None
    return proxy


def make_ssl(verify: VerifyTypes) -> ssl.SSLContext | bool:
    """What aiohttp's ``ssl=`` gets: ``True`` (default verification), a context, or ``False``."""
    if verify is True:
        return True
    if verify is False:
        return False
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        if not os.path.isfile(path):
            raise ValueError(f"verify: no CA bundle at {path!r}")
        try:
            return ssl.create_default_context(cafile=path)
        except ssl.SSLError as exc:
            raise ValueError(f"verify: {path!r} is not a PEM CA bundle ({exc.reason or exc})") from None
    raise TypeError(f"verify must be True, False, an ssl.SSLContext or a CA bundle path, not {type(verify).__name__}")


def verifies(ssl_arg: ssl.SSLContext | bool) -> bool:
    if isinstance(ssl_arg, ssl.SSLContext):
        return ssl_arg.verify_mode != ssl.CERT_NONE and ssl_arg.check_hostname
    return ssl_arg is not False


def check_verification(ssl_arg: ssl.SSLContext | bool, url: str) -> None:
    """Refuse TLS without certificate and host-name checks unless the host is loopback."""
    host = urlsplit(url).hostname
    if not verifies(ssl_arg) and not is_loopback(host):
        raise ValueError(
            f"TLS verification cannot be turned off for {host!r}: only loopback hosts may skip it "
            "(pass verify= a CA bundle or an ssl.SSLContext that trusts your certificate instead)"
        )


def route_for(url: str, *, proxy: str | None, trust_env: bool, ssl_arg: ssl.SSLContext | bool) -> Route:
    """The route to ``url``'s origin: the explicit ``proxy``, else the environment's (if trusted), else direct."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        check_verification(ssl_arg, url)
    chosen = proxy
    if chosen is None and trust_env:
        chosen = _env_proxy(parts.scheme, parts.hostname or "")
    if chosen is None:
        return Route(None, None, ssl_arg, False)
    clean, headers = split_proxy(chosen)
    return Route(clean, headers, ssl_arg, parts.scheme == "https")
