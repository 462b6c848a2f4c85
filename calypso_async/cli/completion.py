"""``calypso completion bash|zsh|fish``: a shell completion script, written from the command tree itself.

Why hand-written rather than shtab or argcomplete: shtab has no fish output and argcomplete must hook into
every start of the program; walking argparse's tree here covers the three shells with no dependency, and the
script can never drift from the commands because it is produced from the same parser that runs them.

>>> "complete -o default -F _calypso calypso" in script("bash")
True
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ._base import EXIT_OK, Context

__all__ = ["SHELLS", "register", "script"]

SHELLS = ("bash", "zsh", "fish")

_INSTALL = {
    "bash": 'eval "$(calypso completion bash)"    # in ~/.bashrc',
    "zsh": 'eval "$(calypso completion zsh)"     # in ~/.zshrc',
    "fish": "calypso completion fish > ~/.config/fish/completions/calypso.fish",
}


class _Node:
    """One command level: its subcommands (name -> node), its options and its positional choices."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.children: dict[str, _Node] = {}
        self.help: dict[str, str] = {}
        self.options: list[tuple[list[str], str]] = []
        self.choices: list[str] = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help or "" for a in action._choices_actions}
                for name, child in action.choices.items():
                    self.children[name] = _Node(child)
                    self.help[name] = str(helps.get(name, ""))
            elif action.help == argparse.SUPPRESS:
                continue
            elif action.option_strings:
                self.options.append((list(action.option_strings), "" if action.help is None else str(action.help)))
            elif action.choices:
                self.choices.extend(str(c) for c in action.choices)

    def walk(self, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], _Node]]:
        levels = [(path, self)]
        for name, child in self.children.items():
            levels.extend(child.walk((*path, name)))
        return levels

    def words(self) -> list[str]:
        return [*self.children, *self.choices, *(o for names, _ in self.options for o in names)]


def _tree() -> _Node:
    from . import build_parser  # the package imports this module; the parser is built on demand

    return _Node(build_parser())


def _bash(root: _Node) -> str:
    subcommands = []
    words = []
    for path, node in root.walk():
        key = " ".join(path)
        if node.children:
            subcommands.append(f'        "{key}") echo "{" ".join(node.children)}" ;;')
        words.append(f'        "{key}") echo "{" ".join(node.words())}" ;;')
    return "\n".join(
        [
            '# bash completion for calypso: eval "$(calypso completion bash)"',
            "_calypso_subcommands() {",
            '    case "$1" in',
            *subcommands,
            "    esac",
            "}",
            "_calypso_words() {",
            '    case "$1" in',
            *words,
            "    esac",
            "}",
            "_calypso() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        word="${COMP_WORDS[i]}"',
            '        [[ "$word" == -* ]] && continue',
            '        if [[ " $(_calypso_subcommands "$path") " == *" $word "* ]]; then',
            '            path="${path:+$path }$word"',
            "        fi",
            "    done",
            '    COMPREPLY=($(compgen -W "$(_calypso_words "$path")" -- "$cur"))',
            "}",
            "complete -o default -F _calypso calypso",
            "",
        ]
    )


def _zsh(root: _Node) -> str:
    # zsh runs the bash function through bashcompinit: one tree walk, identical behaviour in both shells.
    return "\n".join(
        [
            "#compdef calypso",
            '# zsh completion for calypso: eval "$(calypso completion zsh)"',
            "autoload -U +X compinit && { (( ${+_comps} )) || compinit; }",
            "autoload -U +X bashcompinit && bashcompinit",
            _bash(root).split("\n", 1)[1],
        ]
    )


def _fish_quote(text: str) -> str:
    return "'" + re.sub(r"\s+", " ", text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(root: _Node) -> str:
    lines = ["# fish completion for calypso: calypso completion fish > ~/.config/fish/completions/calypso.fish"]
    lines.append("complete -c calypso -f")
    for path, node in root.walk():
        if path:
            seen = "; and ".join(f"__fish_seen_subcommand_from {name}" for name in path)
        else:
            seen = "__fish_use_subcommand"
        if node.children:
            condition = seen if not path else f"{seen}; and not __fish_seen_subcommand_from {' '.join(node.children)}"
            for name in node.children:
                lines.append(
                    f"complete -c calypso -n {_fish_quote(condition)} -a {name} -d {_fish_quote(node.help[name])}"
                )
        for choice in node.choices:
            lines.append(f"complete -c calypso -n {_fish_quote(seen)} -a {_fish_quote(choice)}")
        for names, text in node.options:
            flags = " ".join(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}" for n in names)
            lines.append(f"complete -c calypso -n {_fish_quote(seen)} {flags} -d {_fish_quote(text)}")
    return "\n".join(lines) + "\n"


def script(shell: str) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`)."""
    render = {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell]
    return render(_tree())


def _completion(ctx: Context) -> int:
    ctx.stdout.write(script(ctx.args.shell))
    ctx.stdout.flush()
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for your shell. Install it with:\n  " + "\n  ".join(_INSTALL.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(handler=_completion)
