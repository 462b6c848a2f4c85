"""The async package runs its demo without the sync facade; the sync turn lives in calypso_sync.demo."""

from __future__ import annotations

import subprocess
import sys


def test_async_demo_never_imports_the_sync_package() -> None:
    code = (
        "import sys, calypso_async.demo\n"
        "calypso_async.demo.main()\n"
        "assert 'calypso_sync' not in sys.modules, sorted(m for m in sys.modules if m.startswith('calypso_sync'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "== Who am I" in done.stdout and "== The same from sync code" not in done.stdout


def test_sync_demo_adds_the_blocking_turn() -> None:
    done = subprocess.run([sys.executable, "-m", "calypso_sync.demo"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("== Clock:") < out.index("== The same from sync code (calypso_sync)") < out.index("Done.")
