"""Workspace use cases (API §9): list, get, restore, delete, bulk delete, admin views.

A workspace is visible to its owner and to admins of its tenant, also after its session
was deleted (its own `user_id`/`tenant_id` decide). `deleted` records are tombstones: only
lists filtered by `status=deleted` show them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from volundr.domain.errors import Forbidden, NotFound, VolundrError
from volundr.domain.models import Principal
from volundr.domain.workspaces import (
    LIVE_WORKSPACE_STATUSES,
    InvalidWorkspaceTransition,
    Workspace,
    WorkspaceBusy,
    WorkspaceNotFound,
    WorkspaceStatus,
)
from volundr.ports import Runtime, SessionStore, WorkspaceQuery
from volundr.services.locks import SessionLocks
from volundr.services.workspace_ledger import WorkspaceLedger, mark_deleted

log = logging.getLogger("volundr.workspaces")

MUTATOR_ROLES = "Requires one of: volundr:admin, volundr:developer"
ADMIN_ROLES = "Requires one of: volundr:admin"
NOT_OWNED = "Not found or not owned"
ACTIVE_SESSION = "Session is active"
INTERNAL_ERROR = "Internal error"
LIST_REFRESH = 50
"""A list queues a size refresh for at most its newest this many stale workspaces (the
retention task, when enabled, refreshes all of them)."""


@dataclass
class BulkResult:
    deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(session id, error) of each id that was not deleted, in request order."""


class WorkspaceService:
    def __init__(
        self, *, store: SessionStore, runtime: Runtime, ledger: WorkspaceLedger,
        locks: SessionLocks,
    ) -> None:
        """`locks` are the session service's: removing files never interleaves a start."""
        self._store = store
        self._runtime = runtime
        self._ledger = ledger
        self._locks = locks

    # ------------------------------------------------------------------ reads

    async def list_own(
        self, principal: Principal, status: WorkspaceStatus | None = None
    ) -> list[Workspace]:
        """The caller's own workspaces, newest first; default `active` and `archived`."""
        return await self._list(principal.tenant_id, principal.user_id, status)

    async def list_tenant(
        self, principal: Principal, user_id: str | None = None,
        status: WorkspaceStatus | None = None,
    ) -> list[Workspace]:
        """Admin view: every workspace of the tenant (or of `user_id`)."""
        if not principal.is_admin:
            raise Forbidden(ADMIN_ROLES)
        return await self._list(principal.tenant_id, user_id, status)

    async def get(self, principal: Principal, session_id: str) -> Workspace:
        workspace = await self._visible(principal, session_id)
        self._ledger.refresh_stale([workspace])
        return workspace

    async def latest(self, session_id: str) -> Workspace | None:
        """The session's newest record (tombstones included), unscoped."""
        async with self._store.reader() as tx:
            return await tx.latest_workspace(session_id)

    async def live(self, session_id: str) -> Workspace | None:
        """The session's active or archived record, unscoped."""
        async with self._store.reader() as tx:
            return await tx.live_workspace(session_id)

    # ------------------------------------------------------------------ changes

    async def restore(self, principal: Principal, session_id: str) -> Workspace:
        """`archived` → `active` (`archived_at` kept)."""
        workspace = await self._get_for_change(principal, session_id)
        if workspace.status is not WorkspaceStatus.ARCHIVED:
            raise InvalidWorkspaceTransition(session_id, "restore", workspace.status.value)
        workspace.status = WorkspaceStatus.ACTIVE
        async with self._store.transaction() as tx:
            won = await tx.update_workspace(workspace, WorkspaceStatus.ARCHIVED)
        if not won:
            current = await self._visible(principal, session_id)
            raise InvalidWorkspaceTransition(session_id, "restore", current.status.value)
        self._ledger.measure_soon(workspace)
        return workspace

    async def delete(self, principal: Principal, session_id: str) -> None:
        """Remove the files (workspace and logs), leave a `deleted` tombstone.

        WorkspaceBusy (409) while the session is active; RuntimeFailure (502) when the
        files cannot be removed.
        """
        workspace = await self._get_for_change(principal, session_id)
        await self._remove(workspace)

    async def bulk_delete(
        self, principal: Principal, session_ids: list[str], *, admin: bool = False
    ) -> BulkResult:
        """Each id handled as `delete`, independently. The admin variant (whole tenant)
        reports a missing one as `Not found`, the other as `Not found or not owned`."""
        if admin and not principal.is_admin:
            raise Forbidden(ADMIN_ROLES)
        if not principal.can_mutate:
            raise Forbidden(MUTATOR_ROLES)
        result = BulkResult()
        missing = "Not found" if admin else NOT_OWNED
        for session_id in session_ids:
            try:
                await self._remove(await self._visible(principal, session_id))
            except NotFound:
                result.failed.append((session_id, missing))
            except WorkspaceBusy:
                result.failed.append((session_id, ACTIVE_SESSION))
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, VolundrError) else logging.ERROR
                log.log(level, "bulk delete of workspace %s failed", session_id, exc_info=exc)
                result.failed.append((session_id, INTERNAL_ERROR))
            else:
                result.deleted += 1
        return result

    async def remove_unscoped(self, workspace: Workspace) -> None:
        """Delete as the system (retention): same checks as `delete`, no caller."""
        await self._remove(workspace)

    # ------------------------------------------------------------------ helpers

    async def _list(
        self, tenant_id: str, user_id: str | None, status: WorkspaceStatus | None
    ) -> list[Workspace]:
        statuses = frozenset({status}) if status is not None else LIVE_WORKSPACE_STATUSES
        query = WorkspaceQuery(tenant_id=tenant_id, user_id=user_id, statuses=statuses)
        async with self._store.reader() as tx:
            found = await tx.list_workspaces(query)
        live = [w for w in found if w.status is not WorkspaceStatus.DELETED]
        self._ledger.refresh_stale(live[:LIST_REFRESH])
        return found

    async def _visible(self, principal: Principal, session_id: str) -> Workspace:
        async with self._store.reader() as tx:
            workspace = await tx.live_workspace(session_id)
        if workspace is None or not principal.can_see(workspace.user_id, workspace.tenant_id):
            raise WorkspaceNotFound(session_id)
        return workspace

    async def _get_for_change(self, principal: Principal, session_id: str) -> Workspace:
        workspace = await self._visible(principal, session_id)
        if not principal.can_mutate:
            raise Forbidden(MUTATOR_ROLES)
        return workspace

    async def _remove(self, workspace: Workspace) -> None:
        """Under the session's lock (no start can interleave): WorkspaceNotFound when a
        concurrent delete won, WorkspaceBusy while the session is active."""
        session_id = workspace.session_id
        async with self._locks.hold(session_id):
            async with self._store.reader() as tx:
                session = await tx.get_session(session_id)
                if await tx.live_workspace(session_id) is None:
                    raise WorkspaceNotFound(session_id)
            if session is not None and session.status.is_active:
                raise WorkspaceBusy(session_id, session.status.value)
            await self._runtime.remove_workspace(session_id)
            async with self._store.transaction() as tx:
                current = await tx.live_workspace(session_id)
                if current is None:
                    return  # removed meanwhile
                expected = current.status
                mark_deleted(current)
                await tx.update_workspace(current, expected)
        log.info("workspace of session %s deleted", session_id)
