"""Import time of ``calypso_async`` and ``calypso_sync`` in a fresh interpreter, vs ``import aiohttp``.

Each run is a new ``python`` process timing its own ``import`` statement (interpreter start-up excluded; byte
code already compiled, as after any install). The median of several runs is reported; the baseline is the one
dependency no aiohttp-based client can avoid.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks._common import ROOT, Result, ServerProcess, Settings

GROUP = "import"

_PROBE = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)

# Byte code as after an install (pip compiles it), kept out of the source tree: PYTHONDONTWRITEBYTECODE
# would otherwise make every run compile calypso from source, which no installed copy does.
_PYCACHE = os.path.join(tempfile.gettempdir(), "calypso-bench-pycache")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def import_seconds(module: str) -> tuple[float, float]:
    """(wall, CPU) seconds that ``import module`` takes in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)], cwd=ROOT, capture_output=True, check=True, text=True,
        env=_env(),
    )
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def importtime_top(module: str, count: int = 12) -> list[tuple[int, int, str]]:
    """``-X importtime``: the modules with the largest cumulative import time, (self µs, cumulative µs, name)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT, capture_output=True,
        check=True, text=True, env=_env(),
    )
    rows: list[tuple[int, int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        rows.append((int(self_us), int(cumulative), name))
    return sorted(rows, key=lambda r: -r[1])[:count]


def _median_ms(module: str, runs: int) -> tuple[float, float]:
    samples = [import_seconds(module) for _ in range(runs)]
    return statistics.median(w for w, _ in samples) * 1e3, statistics.median(c for _, c in samples) * 1e3


def _has_sync_facade() -> bool:
    probe = "import calypso_sync, sys; sys.exit(0 if hasattr(calypso_sync, 'Calypso') else 1)"
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, env=_env()).returncode == 0


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    for module in ("calypso_async", "calypso_sync", "aiohttp"):
        import_seconds(module)  # compile byte code once, outside the measurement
    runs = settings.import_runs
    baseline, baseline_cpu = _median_ms("aiohttp", runs)
    results = []
    for module in ("calypso_async", "calypso_sync"):
        if module == "calypso_sync" and not _has_sync_facade():
            results.append(
                Result(
                    GROUP, f"import {module}", None, baseline, "ms", "import aiohttp", higher_is_better=False,
                    target_absolute=300, note="calypso_sync.Calypso does not exist yet",
                )
            )
            continue
        value, cpu = _median_ms(module, runs)
        results.append(
            Result(
                GROUP, f"import {module}", value, baseline, "ms", "import aiohttp", higher_is_better=False,
                target_absolute=300, note=f"CPU {cpu:.0f} ms vs {baseline_cpu:.0f} ms",
                extra={"cpu_ms": (cpu, baseline_cpu)},
            )
        )
    return results
