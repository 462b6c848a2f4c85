"""The package metadata says what is true: the Python versions CI tests, the licence it ships."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_classifiers_list_exactly_the_pythons_nox_tests() -> None:
    classified = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', _pyproject())
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    tested = re.findall(r'"(3\.\d+)"', re.search(r"PYTHONS = \[(.*?)\]", noxfile).group(1))  # type: ignore[union-attr]
    assert classified == tested == ["3.10", "3.11", "3.12", "3.13"]
    assert 'requires-python = ">=3.10"' in _pyproject()


def test_licence_is_an_spdx_expression_with_its_file() -> None:
    text = _pyproject()
    assert re.search(r'^license = "MIT"$', text, re.MULTILINE)
    assert 'license-files = ["LICENSE"]' in text
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
