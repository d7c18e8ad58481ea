"""Reading what shell commands and file tools did (agent-independent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from volundr.host.agents.base import CheckHead, Emit
from volundr.host.agents.tools import exit_code_of, line_changes, relative, shell_outputs


@pytest.mark.parametrize(
    "command",
    [
        'git commit -m "x"',
        'git add -A && git commit -qm "a b"',
        "git -c user.name=x -C . commit --amend --no-edit",
        "bash -lc 'git add . && git commit -m \"msg\"'",
        "echo start\ngit commit -m x",
        "GIT_AUTHOR_NAME=x git commit -m y",
        'git commit -m "$(cat <<EOF\nmulti\nEOF\n)"',
    ],
)
def test_commits_ask_for_a_head_check(command: str) -> None:
    assert CheckHead() in shell_outputs(command, 0, Path("/w"))


def test_other_git_commands_become_their_events_when_they_succeed() -> None:
    out = shell_outputs("git checkout -b feat/x && git push -u origin feat/x", 0, Path("/w"))
    assert [(o.event_type, o.data) for o in out if isinstance(o, Emit)] == [
        ("git_branch", {"branch": "feat/x", "action": "created"}),
        ("git_checkout", {"branch": "feat/x"}),
        ("git_push", {"remote": "origin", "branch": "feat/x"}),
    ]
    assert shell_outputs("git push origin main", 1, Path("/w")) == []
    assert shell_outputs("echo git commit", 0, Path("/w")) == []


def test_rm_reports_files_that_are_gone(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("x")
    out = shell_outputs("rm -f gone.txt kept.txt", 0, tmp_path)
    assert [o.data["path"] for o in out if isinstance(o, Emit)] == ["gone.txt"]


def test_helpers() -> None:
    assert exit_code_of("Exit code 127\nnot found", True) == 127
    assert exit_code_of("boom", True) == 1 and exit_code_of("", False) == 0
    assert line_changes("a\nb\n", "a\nc\nd\n") == (2, 1)
    assert relative("/w/src/x.py", Path("/w")) == "src/x.py"
    assert relative("/elsewhere/x.py", Path("/w")) == "/elsewhere/x.py"
    assert relative("src/../y.py", Path("/w")) == "y.py"
