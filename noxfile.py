"""Developer sessions: ``nox -l`` lists them, ``nox -s tests-3.10`` runs one (see CONTRIBUTING.md).

Each session gets its own venv under ``.nox/``. Interpreters are found on ``PATH`` (``python3.10`` ...); pyenv
installs are put first on ``PATH`` here, so a machine with ``pyenv install 3.10 3.11 3.12 3.13`` needs nothing else.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
"""The versions calypso supports and tests; the classifiers in pyproject.toml list exactly these."""

PACKAGES = ["calypso_async", "calypso_sync"]
LINTED = [*PACKAGES, "tests", "scripts", "benchmarks", "noxfile.py"]

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True  # a Python that cannot be found fails the run, never skips it
nox.options.sessions = ["lint", *(f"tests-{v}" for v in PYTHONS), "doctests"]


def _add_pyenv_pythons() -> None:
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    extra = []
    for version in PYTHONS:  # before pyenv's shims, which fail for a version that is installed but not selected
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
        if found:
            extra.append(os.path.dirname(found[-1]))
    if extra:
        os.environ["PATH"] = os.pathsep.join([*extra, os.environ.get("PATH", "")])


_add_pyenv_pythons()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite on one Python (``nox -s tests-3.12``); extra arguments go to pytest."""
    session.install("-q", "-e", ".[test]")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-q", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy --strict."""
    session.install("-q", "-e", ".[test]")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy", "--strict", *PACKAGES)


@nox.session(python="3.11")
def doctests(session: nox.Session) -> None:
    """The docstring examples that are not marked ``+SKIP``."""
    session.install("-q", "-e", ".[test]")
    session.run(*DOCTEST_COMMAND)


DOCTEST_COMMAND = [
    "python",
    "-m",
    "pytest",
    "-p",
    "no:cacheprovider",
    "-q",
    "--doctest-modules",
    *PACKAGES,
    # __main__ modules run their program on import.
    "--ignore=calypso_async/cli/__main__.py",
    "--ignore=calypso_async/testing/__main__.py",
]


@nox.session(python="3.11")
def generate(session: nox.Session) -> None:
    """Regenerate the resources, models, events and the sync facade from the vendored spec."""
    session.install("-q", "-e", ".[test]")
    session.run("python", "-m", "scripts.codegen", *session.posargs)  # pass --check to only compare


@nox.session(python="3.11")
def benchmarks(session: nox.Session) -> None:
    """``python -m benchmarks`` (about 90 s); pass a subset, e.g. ``nox -s benchmarks -- async cpu``."""
    session.install("-q", "-e", ".[test,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python="3.11")
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, check them, install the wheel into a clean venv and smoke-test it."""
    session.install("-q", "build", "twine")
    dist = os.path.join(session.create_tmp(), "dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "-q", "-o", dist, ".")
    artefacts = sorted(glob.glob(os.path.join(dist, "*")))
    session.run("twine", "check", "--strict", *artefacts)
    clean = os.path.join(session.create_tmp(), "clean-venv")
    shutil.rmtree(clean, ignore_errors=True)
    session.run("python", "-m", "venv", clean)
    python = os.path.join(clean, "bin", "python")
    wheel = next(a for a in artefacts if a.endswith(".whl"))
    session.run(python, "-m", "pip", "install", "-q", wheel, external=True)
    session.run(python, "-c", "import calypso_async, calypso_sync; print('import ok')", external=True)
    session.run(os.path.join(clean, "bin", "calypso"), "--version", external=True)
