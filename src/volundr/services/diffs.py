"""Workspace diffs (API §4.13): checks of the session and workspace, then the runtime."""

from __future__ import annotations

import re
from typing import Any

from volundr.domain.diffs import CheckoutMissing, DiffBase, DiffSummary, FileDiff, FullDiff
from volundr.domain.errors import SessionNotFound
from volundr.domain.models import Principal, SessionStatus
from volundr.domain.workspaces import WorkspaceNotFound, WorkspaceNotReady
from volundr.ports import Runtime, SessionStore

_PREPARING = frozenset({SessionStatus.STARTING, SessionStatus.PROVISIONING})
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class DiffService:
    """`max_bytes` caps the diff text (API §0.2 `diff.max_bytes`)."""

    def __init__(self, *, store: SessionStore, runtime: Runtime, max_bytes: int) -> None:
        self._store = store
        self._runtime = runtime
        self._max_bytes = max_bytes

    async def files(self, principal: Principal, session_id: str, base: DiffBase) -> DiffSummary:
        preparing = await self._check(principal, session_id)
        try:
            return await self._runtime.diff_files(session_id, base)
        except CheckoutMissing:
            raise _missing(session_id, preparing) from None

    async def diff(self, principal: Principal, session_id: str, base: DiffBase) -> FullDiff:
        preparing = await self._check(principal, session_id)
        try:
            return await self._runtime.diff(session_id, base, max_bytes=self._max_bytes)
        except CheckoutMissing:
            raise _missing(session_id, preparing) from None

    async def file(
        self, principal: Principal, session_id: str, base: DiffBase, path: str
    ) -> FileDiff:
        preparing = await self._check(principal, session_id)
        try:
            return await self._runtime.file_diff(
                session_id, base, path, max_bytes=self._max_bytes
            )
        except CheckoutMissing:
            raise _missing(session_id, preparing) from None

    async def _check(self, principal: Principal, session_id: str) -> bool:
        """404/409 checks (API §4.13); returns whether a run is preparing the workspace."""
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
            if session is None or not principal.can_see(session.owner_id, session.tenant_id):
                raise SessionNotFound(session_id)
            workspace = await tx.live_workspace(session_id)
        preparing = session.status in _PREPARING
        if preparing and not await self._runtime.workspace_ready(session_id):
            raise WorkspaceNotReady(session_id)
        if workspace is None and not preparing:
            raise WorkspaceNotFound(session_id)
        return preparing


def _missing(session_id: str, preparing: bool) -> Exception:
    return WorkspaceNotReady(session_id) if preparing else WorkspaceNotFound(session_id)


def parse_hunks(text: str | None) -> list[dict[str, Any]]:
    """The `hunks` format of one file's unified diff (camelCase keys, API §4.13)."""
    hunks: list[dict[str, Any]] = []
    if not text:
        return hunks
    current: list[dict[str, Any]] | None = None
    old = new = 0
    for line in text.split("\n"):
        header = _HUNK.match(line)
        if header is not None:
            old, new = int(header[1]), int(header[3])
            current = []
            hunks.append({
                "oldStart": old,
                "oldCount": int(header[2]) if header[2] is not None else 1,
                "newStart": new,
                "newCount": int(header[4]) if header[4] is not None else 1,
                "lines": current,
            })  # fmt: skip
        elif current is None or not line:
            continue
        elif line[0] == "+":
            current.append({"type": "add", "content": line[1:], "newLine": new})
            new += 1
        elif line[0] == "-":
            current.append({"type": "remove", "content": line[1:], "oldLine": old})
            old += 1
        elif line[0] == " ":
            current.append({"type": "context", "content": line[1:], "oldLine": old,
                            "newLine": new})
            old += 1
            new += 1
    return hunks
