"""The import rules of docs/ARCHITECTURE.md ("Layers"), checked on the source: runtime imports only (an import
under ``if TYPE_CHECKING:`` is for annotations and is allowed across layers), function-level imports included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("calypso_async", "calypso_sync")

FOUNDATION = {"_version", "_errors", "_config", "_json", "_clock", "_signing", "_logs", "_timestamps"}
"""Standard library only (and each other)."""
ENGINE = FOUNDATION | {
    "_model",
    "_operation",
    "_validate",
    "_retry",
    "_transport",
    "_network",
    "_paging",
    "_resource",
    "_idempotency",
    "_hooks",
    "_raw",
    "_otel",
    "_observe",
    "_base_client",
}
"""Hand-written core: knows no endpoint, so it never imports generated code or the leaves."""
GENERATED_ALLOWED = {
    "calypso_async.models": {"calypso_async._model", "calypso_async.models"},
    "calypso_async.resources": {
        "calypso_async._validate",
        "calypso_async._operation",
        "calypso_async._paging",
        "calypso_async._resource",
        "calypso_async.models",
        "calypso_async.resources",
    },
    "calypso_async._client": {"calypso_async._base_client", "calypso_async.resources", "calypso_async._raw_resources"},
    "calypso_async._raw_resources": {"calypso_async._raw", "calypso_async._client", "calypso_async.resources"},
    "calypso_sync._raw_resources": {"calypso_async._raw", "calypso_sync._generated"},
    "calypso_async.webhooks._events": {"calypso_async._model", "calypso_async.webhooks._types"},
    "calypso_sync._generated": {
        "calypso_async._base_client",
        "calypso_async._config",
        "calypso_async._paging",
        "calypso_sync._base",
        "calypso_sync._portal",
        "calypso_sync._raw_resources",
    },
}
"""Generated module (or package) -> the only calypso modules it may import at run time."""

KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()
"""(module, package) pairs allowed to break the rule; none."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """Absolute names of the calypso modules ``path`` imports outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text("utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # ``from . import _validate``
    return {m for m in found if m.split(".")[0] in PACKAGES}


def all_modules() -> dict[str, set[str]]:
    return {
        module_name(path): runtime_imports(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = all_modules()


def is_module(name: str) -> bool:
    return name in MODULES


def test_the_rules_see_the_code_base() -> None:
    assert len(MODULES) > 80
    assert "calypso_async._base_client" in MODULES["calypso_async._client"]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("calypso_async")))
def test_calypso_async_never_imports_calypso_sync(module: str) -> None:
    bad = {
        i for i in MODULES[module] if i.startswith("calypso_sync") and (module, i.split(".")[0]) not in KNOWN_EXCEPTIONS
    }
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(f"calypso_async.{m}" for m in ENGINE))
def test_the_engine_never_imports_generated_code_or_leaves(module: str) -> None:
    allowed = {f"calypso_async.{m}" for m in ENGINE} | {"calypso_async"}
    bad = {i for i in MODULES[module] if is_module(i) and i not in allowed}
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(f"calypso_async.{m}" for m in FOUNDATION))
def test_foundations_import_only_foundations(module: str) -> None:
    allowed = {f"calypso_async.{m}" for m in FOUNDATION} | {"calypso_async"}
    bad = {i for i in MODULES[module] if is_module(i) and i not in allowed}
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if any(m == g or m.startswith(g + ".") for g in GENERATED_ALLOWED))
)
def test_generated_modules_import_only_what_the_diagram_allows(module: str) -> None:
    group = max((g for g in GENERATED_ALLOWED if module == g or module.startswith(g + ".")), key=len)
    allowed = GENERATED_ALLOWED[group]
    package = module.split(".")[0]
    bad = {
        i
        for i in MODULES[module]
        if is_module(i) and i != package and not any(i == a or i.startswith(a + ".") for a in allowed)
    }
    assert not bad, f"{module} imports {bad}"


def _loaded_by(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_a_package_loads_no_model_resource_or_converter(package: str) -> None:
    loaded = _loaded_by(f"import {package}")
    heavy = {
        m for m in loaded if m.startswith(("cattrs", "tenacity", "calypso_async.models.", "calypso_async.resources."))
    }
    heavy |= {m for m in loaded if m in ("calypso_async._model", "calypso_async.webhooks", "calypso_async.poller")}
    assert not heavy


def test_cli_help_loads_no_model_or_converter() -> None:
    loaded = _loaded_by(
        "import sys, contextlib, io\nsys.argv = ['calypso', '--help']\nfrom calypso_async.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main()"
    )
    assert not {m for m in loaded if m.startswith(("cattrs", "calypso_async.models.", "calypso_async.poller"))}


def test_a_resource_loads_only_its_own_module() -> None:
    loaded = _loaded_by("import calypso_async\nc = calypso_async.AsyncCalypso('k', 's', account='a')\nc.payouts")
    resources = {m for m in loaded if m.startswith("calypso_async.resources.")}
    assert resources == {"calypso_async.resources.payouts"}
