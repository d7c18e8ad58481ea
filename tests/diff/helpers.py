"""Workspaces for diff tests: a clone of an origin repository laid out as a session dir."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from volundr.host.startpoint import record_start


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_origin(
    root: Path, files: dict[str, str], *, default: str = "master", branches: tuple[str, ...] = ()
) -> Path:
    """A repository at `root` with `files` (nested paths fine) committed on `default`, and
    one extra commit on each branch of `branches` (adding `<branch, / → _>.txt`)."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet", f"--initial-branch={default}")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    commit_all(root, "initial")
    for branch in branches:
        git(root, "checkout", "--quiet", "-b", branch, default)
        (root / f"{branch.replace('/', '_')}.txt").write_text(branch)
        commit_all(root, f"on {branch}")
    git(root, "checkout", "--quiet", default)
    return root


def clone_session(origin: Path, session_dir: Path, branch: str | None = None) -> Path:
    """Clone `origin` into `<session_dir>/workspace` (on `branch`) and record the start."""
    workspace = session_dir / "workspace"
    session_dir.mkdir(parents=True, exist_ok=True)
    args = ["clone", "--quiet", *(["--branch", branch] if branch else []), "--", str(origin)]
    git(session_dir, *args, str(workspace))
    head = git(workspace, "rev-parse", "HEAD")
    record_start(session_dir, git(workspace, "symbolic-ref", "--short", "HEAD"), head)
    return workspace


def commit_all(workspace: Path, message: str) -> str:
    git(workspace, "add", "--all")
    git(workspace, "commit", "--quiet", "-m", message)
    return git(workspace, "rev-parse", "HEAD")


def index_state(workspace: Path) -> tuple[bytes, int, str, str]:
    """Bytes and mtime of the index, `git status` and the object count: all must stay put."""
    index = workspace / ".git" / "index"
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    status = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=workspace,
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    objects = git(workspace, "count-objects", "-v")
    return index.read_bytes(), index.stat().st_mtime_ns, status, objects
