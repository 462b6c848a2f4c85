"""The parser's second input: the public surface of the hand-written engine (``AsyncAPIClient``).

The sync ``Calypso`` mirrors it: constructor, properties, public attributes set in ``__init__``, coroutine
methods (``request`` ...) and the lifecycle (``aclose``/``__aenter__``/``__aexit__`` -> ``close``/``__enter__``/
``__exit__``). It is read from the hand-written source (``inspect`` + ``ast`` of ``_base_client.py``, never of
generated output), and every name an annotation or default uses is resolved to an import through that module's
own imports, so a default stays a name (``DEFAULT_TIMEOUT``), never a copied value.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .fmt import ROOT

LIFECYCLE = ("aclose", "__aenter__", "__aexit__")
HAND_WRITTEN = ("with_options",)
"""Members the sync client's hand-written base (``calypso_sync._base.SyncClient``) implements itself: they
return sync objects, so they are not forwards of the async ones. (``with_raw_response`` is emitted on the
generated leaves, next to the resources it wraps.)"""
SYNC_REFUSED = ("session", "transport")
"""Constructor arguments the sync client does not offer: an aiohttp session or transport belongs to the event
loop it was created on, and the sync client runs every call on its own private loop."""


class EngineError(Exception):
    """The engine has a shape the sync emitter does not know how to mirror."""


@dataclass
class Param:
    name: str
    kind: inspect._ParameterKind
    annotation: str | None
    default: str | None

    def text(self) -> str:
        out = self.name + (f": {self.annotation}" if self.annotation else "")
        if self.default is not None:
            out += f" = {self.default}" if self.annotation else f"={self.default}"
        return {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(self.kind, "") + out


@dataclass
class Method:
    name: str
    params: list[Param]
    returns: str
    doc: str


@dataclass
class Attribute:
    name: str
    type: str
    doc: str | None
    settable: bool


@dataclass
class Engine:
    """What the sync facade needs to know about ``AsyncAPIClient``; ``imports`` maps every name used -> module."""

    doc: str
    init: list[Param]
    attributes: list[Attribute]
    methods: list[Method]
    close_doc: str
    exit_params: list[Param]
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- reading


def _function_node(func: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef:
    source = textwrap.dedent(inspect.getsource(func))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func.__name__:
            return node
    raise EngineError(f"no source for {func.__qualname__}")


def module_imports(module: ModuleType) -> dict[str, tuple[str, str | None]]:
    """Local name -> (absolute module, attribute or None for ``import x``) from a module's import statements."""
    found: dict[str, tuple[str, str | None]] = {}
    package = module.__name__.rpartition(".")[0]
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                found[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (alias.name.split(".")[0], None)
    return found


class _Resolver:
    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.table = module_imports(module)
        self.used: dict[str, tuple[str, str | None]] = {}

    def expression(self, node: ast.expr, *, annotation: bool = True) -> str:
        if annotation and isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
            node = ast.parse(node.value, mode="eval").body
        for name in ast.walk(node):
            if isinstance(name, ast.Name):
                self.name(name.id)
        return ast.unparse(node)

    def name(self, name: str) -> None:
        if name in self.table:
            self.used[name] = self.table[name]
        elif name in vars(self.module):
            self.used[name] = (self.module.__name__, name)
        elif not hasattr(builtins, name):
            raise EngineError(f"cannot resolve {name!r} used in {self.module.__name__}")

    def type_of(self, cls: type) -> str:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
        self.used[cls.__name__] = (cls.__module__, cls.__name__)
        return cls.__name__


def _params(func: Callable[..., Any], resolve: _Resolver) -> list[Param]:
    node = _function_node(func)
    args = node.args
    positional = args.posonlyargs + args.args
    defaults: dict[str, ast.expr] = {}
    for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
        defaults[arg.arg] = default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if kw_default is not None:
            defaults[arg.arg] = kw_default
    annotations = {a.arg: a.annotation for a in [*positional, *args.kwonlyargs]}
    out = []
    for index, (name, param) in enumerate(inspect.signature(func).parameters.items()):
        if index == 0 and name == "self":
            continue
        annotation = annotations.get(name)
        out.append(
            Param(
                name,
                param.kind,
                None if annotation is None else resolve.expression(annotation),
                None if name not in defaults else resolve.expression(defaults[name], annotation=False),
            )
        )
    return out


def _returns(func: Callable[..., Any], resolve: _Resolver) -> str:
    returns = _function_node(func).returns
    return "Any" if returns is None else resolve.expression(returns)


def _instance_attributes(cls: type, resolve: _Resolver) -> list[Attribute]:
    """Public ``self.X = ...`` of ``__init__`` in order, typed from an annotation or from the values of two
    throw-away clients (every optional argument given / none)."""
    body = _function_node(cls.__init__).body  # type: ignore[misc]
    found: list[Attribute] = []
    for index, stmt in enumerate(body):
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        for target in targets:
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and not target.attr.startswith("_")
                and all(a.name != target.attr for a in found)
            ):
                continue
            following = body[index + 1] if index + 1 < len(body) else None
            doc = None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                doc = inspect.cleandoc(str(following.value.value))
            if isinstance(stmt, ast.AnnAssign):
                type_text = resolve.expression(stmt.annotation)
            else:
                type_text = _inferred_type(cls, target.attr, resolve)
            found.append(Attribute(target.attr, type_text, doc, settable=True))
    return found


