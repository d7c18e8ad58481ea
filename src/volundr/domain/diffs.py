"""Workspace diffs (API §4.13): what to compare against and what changed."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from volundr.domain.errors import Conflict, InvalidRequest


class BaseKind(StrEnum):
    LAST_COMMIT = "last-commit"
    DEFAULT_BRANCH = "default-branch"
    START = "start"
    BRANCH = "branch"


@dataclass(frozen=True)
class DiffBase:
    """The base of a diff; `branch` is set only for BaseKind.BRANCH (`base_branch=`)."""

    kind: BaseKind = BaseKind.LAST_COMMIT
    branch: str | None = None

    @property
    def label(self) -> str:
        """The `base` reported in responses."""
        return f"branch:{self.branch}" if self.kind is BaseKind.BRANCH else self.kind.value


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str
    """`added`, `modified`, `deleted` or `renamed`."""
    additions: int = 0
    deletions: int = 0
    binary: bool = False
    old_path: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "status": self.status,
            "additions": self.additions,
            "deletions": self.deletions,
            "binary": self.binary,
        }


@dataclass(frozen=True)
class DiffSummary:
    """The complete file list against one base, sorted by path."""

    base: str
    base_commit: str | None
    files: list[FileChange] = field(default_factory=list)


@dataclass(frozen=True)
class FullDiff:
    summary: DiffSummary
    text: str
    truncated: bool


@dataclass(frozen=True)
class FileDiff:
    """One file's unified diff; `text` None when it has no change against the base."""

    path: str
    text: str | None
    binary: bool
    truncated: bool


class InvalidPath(InvalidRequest):
    def __init__(self, path: str) -> None:
        super().__init__(f"Invalid path: {path}")
        self.path = path


class UnknownBranch(InvalidRequest):
    def __init__(self, branch: str) -> None:
        super().__init__(f"Unknown branch: {branch}")
        self.branch = branch


class NoDefaultBranch(Conflict):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Cannot determine the default branch for session {session_id}")
        self.session_id = session_id


class CheckoutMissing(Exception):
    """The workspace has no git checkout (yet): the service answers 409 or 404."""


def normalize_path(raw: str) -> str:
    """A workspace-relative path in normal form; InvalidPath when it is absolute, empty or
    leaves the workspace lexically (`..` components). Symlinks are checked by the runtime.

    Names that merely contain `..` (`docs/v1..v2.md`) are fine.
    """
    if not raw or "\x00" in raw or raw.startswith("/") or raw.startswith("\\"):
        raise InvalidPath(raw)
    normal = posixpath.normpath(raw)
    if normal in (".", "..") or normal.startswith("../") or normal.startswith("/"):
        raise InvalidPath(raw)
    return normal


@dataclass(frozen=True)
class StartPoint:
    """What a session's workspace had checked out when it was prepared.

    `sha` None: the repository had no commit yet (the diff base is then the empty tree).
    """

    branch: str | None
    sha: str | None
