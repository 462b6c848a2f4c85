"""Emitter: ``calypso_async/resources/`` (one module per resource: its ``Operation`` constants and
``Async<Resource>`` class) and the lazy ``resources/__init__.py`` holding ``OPERATIONS``."""

from __future__ import annotations

from pathlib import Path

from .calls import iterator_doc, method_doc, page_fields, parameters
from .describe import API, OpDef, ResourceDef
from .fmt import MARKER, ROOT
from .text import docstring, literal, snake

RESOURCES_DIR = ROOT / "calypso_async" / "resources"


def emit(api: API) -> dict[Path, str]:
    files = {RESOURCES_DIR / f"{r.name}.py": render_resource_module(api, r) for r in api.resources}
    files[RESOURCES_DIR / "__init__.py"] = render_resources_init(api)
    return files


def operation_constant(op: OpDef, by_name: dict[str, OpDef]) -> list[str]:
    fields = [
        f"name={literal(op.sdk_name)}",
        f"method={literal(op.http_method)}",
        f"path={literal(op.path)}",
        f"account={op.account}",
        f"payload={literal(op.payload_mode)}",
        f"response={op.response}",
    ]
    if op.idempotency_field:
        fields.append(f"idempotency_field={literal(op.idempotency_field)}")
    if op.money_moving:
        fields.append("money_moving=True")
    if not op.blind_retry:
        fields.append("blind_retry=False")
    if op.lookup:
        lookup_args = [by_name[op.lookup["operation"]].const, literal(op.lookup["field"])]
        if op.lookup.get("inList"):
            lookup_args.append(f"in_list={literal(op.lookup['inList'])}")
        fields.append(f"lookup=Lookup({', '.join(lookup_args)})")
    return [
        f"{op.const}: Operation[{op.response or 'Any'}] = Operation({', '.join(fields)})",
        docstring([f"``{op.sdk_name}``: {op.summary}"], 0),
    ]


def render_method(op: OpDef) -> list[str]:
    ret = op.response or "Any"
    out = [f"    async def {op.method_name}({', '.join(parameters(op))}) -> {ret}:"]
    out.append(docstring(method_doc(op, sync=False), 8))
    if op.exactly_one_of:
        kw = ", ".join(f"{snake(w)}={snake(w)}" for w in op.exactly_one_of)
        out.append(f"        _v.exactly_one_of({kw})")
    path_args = [a for a in op.args if a.path]
    payload_args = [a for a in op.args if not a.path]
    if path_args:
        items = ", ".join(f"{literal(a.wire)}: {a.check}" for a in path_args)
        out.append(f"        path_params = {{{items}}}")
    payload_expr = "None"
    if op.payload_schema is not None:
        out.append("        payload: dict[str, Any] = {")
        for arg in payload_args:
            out.append(f"            {literal(arg.wire)}: {arg.check},")
        out.append("        }")
        if op.extra_allowed:
            out.append("        payload = _v.merge_extra(payload, extra)")
        payload_expr = "payload"
        if op.payload_mode == "optional" and not op.idempotency_field:
            payload_expr = "_v.optional_payload(payload)"
    call_kw = ["account=account" if op.account else "account=None"]
    if path_args:
        call_kw.append("path_params=path_params")
    call_kw += ["timeout=timeout", "max_retries=max_retries"]
    out.append(f"        return await self._client._call({op.const}, {payload_expr}, {', '.join(call_kw)})")
    return out


def render_iterator(op: OpDef) -> list[str]:
    pagination = op.pagination or {}
    assert (pagination.get("items"), pagination.get("total_pages"), pagination.get("total_items")) == (
        "result",
        "total",
        "totalElements",
    ), op.sdk_name
    number_field, size_field = page_fields(op)
    params = parameters(op, iterator=True)
    out = [f"    async def {op.iter_name}({', '.join(params)}) -> AsyncIterator[{op.item_model}]:"]
    out.append(docstring(iterator_doc(op, sync=False), 8))
    out.append("")
    out.append(f"        async def fetch(page_number: int, size: int) -> {op.response}:")
    filters = [a for a in op.args if a.wire not in (number_field, size_field)]
    call = [f"{a.name}={a.name}" for a in filters] + [f"{snake(number_field)}=page_number", f"{snake(size_field)}=size"]
    if op.account:
        call.append("account=account")
    kwargs = ", ".join([*call, "timeout=timeout", "max_retries=max_retries"])
    out.append(f"            return await self.{op.method_name}({kwargs})")
    out.append("")
    out.append("        async for item in paginate(fetch, page_size=page_size, first_page=first_page):")
    out.append("            yield item")
    return out


