"""Shared by every test directory: the pytest plugins the suite uses."""

from __future__ import annotations

pytest_plugins = ["pytester", "calypso_async.testing.pytest_plugin"]
