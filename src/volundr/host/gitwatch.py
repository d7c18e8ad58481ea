"""Watches the workspace's HEAD: commits are reported from the repository, not guessed.

`new_commits` compares HEAD with the last one seen and returns the commits between them
(oldest first), so a commit made by any means — a shell tool, a script, a hook — is
reported once, with its real hash and message. A checkout that moves HEAD to an older or
unrelated commit reports nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from volundr.host.git import Git

MAX_COMMITS = 50
"""At most this many commits are reported for one move of HEAD (a pull can bring many)."""


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    branch: str | None


class HeadWatcher:
    def __init__(self, git: Git, workspace: Path) -> None:
        self._git = git
        self._workspace = workspace
        self._head: str | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Remember the current HEAD (nothing before it is ever reported)."""
        self._head = await self._current()

    async def new_commits(self) -> list[Commit]:
        async with self._lock:
            head = await self._current()
            if head is None or head == self._head:
                return []
            since, self._head = self._head, head
            span = f"{since}..{head}" if since else head
            out = await self._git.output(
                "log", "--reverse", f"--max-count={MAX_COMMITS}", "--format=%H%x1f%s",
                span, "--", cwd=self._workspace,
            )  # fmt: skip
            branch = await self._git.output(
                "symbolic-ref", "--quiet", "--short", "HEAD", cwd=self._workspace
            )
        commits = []
        for line in (out or "").splitlines():
            sha, _, subject = line.partition("\x1f")
            if sha:
                commits.append(Commit(sha, subject, branch or None))
        return commits

    async def _current(self) -> str | None:
        return await self._git.output(
            "rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=self._workspace
        ) or None
