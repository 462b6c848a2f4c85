"""``calypso completion bash|zsh|fish`` and ``-V``: scripts generated from the real command tree."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from calypso_async._version import __version__
from calypso_async.cli import build_parser
from calypso_async.cli.completion import SHELLS, script

from .conftest import Cli


def _bash_complete(*words: str) -> list[str]:
    """What bash offers after ``calypso <words>`` (the last word is the one being completed)."""
    line = ["calypso", *words]
    program = "\n".join(
        [
            script("bash"),
            "COMP_WORDS=(" + " ".join(f"'{w}'" for w in line) + ")",
            f"COMP_CWORD={len(line) - 1}",
            "_calypso",
            'printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    )
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completes_commands_subcommands_and_options() -> None:
    assert _bash_complete("inv") == ["invoices"]
    assert sorted(_bash_complete("payouts", "")) == sorted(["create", "get", "mass", "-h", "--help"])
    assert _bash_complete("payouts", "create", "--idem") == ["--idempotency-key"]
    assert _bash_complete("--json", "balances", "--wa") == ["--watch"]  # global options do not shift the path
    assert _bash_complete("completion", "f") == ["fish"]


def test_every_command_of_the_parser_is_in_each_script() -> None:
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert commands is not None
    for shell in SHELLS:
        text = script(shell)
        for name in commands:
            assert name in text, (shell, name)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_valid_syntax_when_the_shell_exists(shell: str) -> None:
    binary = shutil.which(shell)
    if binary is None:
        # Without the shell, check the parts each script is made of instead.
        text = script(shell)
        if shell == "zsh":
            assert text.startswith("#compdef calypso") and "bashcompinit" in text and "complete -o default" in text
        else:
            seen = "'__fish_seen_subcommand_from payouts; and __fish_seen_subcommand_from create'"
            assert f"complete -c calypso -n {seen} -l idempotency-key" in text
        return
    flag = ["-n"] if shell == "zsh" else ["--no-execute"]
    done = subprocess.run([binary, *flag], input=script(shell), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_command_prints_the_script(cli: Cli, shell: str) -> None:
    r = cli("completion", shell)
    assert r.code == 0
    assert r.out == script(shell)


def test_short_v_prints_the_version(cli: Cli) -> None:
    for flag in ("-V", "--version"):
        r = cli(flag)
        assert r.code == 0
        assert r.out.strip() == f"calypso {__version__}"


def test_unknown_shell_is_a_usage_error(cli: Cli) -> None:
    r = cli("completion", "tcsh")
    assert r.code == 2
    assert "invalid choice" in r.err
