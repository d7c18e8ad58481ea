"""Session files on this machine: `<sessions_dir>/<id>/{workspace,logs,start.json}`.

Runtimes whose sessions live on local disk (local, and the fake when given a directory)
read logs, diffs and sizes through this class. It reads only: diffs go through
`volundr.gitdiff`, which never touches the workspace or its index.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from pathlib import Path

from volundr.domain.diffs import DiffBase, DiffSummary, FileDiff, FullDiff
from volundr.domain.errors import RuntimeFailure
from volundr.domain.logs import LogPage, LogQuery
from volundr.gitdiff import WorkspaceDiffer
from volundr.host.logreader import read_log
from volundr.host.spec import log_path_of
from volundr.host.startpoint import read_start, start_path

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SessionFiles:
    """Read access to the session directories under `sessions_dir`."""

    def __init__(self, sessions_dir: Path) -> None:
        self._root = Path(sessions_dir)

    def session_dir(self, session_id: str) -> Path:
        """`<sessions_dir>/<session_id>`; RuntimeFailure for an id that could escape it."""
        if not _SAFE_ID.match(session_id) or session_id in (".", ".."):
            raise RuntimeFailure(f"invalid session id for a local runtime: {session_id!r}")
        root = self._root.resolve()
        target = (root / session_id).resolve()
        if target.parent != root:
            raise RuntimeFailure(f"session directory escapes the sessions dir: {session_id!r}")
        return target

    def workspace_path(self, session_id: str) -> str:
        return str(self.session_dir(session_id) / "workspace")

    async def read_logs(self, session_id: str, query: LogQuery) -> LogPage:
        path = log_path_of(self.session_dir(session_id))
        return await asyncio.to_thread(read_log, path, query)

    async def workspace_ready(self, session_id: str) -> bool:
        return await asyncio.to_thread(start_path(self.session_dir(session_id)).exists)

    async def diff_files(self, session_id: str, base: DiffBase) -> DiffSummary:
        return await self._differ(session_id).files(base)

    async def diff(self, session_id: str, base: DiffBase, max_bytes: int) -> FullDiff:
        return await self._differ(session_id).full(base, max_bytes)

    async def file_diff(
        self, session_id: str, base: DiffBase, path: str, max_bytes: int
    ) -> FileDiff:
        return await self._differ(session_id).file(base, path, max_bytes)

    async def size(self, session_id: str) -> int | None:
        """Bytes allocated on disk by the session directory; None when it does not exist."""
        return await asyncio.to_thread(disk_usage, self.session_dir(session_id))

    def _differ(self, session_id: str) -> WorkspaceDiffer:
        session_dir = self.session_dir(session_id)
        return WorkspaceDiffer(
            session_dir / "workspace", session_id=session_id, start=read_start(session_dir)
        )


def disk_usage(root: Path) -> int | None:
    """Like `du -s --bytes` of allocated blocks: symlinks not followed, hard links once."""
    try:
        top = os.lstat(root)
    except OSError:
        return None
    total = top.st_blocks * 512
    seen: set[tuple[int, int]] = set()
    stack = [str(root)] if stat.S_ISDIR(top.st_mode) else []
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
    return total
