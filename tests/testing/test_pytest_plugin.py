"""The pytest plugin's async fixtures run on the test's own event loop, whatever pytest-asyncio loop scope the
test uses (mark or ini default); each case runs a small suite in-process with ``pytester``."""

from __future__ import annotations

import pytest

LOOP_SCOPES = ["function", "class", "module", "package", "session"]

# Each inner test bounds its own wait, so that a server stuck on another loop fails fast instead of hanging.
_BODY = """
    assert fake_calypso._loop is asyncio.get_running_loop()
    account = await asyncio.wait_for(fake_calypso_client.account.get(), 10)
    assert account is not None
    SEEN.append(fake_calypso.base_url)
    assert len(set(SEEN)) == len(SEEN), "each test gets a fresh server"
"""


def _marked_suite(scope: str) -> str:
    mark = f'@pytest.mark.asyncio(loop_scope="{scope}")'
    tests = "".join(f"\n{mark}\nasync def test_{n}(fake_calypso, fake_calypso_client):{_BODY}" for n in ("one", "two"))
    if scope == "class":
        tests = "".join(
            f"\n    {mark}\n    async def test_{n}(self, fake_calypso, fake_calypso_client):"
            + _BODY.replace("\n    ", "\n        ")
            for n in ("one", "two")
        )
        tests = "\nclass TestInClass:" + tests
    return f"import asyncio\n\nimport pytest\n\nSEEN = []\n{tests}\n"


def _setup(pytester: pytest.Pytester, ini_scope: str | None = None) -> None:
    lines = [
        "[pytest]",
        "asyncio_mode = auto",
        "asyncio_default_fixture_loop_scope = function",
        "filterwarnings = error",
    ]
    if ini_scope is not None:
        lines.append(f"asyncio_default_test_loop_scope = {ini_scope}")
    pytester.makeini("\n".join(lines) + "\n")
    pytester.makeconftest('pytest_plugins = ["calypso_async.testing.pytest_plugin"]\n')


@pytest.mark.parametrize("scope", LOOP_SCOPES)
def test_fixtures_run_on_the_loop_of_a_test_marked_with_any_loop_scope(pytester: pytest.Pytester, scope: str) -> None:
    _setup(pytester)
    package = pytester.mkpydir("pkg")
    (package / "test_marked.py").write_text(_marked_suite(scope))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("scope", LOOP_SCOPES)
def test_fixtures_follow_the_ini_default_test_loop_scope(pytester: pytest.Pytester, scope: str) -> None:
    _setup(pytester, ini_scope=scope)
    suite = _marked_suite(scope).replace(f'@pytest.mark.asyncio(loop_scope="{scope}")', "")
    package = pytester.mkpydir("pkg")
    (package / "test_default.py").write_text(suite)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_module_level_mark_applies_to_the_fixtures(pytester: pytest.Pytester) -> None:
    _setup(pytester)
    suite = _marked_suite("module").replace('@pytest.mark.asyncio(loop_scope="module")', "")
    suite = suite.replace("SEEN = []", 'SEEN = []\npytestmark = pytest.mark.asyncio(loop_scope="module")')
    pytester.makepyfile(test_module_mark=suite)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_test_with_a_wider_loop_shares_it_with_its_neighbours(pytester: pytest.Pytester) -> None:
    """Two module-loop tests see one loop (so the server really is on the module's loop, not a private one)."""
    _setup(pytester)
    pytester.makepyfile(
        test_shared="""
import asyncio

import pytest

LOOPS = []

@pytest.mark.asyncio(loop_scope="module")
async def test_one(fake_calypso):
    LOOPS.append(asyncio.get_running_loop())

@pytest.mark.asyncio(loop_scope="module")
async def test_two(fake_calypso):
    LOOPS.append(asyncio.get_running_loop())
    assert LOOPS[0] is LOOPS[1]
    assert fake_calypso._loop is LOOPS[0]
"""
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_strict_mode_with_a_marked_module_loop(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    pytester.makeconftest('pytest_plugins = ["calypso_async.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_strict=_marked_suite("module"))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
