"""Workspace records kept in step with the session lifecycle (API §3.5, §9).

The ledger's hooks run inside the transaction of the session change that causes them, so a
session and its workspace never disagree: `provisioning` makes the workspace `active`
(reusing a live one, else a new record), the end of a run (`stopped`/`failed`) archives
it, a session delete archives it or, with `workspace_storage`, marks it `deleted`. Disk
sizes are measured after the fact, in the background, never inside a transaction.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from volundr.domain.clock import new_id, utcnow
from volundr.domain.models import Session, SessionStatus
from volundr.domain.workspaces import QuotaExceeded, Workspace, WorkspaceStatus
from volundr.ports import Runtime, SessionStore, StoreTx

log = logging.getLogger("volundr.workspaces")

CLEANUP_WORKSPACE = "workspace_storage"
SIZE_REFRESH = timedelta(minutes=1)
"""A measured size is refreshed at most this often (and at every archive)."""
_RUN_ENDED = frozenset({SessionStatus.STOPPED, SessionStatus.FAILED})


class WorkspaceLedger:
    """Transition and delete hooks for the workspace records, plus size measurement.

    `quota_bytes`: a user whose live workspaces use at least this much cannot create a
    session (None = no quota).
    """

    def __init__(
        self, *, store: SessionStore, runtime: Runtime, quota_bytes: int | None = None
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._quota_bytes = quota_bytes
        self._queue: dict[str, Workspace] = {}
        self._worker: asyncio.Task[None] | None = None

    async def on_transition(self, tx: StoreTx, session: Session, previous: SessionStatus) -> None:
        status = session.status
        if status is SessionStatus.STARTING and previous is SessionStatus.CREATED:
            await self._check_quota(tx, session)
        elif status is SessionStatus.PROVISIONING:
            await self._activate(tx, session)
        elif status is SessionStatus.RUNNING:
            await self._refresh_source(tx, session)
        elif status in _RUN_ENDED and previous.is_active:
            await self._archive(tx, session)

    async def on_delete(self, tx: StoreTx, session: Session, cleanup: frozenset[str]) -> None:
        workspace = await tx.live_workspace(session.id)
        if workspace is None:
            return
        expected = workspace.status
        now = utcnow()
        workspace.session_name = session.name
        if CLEANUP_WORKSPACE in cleanup:
            mark_deleted(workspace)
        elif workspace.status is WorkspaceStatus.ACTIVE:
            workspace.status = WorkspaceStatus.ARCHIVED
            workspace.archived_at = now
            self.measure_soon(workspace)
        await tx.update_workspace(workspace, expected)

    # ------------------------------------------------------------------ sizes

    def measure_soon(self, workspace: Workspace) -> None:
        """Queue a measurement of the workspace's disk use (one background worker measures
        queued workspaces one at a time, so a burst never floods the disk or the store)."""
        if workspace.status is WorkspaceStatus.DELETED:
            return
        self._queue[workspace.id] = workspace
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="measure-workspaces")

    def refresh_stale(self, workspaces: list[Workspace]) -> None:
        """Queue the live workspaces measured over SIZE_REFRESH ago (or never)."""
        limit = utcnow() - SIZE_REFRESH
        for workspace in workspaces:
            if workspace.size_measured_at is None or workspace.size_measured_at < limit:
                self.measure_soon(workspace)

    async def measure(self, workspace: Workspace) -> int | None:
        """Measure now and store the result; returns it (None when unknown)."""
        size = await self._runtime.workspace_size(workspace.session_id)
        async with self._store.transaction() as tx:
            await tx.set_workspace_size(workspace.id, size, utcnow())
        workspace.size_bytes = size
        return size

    async def close(self) -> None:
        self._queue.clear()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _drain(self) -> None:
        while self._queue:
            _key, workspace = self._queue.popitem()
            try:
                await self.measure(workspace)
            except Exception:
                log.warning("could not measure workspace of session %s",
                            workspace.session_id, exc_info=True)

    # ------------------------------------------------------------------ hooks

    async def _check_quota(self, tx: StoreTx, session: Session) -> None:
        if self._quota_bytes is None:
            return
        used = await tx.workspace_usage(session.tenant_id, session.owner_id)
        if used >= self._quota_bytes:
            raise QuotaExceeded(session.owner_id, used, self._quota_bytes)

    async def _activate(self, tx: StoreTx, session: Session) -> None:
        workspace = await tx.live_workspace(session.id)
        if workspace is None:
            await tx.insert_workspace(
                Workspace(
                    id=new_id(),
                    session_id=session.id,
                    user_id=session.owner_id,
                    tenant_id=session.tenant_id,
                    status=WorkspaceStatus.ACTIVE,
                    created_at=session.updated_at,
                    path=self._runtime.workspace_path(session.id),
                    session_name=session.name,
                    source_url=session.source.repo or None,
                    source_ref=session.source.branch or None,
                )
            )
            return
        expected = workspace.status
        workspace.status = WorkspaceStatus.ACTIVE
        workspace.session_name = session.name
        workspace.source_ref = session.source.branch or workspace.source_ref
        await tx.update_workspace(workspace, expected)

    async def _refresh_source(self, tx: StoreTx, session: Session) -> None:
        workspace = await tx.live_workspace(session.id)
        branch = session.source.branch or None
        if workspace is not None and branch is not None and workspace.source_ref != branch:
            workspace.source_ref = branch
            await tx.update_workspace(workspace, workspace.status)

    async def _archive(self, tx: StoreTx, session: Session) -> None:
        workspace = await tx.live_workspace(session.id)
        if workspace is None or workspace.status is not WorkspaceStatus.ACTIVE:
            return
        workspace.status = WorkspaceStatus.ARCHIVED
        workspace.archived_at = session.updated_at
        workspace.session_name = session.name
        if await tx.update_workspace(workspace, WorkspaceStatus.ACTIVE):
            self.measure_soon(workspace)


def mark_deleted(workspace: Workspace) -> None:
    """A tombstone: files gone, size unknown."""
    workspace.status = WorkspaceStatus.DELETED
    workspace.deleted_at = utcnow()
    workspace.size_bytes = None
    workspace.size_measured_at = None
