"""What every generator in scripts/ shares: formatting its output exactly as the checked-in files are formatted.

Generated files go through the same ruff (import sorting, ``__all__`` sorting, ``ruff format``) as hand-written
code, so a freshness check compares like with like.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff_executable() -> str:
    """The ruff next to this interpreter (a venv's), else the one on PATH."""
    candidate = Path(sys.executable).with_name("ruff")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ruff")
    if found is None:
        raise SystemExit(f"{Path(sys.argv[0]).name} needs ruff (pip install ruff) to format its output")
    return found


def format_source(path: Path, text: str) -> str:
    """``text`` formatted as the file at ``path`` (absolute, inside the repo) would be by ruff."""
    ruff = ruff_executable()
    rel = str(path.relative_to(ROOT))
    steps = (
        [ruff, "check", "--fix", "--select", "I,RUF022", "--exit-zero", "--quiet", "--stdin-filename", rel, "-"],
        [ruff, "format", "--quiet", "--stdin-filename", rel, "-"],
    )
    for command in steps:
        done = subprocess.run(command, input=text, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise SystemExit(f"ruff failed on generated {rel}:\n{done.stderr}\n--- source ---\n{text}")
        text = done.stdout
    return text
