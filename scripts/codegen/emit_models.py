"""Emitter: ``calypso_async/models/`` (attrs classes, open enums, the package's re-exports)."""

from __future__ import annotations

from pathlib import Path

from .describe import API, ModelDef
from .fmt import MARKER, ROOT
from .text import const_name, docstring, literal, sentence

MODELS_DIR = ROOT / "calypso_async" / "models"


def emit(api: API) -> dict[Path, str]:
    areas = api.areas()
    files = {MODELS_DIR / f"{area}.py": render_model_module(api, area, models) for area, models in areas.items()}
    files[MODELS_DIR / "_enums.py"] = render_enums(api)
    files[MODELS_DIR / "__init__.py"] = render_models_init(api, areas)
    return files


def render_enums(api: API) -> str:
    out = [MARKER, '"""Open enums of the Calypso API: ``str`` values whose known values are class constants.', ""]
    out.append("Unknown values (added by Calypso after this release) are still valid instances, with")
    out.append('``is_known`` False. Presumed values (documented as likely, never shown) are marked as such."""')
    out.append("")
    out.append("from __future__ import annotations")
    out.append("")
    has_aliases = any(e.aliases for e in api.enums.values())
    if has_aliases:
        out.append("from collections.abc import Mapping")
        out.append("from typing import ClassVar")
        out.append("")
    out.append("from .._model import OpenEnum")
    out.append("")
    names = sorted(api.enums)
    out.append(f"__all__ = {names!r}")
    for name in names:
        enum = api.enums[name]
        out.append("")
        out.append("")
        out.append(f"class {name}(OpenEnum):")
        doc = [enum.doc or f"{name}."]
        if enum.complete:
            doc.append("The reference lists the complete set of known values (unknown ones are still accepted).")
        doc.append("Used by: " + ", ".join(f"``{u}``" for u in sorted(set(enum.users))) + ".")
        out.append(docstring(doc, 4))
        out.append("")
        out.append("    __slots__ = ()")
        seen: set[str] = set()
        for value in enum.values:
            const = const_name(value)
            assert const not in seen, (name, value)
            seen.add(const)
            out.append(f"    {const} = {literal(value)}")
        for value in enum.presumed:
            const = const_name(value)
            if const in seen:
                continue
            seen.add(const)
            out.append(f"    {const} = {literal(value)}")
            out.append('    """Presumed value: never shown in the docs."""')
        if enum.aliases:
            out.append("    ALIASES: ClassVar[Mapping[str, str]] = {")
            for old, new in enum.aliases.items():
                out.append(f"        {literal(old)}: {literal(new)},")
            out.append("    }")
            out.append('    """Variant spellings seen in the docs -> the canonical value."""')
    return "\n".join(out) + "\n"


def render_model_module(api: API, area: str, models: list[ModelDef]) -> str:
    used: set[str] = set()
    for model in models:
        for f in model.fields:
            used |= f.names
    secret = any(f.secret for m in models for f in m.fields)
    plain = any(not f.secret for m in models for f in m.fields)
    local = {m.name for m in models}
    enums = sorted(n for n in used if n in api.enums)
    unions = sorted(n for n in used if n in api.unions)
    common = sorted(n for n in used if n in api.models and n not in local and api.models[n].area == "_common") + (
        [] if area == "_common" else unions
    )
    out = [MARKER, docstring([api.area_docs[area]], 0), "", "from __future__ import annotations", ""]
    std: list[str] = []
    if "datetime" in used:
        std.append("from datetime import datetime")
    if "Decimal" in used:
        std.append("from decimal import Decimal")
    if "Any" in used:
        std.append("from typing import Any")
    if area == "_common" and api.unions:
        std.append("from typing import TypeAlias")
    out += [*std, "", "import attrs", ""]
    model_imports = ["Model"]
    if plain:
        model_imports.append("field")
    if secret:
        model_imports.append("secret_field")
    out.append(f"from .._model import {', '.join(model_imports)}")
    if common:
        out.append(f"from ._common import {', '.join(common)}")
    if enums:
        out.append(f"from ._enums import {', '.join(enums)}")
    names = [m.name for m in models]
    if area == "_common":
        names += sorted(api.unions)
    out.append("")
    out.append(f"__all__ = {sorted(names)!r}")
    for model in order_models(models):
        out.append("")
        out.append("")
        out.append("@attrs.define(kw_only=True)")
        out.append(f"class {model.name}(Model):")
        out.append(docstring(model.doc, 4))
        for f in model.fields:
            out.append("")
            decl = "secret_field" if f.secret else "field"
            tp = f.type if f.type == "Any" else f"{f.type} | None"
            out.append(f"    {f.name}: {tp} = {decl}({literal(f.wire)})")
            if f.doc:
                out.append(docstring([f.doc], 4))
    if area == "_common":
        for union_name, union in sorted(api.unions.items()):
            doc = api.schemas[union_name].get("description", "")
            out.append("")
            out.append(f"{union_name}: TypeAlias = {union}")
            out.append(docstring([sentence(doc)], 0))
    return "\n".join(out) + "\n"


def order_models(models: list[ModelDef]) -> list[ModelDef]:
    """Alphabetical (annotations are strings, so definition order does not matter)."""
    return sorted(models, key=lambda m: m.name)


def render_models_init(api: API, areas: dict[str, list[ModelDef]]) -> str:
    """The package's names, each imported from its module on first use (importing every model costs ~40 ms)."""
    out = [
        MARKER,
        '"""Models of every schema in the spec, their open enums and a few readable aliases.',
        "",
        "Every field is optional (absent or ``null`` -> ``None``), keeps its camelCase wire name, and unknown fields",
        "are kept in ``extra``. Amounts are ``Decimal``, date-times timezone-aware ``datetime``. Each module is",
        "imported on first use of one of its names.",
        "",
        ">>> from calypso_async.models import Invoice, InvoiceState  # doctest: +SKIP",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
    ]
    where: dict[str, tuple[str, str]] = {}
    for area in sorted(areas):
        names = sorted(m.name for m in areas[area])
        if area == "_common":
            names = sorted(names + list(api.unions))
        where.update({name: (area, name) for name in names})
        out.append(f"    from .{area} import {', '.join(names)}")
    out.append(f"    from ._enums import {', '.join(sorted(api.enums))}")
    where.update({name: ("_enums", name) for name in api.enums})
    out.append("")
    for alias, target in sorted(api.model_aliases.items()):
        assert target in api.models, target
        out.append(f"    {alias} = {target}")
        where[alias] = (where[target][0], target)
    out.append("")
    out.append(f"__all__ = {sorted(where)!r}")
    out.append("")
    out.append("_WHERE: dict[str, tuple[str, str]] = {")
    for name, (module, target) in sorted(where.items()):
        out.append(f"    {literal(name)}: ({literal(module)}, {literal(target)}),")
    out.append("}")
    out.append('"""Public name -> (module, name in that module); aliases point at their target."""')
    out += [
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    found = _WHERE.get(name)",
        "    if found is None:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        '    value = getattr(importlib.import_module(f".{found[0]}", __name__), found[1])',
        "    globals()[name] = value",
        "    return value",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted(set(globals()) | set(__all__))",
    ]
    return "\n".join(out) + "\n"
