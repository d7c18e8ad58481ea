"""Workspace retention (off by default): a background task that, every interval,

1. archives sessions `stopped` for longer than `archive_stopped_after` (as archive-stopped
   would), and archives `active` workspaces whose session ended (or was deleted) that long
   ago;
2. deletes (files removed, tombstone kept) workspaces `archived` for longer than
   `delete_archived_after`, unless their session is active again;
3. refreshes the measured size of live workspaces (what the disk quota counts).

Every action is logged; a failing item is logged and skipped, never stops the round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from volundr.domain.clock import utcnow
from volundr.domain.errors import VolundrError
from volundr.domain.models import Principal, Role, SessionStatus
from volundr.domain.workspaces import (
    LIVE_WORKSPACE_STATUSES,
    Workspace,
    WorkspaceStatus,
)
from volundr.ports import SessionStore, WorkspaceQuery
from volundr.services.sessions import SessionService
from volundr.services.workspace_ledger import SIZE_REFRESH, WorkspaceLedger
from volundr.services.workspaces import WorkspaceService

log = logging.getLogger("volundr.retention")


@dataclass(frozen=True)
class RetentionPolicy:
    archive_stopped_after: timedelta | None = None
    delete_archived_after: timedelta | None = None
    interval_s: float = 3600.0


@dataclass
class RetentionReport:
    sessions_archived: int = 0
    workspaces_archived: int = 0
    workspaces_deleted: int = 0
    bytes_freed: int = 0
    sizes_measured: int = 0


class Retention:
    def __init__(
        self, *, store: SessionStore, sessions: SessionService, workspaces: WorkspaceService,
        ledger: WorkspaceLedger, policy: RetentionPolicy,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._workspaces = workspaces
        self._ledger = ledger
        self._policy = policy
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="workspace-retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> RetentionReport:
        """One enforcement round."""
        report = RetentionReport()
        if self._policy.archive_stopped_after is not None:
            await self._archive(self._policy.archive_stopped_after, report)
        if self._policy.delete_archived_after is not None:
            await self._delete(self._policy.delete_archived_after, report)
        await self._measure(report)
        if report.sessions_archived or report.workspaces_archived or report.workspaces_deleted:
            log.info(
                "retention: archived %d session(s) and %d workspace(s), deleted %d "
                "workspace(s) (%d bytes freed)", report.sessions_archived,
                report.workspaces_archived, report.workspaces_deleted, report.bytes_freed,
            )  # fmt: skip
        return report

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("retention round failed")
            await asyncio.sleep(self._policy.interval_s)

    async def _archive(self, age: timedelta, report: RetentionReport) -> None:
        cutoff = utcnow() - age
        async with self._store.reader() as tx:
            stopped = await tx.sessions_in(frozenset({SessionStatus.STOPPED}))
        for session in stopped:
            if session.updated_at >= cutoff:
                continue
            owner = Principal(session.owner_id, session.tenant_id, roles=(Role.ADMIN,))
            try:
                await self._sessions.archive(owner, session.id)
            except VolundrError as exc:
                log.info("retention: session %s not archived: %s", session.id, exc.message)
                continue
            report.sessions_archived += 1
            log.info("retention: archived session %s (stopped since %s)", session.id,
                     session.updated_at.isoformat())
        active = await self._list(
            WorkspaceQuery(None, statuses=frozenset({WorkspaceStatus.ACTIVE}))
        )
        for workspace in active:
            if await self._archive_workspace(workspace, cutoff):
                report.workspaces_archived += 1

    async def _archive_workspace(self, workspace: Workspace, cutoff: datetime) -> bool:
        async with self._store.transaction() as tx:
            session = await tx.get_session(workspace.session_id)
            if session is not None and session.status.is_active:
                return False
            ended = session.updated_at if session else workspace.archived_at
            if (ended or workspace.created_at) >= cutoff:
                return False
            workspace.status = WorkspaceStatus.ARCHIVED
            workspace.archived_at = utcnow()
            won = await tx.update_workspace(workspace, WorkspaceStatus.ACTIVE)
        if won:
            log.info("retention: archived workspace of session %s", workspace.session_id)
            self._ledger.measure_soon(workspace)
        return won

    async def _delete(self, age: timedelta, report: RetentionReport) -> None:
        old = await self._list(WorkspaceQuery(None, archived_before=utcnow() - age))
        for workspace in old:
            try:
                await self._workspaces.remove_unscoped(workspace)
            except VolundrError as exc:
                log.info("retention: workspace of session %s kept: %s", workspace.session_id,
                         exc.message)
                continue
            report.workspaces_deleted += 1
            report.bytes_freed += workspace.size_bytes or 0
            log.info("retention: deleted workspace of session %s (archived since %s)",
                     workspace.session_id,
                     workspace.archived_at.isoformat() if workspace.archived_at else "?")

    async def _measure(self, report: RetentionReport) -> None:
        stale = await self._list(
            WorkspaceQuery(None, statuses=LIVE_WORKSPACE_STATUSES,
                           measured_before=utcnow() - SIZE_REFRESH)
        )  # fmt: skip
        for workspace in stale:
            try:
                await self._ledger.measure(workspace)
            except Exception:
                log.warning("retention: could not measure workspace of session %s",
                            workspace.session_id, exc_info=True)
                continue
            report.sizes_measured += 1

    async def _list(self, query: WorkspaceQuery) -> list[Workspace]:
        async with self._store.reader() as tx:
            return await tx.list_workspaces(query)
