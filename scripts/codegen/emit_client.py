"""Emitter: ``calypso_async/_client.py``, the ``AsyncCalypso`` leaf: the hand-written engine
(``AsyncAPIClient``) plus one cached property per resource, whose module is imported on first use."""

from __future__ import annotations

from pathlib import Path

from .describe import API
from .fmt import MARKER, ROOT
from .text import docstring

OUTPUT = ROOT / "calypso_async" / "_client.py"

CLIENT_DOC = """Async client for the Calypso Pay API.

>>> async with AsyncCalypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     account = await client.account.get()

Arguments not given come from ``CALYPSO_API_KEY``, ``CALYPSO_SECRET_KEY``, ``CALYPSO_ACCOUNT`` and
``CALYPSO_BASE_URL``. ``timeout`` is seconds per attempt; ``max_retries=N`` allows N retries after the
first attempt. Pass ``session`` to reuse your own ``aiohttp.ClientSession`` (calypso will not close it),
or ``transport`` to replace HTTP altogether (tests, benchmarks)."""

RAW_DOC = """Every call of this client, answering a :class:`~calypso_async.RawResponse` (status, headers, timing).

>>> raw = await client.with_raw_response.account.get()  # doctest: +SKIP
>>> raw.status_code, raw.trace_id, raw.parse().balances  # doctest: +SKIP"""


def emit(api: API) -> dict[Path, str]:
    out = [
        MARKER,
        '"""``AsyncCalypso``: the engine (:class:`~calypso_async._base_client.AsyncAPIClient`) plus one lazily',
        'imported, cached property per resource."""',
        "",
        "from __future__ import annotations",
        "",
        "import functools",
        "from typing import TYPE_CHECKING",
        "",
        "from ._base_client import NOT_GIVEN, AsyncAPIClient",
        "",
        "if TYPE_CHECKING:",
    ]
    out.append("    from ._raw_resources import AsyncCalypsoWithRawResponse")
    for resource in api.resources:
        out.append(f"    from .resources.{resource.name} import {resource.async_class}")
    out += ["", '__all__ = ["NOT_GIVEN", "AsyncCalypso"]', "", ""]
    out.append("class AsyncCalypso(AsyncAPIClient):")
    out.append(docstring([CLIENT_DOC.splitlines()], 4))
    for resource in api.resources:
        out += [
            "",
            "    @functools.cached_property",
            f"    def {resource.name}(self) -> {resource.async_class}:",
            docstring([f"``client.{resource.name}``: {resource.description}"], 8),
            f"        from .resources.{resource.name} import {resource.async_class}",
            "",
            f"        return {resource.async_class}(self)",
        ]
    out += [
        "",
        "    @functools.cached_property",
        "    def with_raw_response(self) -> AsyncCalypsoWithRawResponse:",
        docstring([RAW_DOC.splitlines()], 8),
        "        from ._raw_resources import AsyncCalypsoWithRawResponse",
        "",
        "        return AsyncCalypsoWithRawResponse(self)",
    ]
    return {OUTPUT: "\n".join(out) + "\n"}
