"""Emitter: ``calypso_sync/_generated.py``, the sync facade.

Resource classes come from the description (same parameters and docstrings as the async methods, examples
without ``await``); the ``Calypso`` client mirrors the hand-written engine (``engine.py``) minus what the sync
client refuses (``session=``, ``transport=``). Each method submits the async coroutine to the private loop
(``calypso_sync/_portal.py``); ``iter_*`` methods return a ``SyncIterator``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .calls import iterator_doc, method_doc, parameters
from .describe import API, OpDef, ResourceDef
from .emit_resources import model_imports
from .engine import Engine, Param
from .fmt import MARKER, ROOT
from .text import docstring

OUTPUT = ROOT / "calypso_sync" / "_generated.py"
CLIENT = "Calypso"

SYNC_CLIENT_DOC = """Sync client for the Calypso Pay API.

>>> with Calypso(api_key, secret_key, account="0x…") as client:  # doctest: +SKIP
...     account = client.account.get()

Arguments not given come from ``CALYPSO_API_KEY``, ``CALYPSO_SECRET_KEY``, ``CALYPSO_ACCOUNT`` and
``CALYPSO_BASE_URL``. ``timeout`` is seconds per attempt; ``max_retries=N`` allows N retries after the
first attempt.

Every call runs the ``AsyncCalypso`` coroutine on calypso_sync's private event-loop thread and blocks until
it is done, so one client can be shared by any number of threads (one connection pool), used inside a running
event loop (it blocks that loop meanwhile: prefer ``AsyncCalypso`` in async code) and in processes forked after
it was created (gunicorn ``--preload``: each process builds its own loop and pool on first use). It creates its
own connection pool on that loop, so unlike ``AsyncCalypso`` it takes no ``session`` or ``transport``. Close it
with ``close()`` or a ``with`` block, else it is closed at interpreter exit."""


def emit(api: API, engine: Engine) -> dict[Path, str]:
    return {OUTPUT: render(api, engine)}


def sync_text(text: str) -> str:
    """Engine docstrings for the sync twin: examples lose ``await``/``async``, ``aclose`` becomes ``close``."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith((">>>", "...")):
            line = re.sub(r"\bawait\s+", "", line)
            line = re.sub(r"\basync\s+(for|with)\b", r"\1", line)
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"(?<![\w.])AsyncCalypso\b", CLIENT, text)
    return re.sub(r"\baclose\(\)", "close()", text)


SYNC_RAW_DOC = """Every call of this client, answering a :class:`~calypso_async.RawResponse` (status, headers, timing).

>>> client.with_raw_response.account.get().status_code  # doctest: +SKIP
200"""


def lines_doc(text: str, indent: int) -> str:
    return docstring([text.splitlines()], indent)


def render_client(api: API, engine: Engine) -> list[str]:
    out = [f"class {CLIENT}(SyncClient):", lines_doc(SYNC_CLIENT_DOC, 4), ""]
    out.append(f"    def __init__({signature(engine.init)}) -> None:")
    out.append(f"        super().__init__({', '.join(f'{p.name}={p.name}' for p in engine.init)})")
    for resource in api.resources:
        out += [
            "",
            "    @functools.cached_property",
            f"    def {resource.name}(self) -> {resource.sync_class}:",
            docstring([f"``client.{resource.name}``: {resource.description}"], 8),
            f"        return {resource.sync_class}(self)",
        ]
    out += [
        "",
        "    @functools.cached_property",
        f"    def with_raw_response(self) -> {CLIENT}WithRawResponse:",
        lines_doc(SYNC_RAW_DOC, 8),
        f"        from calypso_sync._raw_resources import {CLIENT}WithRawResponse",
        "",
        f"        return {CLIENT}WithRawResponse(self)",
    ]
    for attr in engine.attributes:
        if attr.doc:
            doc = sync_text(attr.doc)
        else:
            doc = f"The client's ``{attr.name}`` (as on ``AsyncCalypso``){'; settable' if attr.settable else ''}."
        if ">>>" not in doc:
            doc += f"\n\n>>> client.{attr.name}  # doctest: +SKIP"
        out += ["", "    @property", f"    def {attr.name}(self) -> {attr.type}:", lines_doc(doc, 8)]
        out.append(f"        return self._async_client.{attr.name}")
        if attr.settable:
            out += ["", f"    @{attr.name}.setter", f"    def {attr.name}(self, value: {attr.type}) -> None:"]
            out.append(f"        self._set_option({attr.name!r}, value)")
    for method in engine.methods:
        out += ["", f"    def {method.name}({signature(method.params)}) -> {method.returns}:"]
        out.append(lines_doc(sync_text(method.doc), 8))
        call = f"self._inner().{method.name}({', '.join(f'{p.name}={p.name}' for p in method.params)})"
        out.append(f"        {'' if method.returns == 'None' else 'return '}self._portal.run({call})")
    close_doc = sync_text(engine.close_doc)
    close_doc += (
        "\n\nIdempotent; calls made afterwards raise ``SyncFacadeError``.\n\n>>> client.close()  # doctest: +SKIP"
    )
    out += ["", "    def close(self) -> None:", lines_doc(close_doc, 8), "        self._close()"]
    out += ["", f"    def __enter__(self) -> {CLIENT}:", "        return self"]
    out += ["", f"    def __exit__({signature(engine.exit_params)}) -> None:", "        self.close()"]
    return out


