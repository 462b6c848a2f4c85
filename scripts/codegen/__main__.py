"""``python -m scripts.codegen [--check]``: see the package docstring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import emit_client, emit_coverage, emit_events, emit_models, emit_raw, emit_resources, emit_sync
from .describe import load
from .engine import read_engine
from .fmt import MARKER, ROOT, format_source

SCANNED = (ROOT / "calypso_async" / "models", ROOT / "calypso_async" / "resources")


def generate() -> dict[Path, str]:
    """Every generated file: path -> text, formatted."""
    api = load()
    files: dict[Path, str] = {}
    files.update(emit_models.emit(api))
    files.update(emit_resources.emit(api))
    files.update(emit_client.emit(api))
    files.update(emit_events.emit(api))
    files.update(emit_sync.emit(api, read_engine()))
    files.update(emit_raw.emit(api))
    files = {path: format_source(path, text) if path.suffix == ".py" else text for path, text in files.items()}
    files.update(emit_coverage.emit(api))
    return dict(sorted(files.items()))


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Generated files (marker on line 1) that would not be generated any more."""
    found = [p for d in SCANNED if d.exists() for p in d.rglob("*.py") if p.read_text("utf-8").startswith(MARKER)]
    return sorted(p for p in found if p not in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.codegen", description="Regenerate calypso's code.")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    options = parser.parse_args(argv)
    files = generate()
    stale = stale_files(files)
    if options.check:
        problems = [
            str(p.relative_to(ROOT)) for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text
        ]
        problems += [f"{p.relative_to(ROOT)} (not generated any more)" for p in stale]
        if problems:
            print("generated files are stale; run: python -m scripts.codegen", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files are up to date")
        return 0
    for path in stale:
        path.unlink()
    written = 0
    for path, text in files.items():
        if not path.exists() or path.read_text("utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            written += 1
    print(f"{len(files)} generated files, {written} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
