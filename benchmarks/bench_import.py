"""Start-up cost of calypso, as ratios to ``import aiohttp``, measured side by side in one run.

Each sample is a whole fresh process (interpreter start-up included, as a user feels it), byte code already
compiled as after any install. The commands run round-robin (one of each per round), so load on the machine
hits them alike, and the median of each is compared:

* ``python -c "import calypso_async"`` and ``"import calypso_sync"``: target at most 30 ms more than
  ``python -c "import aiohttp"`` (aiohttp is the one dependency no aiohttp-based client can avoid);
* ``calypso --help``: target within 1.3x ``python -c "import aiohttp"``.

    python -m benchmarks.bench_import [runs]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import ROOT, Result, ServerProcess, Settings

GROUP = "import"
MAX_EXTRA_MS = 30.0
CLI_TARGET = 1.3

# Byte code as after an install (pip compiles it), kept out of the source tree: PYTHONDONTWRITEBYTECODE
# would otherwise make every run compile calypso from source, which no installed copy does.
_PYCACHE = os.path.join(tempfile.gettempdir(), "calypso-bench-pycache")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CALYPSO_LOG")}
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def _cli() -> list[str]:
    """The ``calypso`` console script next to this interpreter, else the same entry point through ``-c``."""
    script = Path(sys.executable).with_name("calypso")
    if script.exists():
        return [str(script), "--help"]
    return [
        sys.executable,
        "-c",
        "import sys; from calypso_sync.cli import main; sys.argv[0] = 'calypso'; main()",
        "--help",
    ]


def commands() -> dict[str, list[str]]:
    return {
        "import aiohttp": [sys.executable, "-c", "import aiohttp"],
        "import calypso_async": [sys.executable, "-c", "import calypso_async"],
        "import calypso_sync": [sys.executable, "-c", "import calypso_sync"],
        "calypso --help": _cli(),
    }


def _seconds(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command``; CPU (user + system of the child) is what a loaded machine
    distorts least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) milliseconds of each command over ``runs`` round-robin rounds, after a warm-up round."""
    cmds = commands()
    for command in cmds.values():
        _seconds(command)  # compile byte code once, outside the measurement
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, command in cmds.items():
            samples[name].append(_seconds(command))
    return {
        name: (statistics.median(w for w, _ in values) * 1e3, statistics.median(c for _, c in values) * 1e3)
        for name, values in samples.items()
    }


def importtime_top(module: str, count: int = 12) -> list[tuple[int, int, str]]:
    """``-X importtime``: the modules with the largest cumulative import time, (self µs, cumulative µs, name)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
        env=_env(),
    )
    rows: list[tuple[int, int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(self_us), int(cumulative), name))
    return sorted(rows, key=lambda r: -r[1])[:count]


def results(medians: dict[str, tuple[float, float]]) -> list[Result]:
    baseline, baseline_cpu = medians["import aiohttp"]
    out = []
    for name in ("import calypso_async", "import calypso_sync"):
        value, cpu = medians[name]
        out.append(
            Result(
                GROUP,
                name,
                value,
                baseline,
                "ms",
                'python -c "import aiohttp"',
                higher_is_better=False,
                target=(baseline + MAX_EXTRA_MS) / baseline,
                note=f"{value - baseline:+.0f} ms wall, {cpu - baseline_cpu:+.0f} ms CPU vs aiohttp "
                f"(target <= +{MAX_EXTRA_MS:.0f} ms); whole process",
                extra={"extra_ms": value - baseline, "cpu_ms": (cpu, baseline_cpu)},
            )
        )
    value, cpu = medians["calypso --help"]
    out.append(
        Result(
            GROUP,
            "calypso --help",
            value,
            baseline,
            "ms",
            'python -c "import aiohttp"',
            higher_is_better=False,
            target=CLI_TARGET,
            note=f"CPU ratio {cpu / baseline_cpu:.2f}; whole process",
            extra={"cpu_ms": (cpu, baseline_cpu)},
        )
    )
    return out


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    return results(measure(max(settings.import_runs, 1)))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    runs = int(args[0]) if args else 15
    medians = measure(runs)
    for result in results(medians):
        assert result.value is not None and result.ratio is not None
        print(
            f"{result.name:22} {result.value:7.1f} ms  aiohttp {result.baseline:7.1f} ms  "
            f"ratio {result.ratio:.2f} (target <= {result.target:.2f})  {result.note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