def signature(params: list[Param]) -> str:
    parts = ["self"]
    for i, p in enumerate(params):
        if p.kind.name == "KEYWORD_ONLY" and (
            i == 0 or params[i - 1].kind.name not in ("KEYWORD_ONLY", "VAR_POSITIONAL")
        ):
            parts.append("*")
        parts.append(p.text())
    return ", ".join(parts)


def render_method(op: OpDef, *, iterator: bool = False) -> list[str]:
    params = parameters(op, iterator=iterator)
    forward = ", ".join(f"{n}={n}" for n in (p.split(":")[0] for p in params) if n not in ("self", "*"))
    if iterator:
        out = [f"    def {op.iter_name}({', '.join(params)}) -> SyncIterator[{op.item_model}]:"]
        out.append(docstring(iterator_doc(op, sync=True), 8))
        out.append(f"        return self._portal.iterate(self._async.{op.iter_name}({forward}))")
        return out
    out = [f"    def {op.method_name}({', '.join(params)}) -> {op.response or 'Any'}:"]
    out.append(docstring(method_doc(op, sync=True), 8))
    out.append(f"        return self._portal.run(self._async.{op.method_name}({forward}))")
    return out


def render_resource(resource: ResourceDef) -> list[str]:
    methods = ", ".join(f"``{op.method_name}``" for op in resource.ops)
    doc: list[str | list[str]] = [f"``client.{resource.name}``: {resource.description}", f"Operations: {methods}."]
    paged = [op for op in resource.ops if op.pagination]
    if paged:
        doc.append(f"Auto-paging iterators: {', '.join(f'``{op.iter_name}``' for op in paged)}.")
    doc.append([method_doc(resource.ops[0], sync=True)[-1][0]])
    out = [f"class {resource.sync_class}(SyncResource):", docstring(doc, 4), "", "    __slots__ = ()", ""]
    out += ["    @property", f"    def _async(self) -> {resource.async_class}:"]
    out.append(f"        return self._client._inner().{resource.name}")
    for op in resource.ops:
        out += ["", *render_method(op)]
        if op.pagination:
            out += ["", *render_method(op, iterator=True)]
    return out


def render(api: API, engine: Engine) -> str:
    names: set[str] = set()
    for op in api.ops:
        names |= op.response_names | {n for arg in op.args for n in arg.names}
        names |= {"Any"} if op.response is None or op.extra_allowed else set()
        names |= {"Mapping"} if op.extra_allowed else set()
        if op.item_model:
            names.add(op.item_model)
    resource_lines: list[str] = []
    for resource in api.resources:
        resource_lines += ["", "", *render_resource(resource)]
    client_lines = render_client(api, engine)
    defaults = " ".join(str(p.default) for p in [*engine.init, *(q for m in engine.methods for q in m.params)])
    at_runtime = {n for n in engine.imports if re.search(rf"\b{re.escape(n)}\b", defaults)}  # defaults run at def time

    def line(module: str, attr: str | None) -> str:
        return f"import {module}" if attr is None else f"from {module} import {attr}"

    runtime = sorted({line(*engine.imports[n]) for n in at_runtime})
    typing_only = sorted({line(*t) for n, t in engine.imports.items() if n not in at_runtime})
    typing_only += [
        f"from collections.abc import {', '.join(sorted(n for n in names if n in ('Mapping', 'Sequence')))}"
    ]
    typing_only += [f"from {m} import {n}" for n, m in (("datetime", "datetime"), ("Decimal", "decimal")) if n in names]
    for area, models in sorted(model_imports(api, names).items()):
        typing_only.append(f"from calypso_async.models.{area} import {', '.join(models)}")
    for resource in api.resources:
        typing_only.append(f"from calypso_async.resources.{resource.name} import {resource.async_class}")
    typing_only.append(f"from calypso_sync._raw_resources import {CLIENT}WithRawResponse")
    exported = sorted([CLIENT, *(r.sync_class for r in api.resources)])
    head = [
        MARKER,
        '"""The sync facade: :class:`Calypso` and one class per resource, generated with the async resources.',
        "",
        "Every method has the signature and docstring of its async twin and runs that coroutine on the private",
        "event-loop thread (``calypso_sync._portal``); auto-paging ``iter_*`` methods return a ``SyncIterator``.",
        "Regenerate with ``python -m scripts.codegen``.",
        "",
        ">>> from calypso_sync import Calypso  # doctest: +SKIP",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import functools",
        "from typing import TYPE_CHECKING, Any",
        *runtime,
        "",
        "from calypso_async._paging import DEFAULT_PAGE_SIZE",
        "from calypso_sync._base import SyncClient, SyncResource",
        "from calypso_sync._portal import SyncIterator",
        "",
        "if TYPE_CHECKING:",
        *(f"    {line}" for line in typing_only),
        "",
        f"__all__ = {exported!r}",
        "",
        "",
    ]
    return "\n".join([*head, *client_lines, *resource_lines]) + "\n"
