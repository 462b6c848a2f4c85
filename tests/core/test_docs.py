"""The README documents every operation (its table is written from operations.json)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_every_operation() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = json.loads((ROOT / "calypso_async/_spec/operations.json").read_text(encoding="utf-8"))
    missing = [
        f"{o['resource']}.{o['method_name']}"
        for o in operations
        if f"`await client.{o['resource']}.{o['method_name']}(...)`" not in readme
    ]
    assert not missing


def test_readme_opens_with_a_two_command_quickstart() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quickstart.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert commands[1].replace(" -q", "") in ci.replace(" -q", "")