def render_resource_module(api: API, resource: ResourceDef) -> str:
    ops = resource.ops
    names: set[str] = set()
    for op in ops:
        names |= op.response_names
        for arg in op.args:
            names |= arg.names
        if op.response is None:
            names.add("Any")
        if op.payload_schema is not None:
            names.add("Any")
        if op.extra_allowed:
            names |= {"Mapping", "Any"}
    paged = [op for op in ops if op.pagination]
    names |= {op.item_model for op in paged if op.item_model}
    abc = sorted(n for n in names if n in ("Mapping", "Sequence")) + (["AsyncIterator"] if paged else [])
    out = [
        MARKER,
        docstring([f"``client.{resource.name}``: {resource.description[:-1]} ({resource.tag})."], 0),
        "",
        "from __future__ import annotations",
        "",
    ]
    if abc:
        out.append(f"from collections.abc import {', '.join(sorted(abc))}")
    if "datetime" in names:
        out.append("from datetime import datetime")
    if "Decimal" in names:
        out.append("from decimal import Decimal")
    if "Any" in names:
        out.append("from typing import Any")
    out.append("")
    if any(op.args or op.exactly_one_of or op.extra_allowed for op in ops):
        out.append("from .. import _validate as _v")
    out.append(f"from .._operation import {'Lookup, ' if any(op.lookup for op in ops) else ''}Operation")
    if paged:
        out.append("from .._paging import DEFAULT_PAGE_SIZE, paginate")
    out.append("from .._resource import AsyncResource")
    for area, models in sorted(model_imports(api, names).items()):
        out.append(f"from ..models.{area} import {', '.join(models)}")
    out.append("")
    out.append(f"__all__ = {sorted([resource.async_class, *(op.const for op in ops)])!r}")
    out.append("")
    by_name = {op.sdk_name: op for op in ops}
    targets = {op.lookup["operation"] for op in ops if op.lookup}
    for op in sorted(ops, key=lambda o: o.sdk_name not in targets):  # a lookup's target is defined first
        out.append("")
        out.extend(operation_constant(op, by_name))
    out += ["", "", f"class {resource.async_class}(AsyncResource):"]
    methods = ", ".join(f"``{op.method_name}``" for op in ops)
    doc = [f"``client.{resource.name}``: {resource.description}", f"Operations: {methods}."]
    if paged:
        doc.append(f"Auto-paging iterators: {', '.join(f'``{op.iter_name}``' for op in paged)}.")
    out.append(docstring(doc, 4))
    out.append("")
    out.append("    __slots__ = ()")
    for op in ops:
        out.append("")
        out.extend(render_method(op))
        if op.pagination:
            out.append("")
            out.extend(render_iterator(op))
    return "\n".join(out) + "\n"


def model_imports(api: API, names: set[str]) -> dict[str, list[str]]:
    """Models module -> the model names to import from it (straight from the module: no package-wide import)."""
    found: dict[str, list[str]] = {}
    for name in sorted(names):
        if name in api.models:
            found.setdefault(api.models[name].area, []).append(name)
        elif name in api.unions:
            found.setdefault("_common", []).append(name)
    return found


def render_resources_init(api: API) -> str:
    out = [
        MARKER,
        '"""Resource classes (``client.invoices``, ``client.payouts``, ...) and the table of every operation.',
        "",
        "Loaded lazily: ``client.payouts`` imports only ``resources/payouts.py``. ``OPERATIONS`` maps",
        "``resource.method_name`` (operations.json) to its :class:`~calypso_async._operation.Operation`; reading it",
        'imports every resource module."""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
        "    from .._operation import Operation",
    ]
    for resource in sorted(api.resources, key=lambda r: r.name):
        out.append(f"    from .{resource.name} import {resource.async_class}")
    out.append("")
    out.append(f"__all__ = {sorted(['OPERATIONS', *(r.async_class for r in api.resources)])!r}")
    out.append("")
    out.append("_MODULES: dict[str, str] = {")
    for resource in sorted(api.resources, key=lambda r: r.name):
        out.append(f"    {literal(resource.async_class)}: {literal(resource.name)},")
    out.append("}")
    out.append("")
    out.append("_OPERATIONS: tuple[tuple[str, str, str], ...] = (")
    for op in api.ops:
        out.append(f"    ({literal(op.sdk_name)}, {literal(op.resource)}, {literal(op.const)}),")
    out.append(")")
    out += [
        "",
        "if TYPE_CHECKING:",
        "    OPERATIONS: dict[str, Operation[Any]]",
        '    """Every operation of the reference by ``resource.method_name``, in operations.json order."""',
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        '    if name == "OPERATIONS":',
        "        value: Any = {",
        '            sdk_name: getattr(importlib.import_module(f".{module}", __name__), const)',
        "            for sdk_name, module, const in _OPERATIONS",
        "        }",
        "    elif name in _MODULES:",
        '        value = getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)',
        "    else:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        "    globals()[name] = value",
        "    return value",
    ]
    return "\n".join(out) + "\n"
