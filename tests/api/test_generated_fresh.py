"""Every checked-in generated file is what ``python -m scripts.codegen`` makes of the vendored spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.codegen.fmt import MARKER

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.codegen", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, f"stale generated code; run python -m scripts.codegen\n{done.stderr}"


def test_generated_files_are_marked() -> None:
    package = ROOT / "calypso_async"
    files = [
        *sorted((package / "models").glob("*.py")),
        *sorted((package / "resources").glob("*.py")),
        package / "_client.py",
        package / "webhooks" / "_events.py",
        ROOT / "calypso_sync" / "_generated.py",
    ]
    for path in files:
        assert path.read_text("utf-8").startswith(MARKER + "\n"), path
