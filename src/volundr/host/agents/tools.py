"""What an agent's tool calls did: file changes and shell commands, agent-independent.

Shell commands are classified with `shlex` (no shell is run): `git commit` asks for a HEAD
check (commits are reported from the repository, never from parsing alone), `git push`,
`git checkout`/`git switch`, `git branch <name>` and `rm <paths>` become their events once
the command succeeded.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from volundr.host.agents.base import CheckHead, Emit, Output

_SEPARATORS = {"&&", "||", ";", "|", "&", "\n"}
_SHELLS = {"sh", "bash", "zsh", "dash"}
_GIT_VALUE_OPTIONS = {"-c", "-C", "--git-dir", "--work-tree", "--namespace"}
_EXIT_CODE = re.compile(r"^\s*(?:Exit code|exit code:?)\s*(-?\d+)", re.IGNORECASE)
_MAX_STR = 500


def relative(path: str, workspace: Path) -> str:
    """`path` relative to the workspace when inside it, else as given."""
    if not path:
        return path
    try:
        full = Path(os.path.normpath(workspace / path))
        return str(full.relative_to(os.path.normpath(workspace)))
    except ValueError:
        return path


def line_changes(old: str, new: str) -> tuple[int, int]:
    """(insertions, deletions) between two texts, by lines."""
    ins = dels = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old.splitlines(), new.splitlines(), autojunk=False
    ).get_opcodes():
        if op in ("replace", "delete"):
            dels += i2 - i1
        if op in ("replace", "insert"):
            ins += j2 - j1
    return ins, dels


def count_lines(text: str) -> int:
    return len(text.splitlines())


def summarize(value: Any, depth: int = 0) -> Any:
    """A bounded copy of a tool input for event data (long strings cut, big files left out)."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_STR else value[:_MAX_STR] + "…"
    if isinstance(value, dict) and depth < 3:
        return {str(k): summarize(v, depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, list) and depth < 3:
        return [summarize(v, depth + 1) for v in value[:20]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)[:_MAX_STR]


def exit_code_of(output: str, is_error: bool) -> int:
    """A shell tool's exit status: `Exit code N` in its output, else 1 on error, else 0."""
    match = _EXIT_CODE.match(output)
    if match:
        return int(match.group(1))
    return 1 if is_error else 0


@dataclass(frozen=True)
class FileChange:
    action: str  # created | modified | deleted
    path: str
    insertions: int | None = None
    deletions: int | None = None

    def emit(self, tool: str) -> Emit:
        data: dict[str, Any] = {"path": self.path, "tool": tool}
        if self.insertions is not None:
            data["insertions"] = self.insertions
        if self.deletions is not None:
            data["deletions"] = self.deletions
        return Emit(f"file_{self.action}", data)


def shell_outputs(command: str, exit_code: int, workspace: Path) -> list[Output]:
    """The events a finished shell command stands for, beyond `terminal_command`."""
    out: list[Output] = []
    words = _words(command)
    if words is None:
        if re.search(r"\bgit\b[^\n]*\bcommit\b", command):
            out.append(CheckHead())
        return out
    for simple in _simple_commands(words):
        out += _one_command(simple, exit_code, workspace)
    return out


def _words(command: str) -> list[str] | None:
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|\n")
        lexer.whitespace_split = True
        lexer.whitespace = " \t\r"
        return list(lexer)
    except ValueError:
        return None


def _simple_commands(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS or set(word) <= set(";&|\n"):
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _one_command(words: list[str], exit_code: int, workspace: Path) -> list[Output]:
    while words and "=" in words[0] and not words[0].startswith("-"):
        words = words[1:]  # leading VAR=value assignments
    if not words:
        return []
    if os.path.basename(words[0]) in _SHELLS and len(words) >= 3 and _is_c_flag(words[1]):
        return shell_outputs(words[2], exit_code, workspace)  # `bash -lc '<script>'`
    if os.path.basename(words[0]) == "git":
        return _git(words[1:], exit_code)
    if os.path.basename(words[0]) == "rm" and exit_code == 0:
        return [
            FileChange("deleted", relative(p, workspace)).emit("Bash")
            for p in words[1:]
            if not p.startswith("-") and not (workspace / p).exists()
        ]
    return []


def _is_c_flag(word: str) -> bool:
    return word.startswith("-") and not word.startswith("--") and "c" in word


def _git(args: list[str], exit_code: int) -> list[Output]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _GIT_VALUE_OPTIONS else 1
    if i >= len(args):
        return []
    sub, rest = args[i], args[i + 1 :]
    positional = [a for a in rest if not a.startswith("-")]
    if sub == "commit":
        return [CheckHead()]
    if exit_code != 0:
        return []
    if sub == "push":
        data: dict[str, Any] = {"remote": positional[0] if positional else None}
        data["branch"] = positional[1] if len(positional) > 1 else None
        return [Emit("git_push", data)]
    if sub in ("checkout", "switch"):
        creating = any(f in rest for f in ("-b", "-B", "-c", "-C", "--create"))
        target = positional[0] if positional else None
        if creating:
            return [Emit("git_branch", {"branch": target, "action": "created"}),
                    Emit("git_checkout", {"branch": target})]  # fmt: skip
        return [Emit("git_checkout", {"branch": target})] if target and target != "--" else []
    if sub == "branch" and positional and not any(a in rest for a in ("-d", "-D", "--delete")):
        return [Emit("git_branch", {"branch": positional[0], "action": "created"})]
    return []
