"""Emitter: ``client.with_raw_response`` of both clients (``calypso_async/_raw_resources.py``,
``calypso_sync/_raw_resources.py``).

One wrapper class per resource whose attributes are the resource's methods passed through
``calypso_async._raw.to_raw_response`` (``to_sync_raw_response`` for the sync facade). The wrapper's ``ParamSpec``
keeps every parameter of the method for type checkers and turns its return type ``T`` into ``RawResponse[T]``, so
no signature is copied here. Auto-paging ``iter_*`` methods make many calls and have no single answer: they are
left out. The client's own ``request`` escape hatch is wrapped too.
"""

from __future__ import annotations

from pathlib import Path

from .describe import API, ResourceDef
from .fmt import MARKER, ROOT

ASYNC_OUTPUT = ROOT / "calypso_async" / "_raw_resources.py"
SYNC_OUTPUT = ROOT / "calypso_sync" / "_raw_resources.py"


def emit(api: API) -> dict[Path, str]:
    return {ASYNC_OUTPUT: render(api, sync=False), SYNC_OUTPUT: render(api, sync=True)}


def _class(resource: ResourceDef, *, sync: bool) -> str:
    return resource.sync_class if sync else resource.async_class


def render(api: API, *, sync: bool) -> str:
    client = "Calypso" if sync else "AsyncCalypso"
    wrap = "to_sync_raw_response" if sync else "to_raw_response"
    await_ = "" if sync else "await "
    top = f"{client}WithRawResponse"
    names = [top]
    out: list[str] = [
        f"class {top}:",
        f'    """``client.with_raw_response``: each call of :class:`{client}`, answering a ``RawResponse``.',
        "",
        f"    >>> raw = {await_}client.with_raw_response.account.get()  # doctest: +SKIP",
        '    """',
        "",
        f"    def __init__(self, client: {client}) -> None:",
        "        self._client = client",
        f"        self.request = {wrap}(client.request)",
    ]
    classes: list[str] = []
    for resource in api.resources:
        resource_class = _class(resource, sync=sync)
        wrapper = f"{resource_class}WithRawResponse"
        names.append(wrapper)
        out += [
            "",
            "    @cached_property",
            f"    def {resource.name}(self) -> {wrapper}:",
            f"        return {wrapper}(self._client.{resource.name})",
        ]
        methods = [op.method_name for op in resource.ops]
        classes += [
            "",
            "",
            f"class {wrapper}:",
            f'    """``client.with_raw_response.{resource.name}``: :class:`{resource_class}`, answering'
            ' ``RawResponse``."""',
            "",
            f"    __slots__ = ({''.join(f'{m!r}, ' for m in sorted(methods))})",
            "",
            f"    def __init__(self, resource: {resource_class}) -> None:",
            *(f"        self.{m} = {wrap}(resource.{m})" for m in methods),
        ]
    if sync:
        runtime = "from calypso_async._raw import to_sync_raw_response"
        typing_only = [f"from ._generated import {', '.join(sorted([client, *(r.sync_class for r in api.resources)]))}"]
    else:
        runtime = "from ._raw import to_raw_response"
        typing_only = ["from ._client import AsyncCalypso"]
        typing_only += [f"from .resources.{r.name} import {r.async_class}" for r in api.resources]
    head = [
        MARKER,
        f'"""``client.with_raw_response``: every call of :class:`{client}`, answering ``RawResponse[T]``.',
        "",
        "Regenerate with ``python -m scripts.codegen``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from functools import cached_property",
        "from typing import TYPE_CHECKING",
        "",
        runtime,
        "",
        "if TYPE_CHECKING:",
        *(f"    {line}" for line in typing_only),
        "",
        f"__all__ = {sorted(names)!r}",
        "",
        "",
    ]
    return "\n".join([*head, *out, *classes]) + "\n"
