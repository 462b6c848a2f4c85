"""docs/poller.md: every Python example compiles, and every name it imports from calypso exists.

A name missing from ``calypso_async`` / ``calypso_sync`` must at least exist in the poller package.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "poller.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
POLLER_MODULES = {"calypso_async": "calypso_async.poller", "calypso_sync": "calypso_sync._poller"}


def test_doc_covers_async_sync_testing_and_options() -> None:
    text = DOC.read_text("utf-8")
    for heading in (
        "## Events",
        "## Stopping",
        "## From sync code",
        "## Observability",
        "## Testing",
        "## All options",
        "## Snapshots that survive restarts",
        "### Delivery guarantee",
        "### Your own store",
        "## Sharding",
        "### Deployment recipe: systemd",
        "### Deployment recipe: Kubernetes StatefulSet",
    ):
        assert heading in text
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_examples_compile(index: int) -> None:
    compile(BLOCKS[index], f"docs/poller.md[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_imported_calypso_names_exist() -> None:
    for block in BLOCKS:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in POLLER_MODULES:
                module = importlib.import_module(node.module)
                fallback = (
                    importlib.import_module(POLLER_MODULES[node.module]) if node.module in POLLER_MODULES else None
                )
                for alias in node.names:
                    found = hasattr(module, alias.name) or (fallback is not None and hasattr(fallback, alias.name))
                    assert found, f"{node.module}.{alias.name} is documented but missing"


def test_every_option_in_the_table_is_a_real_argument() -> None:
    import inspect

    from calypso_async.poller import BalancePoller

    table = DOC.read_text("utf-8").split("## All options", 1)[1].split("\n## ", 1)[0]
    names = {n for row in re.findall(r"^\| `([^|]+)` \|", table, flags=re.M) for n in re.findall(r"[a-z_]+", row)}
    parameters = set(inspect.signature(BalancePoller).parameters)
    assert names and names <= parameters, names - parameters
