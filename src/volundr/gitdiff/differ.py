"""`WorkspaceDiffer`: the file list and the diffs of one workspace against one base."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from volundr.domain.diffs import (
    BaseKind,
    CheckoutMissing,
    DiffBase,
    DiffSummary,
    FileChange,
    FileDiff,
    FullDiff,
    InvalidPath,
    NoDefaultBranch,
    StartPoint,
    UnknownBranch,
    normalize_path,
)
from volundr.gitdiff.command import Output, base_env, disable_filters, run_git
from volundr.gitdiff.parse import parse_raw_numstat

_DIFF = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--ignore-submodules=dirty", "-M"]
"""No program of the workspace's choosing runs: no external diff, no textconv, and no
`git status` inside submodules (whose own config could name filters)."""
_REMOTE = "origin"
_FALLBACK_DEFAULTS = ("main", "master")


@dataclass(frozen=True)
class _Resolved:
    tree_ish: str
    """What git diffs against: a commit sha, or the empty tree."""
    commit: str | None


class WorkspaceDiffer:
    """Diffs of the working tree at `workspace` (staged, unstaged and untracked changes).

    Raises CheckoutMissing when `workspace` holds no git repository, InvalidPath,
    UnknownBranch or NoDefaultBranch as the contract says. `start` is the recorded start
    point (None when none was recorded: `start` then falls back to `HEAD`).
    """

    def __init__(self, workspace: Path, *, session_id: str, start: StartPoint | None) -> None:
        self._workspace = workspace
        self._session_id = session_id
        self._start = start

    async def files(self, base: DiffBase) -> DiffSummary:
        async with self._snapshot() as env:
            resolved = await self._resolve(env, base)
            return await self._summary(env, base, resolved)

    async def full(self, base: DiffBase, max_bytes: int) -> FullDiff:
        """The list and the text come from two git processes run side by side."""
        async with self._snapshot() as env:
            resolved = await self._resolve(env, base)
            summary, (text, truncated) = await asyncio.gather(
                self._summary(env, base, resolved), self._patch(env, resolved, [], max_bytes)
            )
        return FullDiff(summary, text, truncated)

    async def file(self, base: DiffBase, path: str, max_bytes: int) -> FileDiff:
        """The file's own diff is computed beside the list; a rename found in the list
        (which sees the whole tree) is then diffed again over both of its paths."""
        async with self._snapshot() as env:
            resolved = await self._resolve(env, base)  # its 409 comes before a bad path's 422
            normal = self.check_path(path)
            summary, (text, truncated) = await asyncio.gather(
                self._summary(env, base, resolved),
                self._patch(env, resolved, [normal], max_bytes),
            )
            change = _find(summary.files, normal)
            if change is None:
                return FileDiff(normal, None, False, False)
            if change.old_path is not None:
                paths = [change.old_path, change.path]
                text, truncated = await self._patch(env, resolved, paths, max_bytes)
        return FileDiff(normal, text or None, change.binary, truncated)

    def check_path(self, path: str) -> str:
        """The normalized path; InvalidPath when it leaves the workspace (`..`, absolute, or
        a symlink resolving outside)."""
        normal = normalize_path(path)
        root = os.path.realpath(self._workspace)
        resolved = os.path.realpath(os.path.join(root, normal))
        if resolved != root and not resolved.startswith(root.rstrip("/") + "/"):
            raise InvalidPath(path)
        return normal

    # ------------------------------------------------------------------ internals

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[dict[str, str]]:
        """An environment whose index is a private copy with untracked files intent-added."""
        env = base_env(self._workspace)
        index, objects = await self._locate(env)
        await disable_filters(env, self._workspace)
        tmp = await asyncio.to_thread(tempfile.mkdtemp, prefix="volundr-diff-")
        try:
            await asyncio.to_thread(_prepare, Path(tmp), Path(index))
            env.update(
                GIT_INDEX_FILE=os.path.join(tmp, "index"),
                GIT_OBJECT_DIRECTORY=os.path.join(tmp, "objects"),
                GIT_ALTERNATE_OBJECT_DIRECTORIES=objects,
            )
            untracked = await self._git(
                ["ls-files", "-z", "--others", "--exclude-standard"], env
            )
            if untracked.stdout:
                await self._git(
                    ["add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul"],
                    env, stdin=untracked.stdout,
                )  # fmt: skip
            yield env
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)

    async def _locate(self, env: dict[str, str]) -> tuple[str, str]:
        """The repository's index file and object directory; CheckoutMissing without one."""
        dot_git = self._workspace / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink():  # the common case: no process
            head = dot_git / "HEAD"
            if not head.is_file():
                raise CheckoutMissing(str(self._workspace))
            return str(dot_git / "index"), str(dot_git / "objects")
        if not dot_git.exists():
            raise CheckoutMissing(str(self._workspace))
        located = await self._git(
            ["rev-parse", "--path-format=absolute", "--git-path", "index",
             "--git-path", "objects"], env,
        )  # fmt: skip
        paths = located.text().splitlines() if located.returncode == 0 else []
        if len(paths) != 2:
            raise CheckoutMissing(str(self._workspace))
        return paths[0], paths[1]

    async def _summary(
        self, env: dict[str, str], base: DiffBase, resolved: _Resolved
    ) -> DiffSummary:
        out = await self._git([*_DIFF, "--raw", "--numstat", "-z", resolved.tree_ish, "--"], env)
        if out.returncode != 0:
            raise RuntimeError(f"git diff failed: {out.stderr.strip()[:300]}")
        return DiffSummary(base.label, resolved.commit, parse_raw_numstat(out.stdout))

    async def _patch(
        self, env: dict[str, str], resolved: _Resolved, paths: list[str], max_bytes: int
    ) -> tuple[str, bool]:
        out = await self._git([*_DIFF, resolved.tree_ish, "--", *paths], env, limit=max_bytes)
        if not out.ok:
            raise RuntimeError(f"git diff failed: {out.stderr.strip()[:300]}")
        data = out.stdout
        truncated = out.truncated or len(data) > max_bytes
        if truncated:
            cut = data.rfind(b"\n", 0, max_bytes + 1)
            data = data[: cut + 1] if cut >= 0 else b""
        return data.decode("utf-8", errors="replace"), truncated

    async def _resolve(self, env: dict[str, str], base: DiffBase) -> _Resolved:
        if base.kind is BaseKind.START and self._start is not None:
            sha = self._start.sha
            if sha is not None and await self._commit(env, sha) is not None:
                return _Resolved(sha, sha)
            if sha is None:
                return _Resolved(await self._empty_tree(env), None)
        if base.kind in (BaseKind.LAST_COMMIT, BaseKind.START):
            head = await self._commit(env, "HEAD")
            return _Resolved(head, head) if head else _Resolved(await self._empty_tree(env), None)
        if base.kind is BaseKind.DEFAULT_BRANCH:
            ref = await self._default_branch(env)
            if ref is None:
                raise NoDefaultBranch(self._session_id)
        else:
            assert base.branch is not None
            ref = await self._branch(env, base.branch)
        return await self._merge_base(env, ref)

    async def _default_branch(self, env: dict[str, str]) -> str | None:
        head = await self._git(["symbolic-ref", "--quiet", f"refs/remotes/{_REMOTE}/HEAD"], env)
        if head.returncode == 0 and await self._commit(env, head.text()):
            return head.text()
        listed = await self._git(
            ["for-each-ref", "--format=%(refname)", f"refs/remotes/{_REMOTE}/"], env
        )
        refs = [r for r in listed.text().splitlines() if r and not r.endswith("/HEAD")]
        if len(refs) == 1:
            return refs[0]
        for name in _FALLBACK_DEFAULTS:
            if f"refs/remotes/{_REMOTE}/{name}" in refs:
                return f"refs/remotes/{_REMOTE}/{name}"
        return None

    async def _branch(self, env: dict[str, str], name: str) -> str:
        for ref in (f"refs/heads/{name}", f"refs/remotes/{_REMOTE}/{name}"):
            if await self._commit(env, ref):
                return ref
        raise UnknownBranch(name)

    async def _merge_base(self, env: dict[str, str], ref: str) -> _Resolved:
        tip = await self._commit(env, ref)
        if tip is None:
            raise NoDefaultBranch(self._session_id)
        if await self._commit(env, "HEAD") is None:
            return _Resolved(tip, tip)
        found = await self._git(["merge-base", "HEAD", tip], env)
        sha = found.text() if found.returncode == 0 and found.text() else tip
        return _Resolved(sha, sha)

    async def _commit(self, env: dict[str, str], rev: str) -> str | None:
        out = await self._git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], env)
        return out.text() or None if out.returncode == 0 else None

    async def _empty_tree(self, env: dict[str, str]) -> str:
        out = await self._git(["hash-object", "-t", "tree", os.devnull], env)
        return out.text()

    async def _git(
        self, args: list[str], env: dict[str, str], *, stdin: bytes | None = None,
        limit: int | None = None,
    ) -> Output:
        return await run_git(args, cwd=self._workspace, env=env, stdin=stdin, limit=limit)


def _prepare(tmp: Path, index: Path) -> None:
    (tmp / "objects").mkdir()
    if index.exists():
        # copy2 keeps the index's mtime: git compares it with the files' mtimes to tell
        # "racily clean" entries (a same-size edit in the second of the last index write)
        shutil.copy2(index, tmp / "index")


def _find(files: list[FileChange], path: str) -> FileChange | None:
    for change in files:
        if path in (change.path, change.old_path):
            return change
    return None