def _inferred_type(cls: type, name: str, resolve: _Resolver) -> str:
    full = cls(api_key="k", secret_key="s", account="a", base_url="https://api.calypso.finance")
    bare = cls(api_key="k", secret_key="s", account=None, base_url="https://api.calypso.finance")
    types: list[str] = []
    for value in (getattr(full, name), getattr(bare, name)):
        text = "None" if value is None else resolve.type_of(type(value))
        if text not in types:
            types.append(text)
    if types == ["None"]:
        raise EngineError(f"cannot infer the type of AsyncAPIClient.{name}; annotate it")
    return " | ".join(sorted(types, key=lambda t: t == "None"))


def read_engine(cls: type | None = None) -> Engine:
    """Describe ``calypso_async._base_client.AsyncAPIClient`` (or a subclass of it, in tests)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module("calypso_async._base_client")
    cls = module.AsyncAPIClient if cls is None else cls
    assert cls is not None
    resolve = _Resolver(module)
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):
        members.update({n: v for n, v in vars(klass).items() if not n.startswith("_")})
    attributes: list[Attribute] = []
    methods: list[Method] = []
    for name, value in members.items():
        if name in HAND_WRITTEN:
            continue
        if isinstance(value, property):
            if value.fget is None:
                raise EngineError(f"AsyncAPIClient.{name} has no getter")
            doc = inspect.getdoc(value.fget)
            attributes.append(Attribute(name, _returns(value.fget, resolve), doc, settable=value.fset is not None))
        elif name in LIFECYCLE:
            continue
        elif inspect.iscoroutinefunction(value):
            doc = inspect.getdoc(value) or f"Sync twin of ``AsyncCalypso.{name}``."
            methods.append(Method(name, _params(value, resolve), _returns(value, resolve), doc))
        else:
            raise EngineError(f"AsyncAPIClient.{name} is not a property or coroutine method; teach engine.py about it")
    known = {a.name for a in attributes} | {m.name for m in methods}
    attributes += [a for a in _instance_attributes(cls, resolve) if a.name not in known]
    init = [p for p in _params(cls.__init__, resolve) if p.name not in SYNC_REFUSED]  # type: ignore[misc]
    if any(p.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL) for p in init):
        raise EngineError("AsyncAPIClient.__init__ takes *args/**kwargs; teach engine.py about them")
    exit_params = _params(cls.__aexit__, resolve)
    # Names only the refused parameters used are not imported.
    used_text = (
        " ".join(f"{p.annotation} {p.default}" for p in [*init, *exit_params])
        + " ".join(f"{a.type}" for a in attributes)
        + " ".join(f"{m.returns} " + " ".join(f"{p.annotation} {p.default}" for p in m.params) for m in methods)
    )
    imports = {n: t for n, t in resolve.used.items() if re.search(rf"\b{re.escape(n)}\b", used_text)}
    return Engine(
        doc=inspect.getdoc(cls) or "",
        init=init,
        attributes=attributes,
        methods=methods,
        close_doc=inspect.getdoc(cls.aclose) or "Close the client.",  # type: ignore[attr-defined]
        exit_params=exit_params,
        imports=imports,
    )
