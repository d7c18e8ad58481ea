"""The workspace part of `StoreTx` (API §9) for SqlTx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from volundr.domain.workspaces import LIVE_WORKSPACE_STATUSES, Workspace, WorkspaceStatus
from volundr.ports import WorkspaceQuery
from volundr.store.tables import workspaces

_LIVE = [s.value for s in LIVE_WORKSPACE_STATUSES]


class WorkspaceSqlMixin:
    """Workspace records for SqlTx (which provides `_conn`)."""

    _conn: AsyncConnection

    async def live_workspace(self, session_id: str) -> Workspace | None:
        return await self._first(
            select(workspaces).where(
                workspaces.c.session_id == session_id, workspaces.c.status.in_(_LIVE)
            )
        )

    async def latest_workspace(self, session_id: str) -> Workspace | None:
        return await self._first(
            select(workspaces)
            .where(workspaces.c.session_id == session_id)
            .order_by(workspaces.c.created_at.desc(), workspaces.c.id.desc())
        )

    async def insert_workspace(self, workspace: Workspace) -> None:
        await self._conn.execute(insert(workspaces), _to_row(workspace))

    async def update_workspace(
        self, workspace: Workspace, expected_status: WorkspaceStatus
    ) -> bool:
        values = _to_row(workspace)
        values["match_id"] = values.pop("id")
        values["match_status"] = expected_status.value
        result = await self._conn.execute(
            update(workspaces).where(
                workspaces.c.id == bindparam("match_id"),
                workspaces.c.status == bindparam("match_status"),
            ),
            values,
        )
        return bool(result.rowcount == 1)

    async def set_workspace_size(
        self, workspace_id: str, size_bytes: int | None, measured_at: datetime
    ) -> None:
        await self._conn.execute(
            update(workspaces)
            .where(
                workspaces.c.id == workspace_id,
                workspaces.c.status != WorkspaceStatus.DELETED.value,
            )
            .values(size_bytes=size_bytes, size_measured_at=measured_at)
        )

    async def list_workspaces(self, query: WorkspaceQuery) -> list[Workspace]:
        stmt = select(workspaces)
        if query.tenant_id is not None:
            stmt = stmt.where(workspaces.c.tenant_id == query.tenant_id)
        if query.user_id is not None:
            stmt = stmt.where(workspaces.c.user_id == query.user_id)
        if query.statuses:
            stmt = stmt.where(workspaces.c.status.in_([s.value for s in query.statuses]))
        if query.archived_before is not None:
            stmt = stmt.where(
                workspaces.c.status == WorkspaceStatus.ARCHIVED.value,
                workspaces.c.archived_at < query.archived_before,
            )
        if query.measured_before is not None:
            stmt = stmt.where(
                or_(
                    workspaces.c.size_measured_at.is_(None),
                    workspaces.c.size_measured_at < query.measured_before,
                )
            )
        stmt = stmt.order_by(workspaces.c.created_at.desc(), workspaces.c.id.desc())
        rows = (await self._conn.execute(stmt)).mappings().all()
        return [_from_row(r) for r in rows]

    async def workspace_usage(self, tenant_id: str, user_id: str) -> int:
        total = await self._conn.scalar(
            select(func.coalesce(func.sum(workspaces.c.size_bytes), 0)).where(
                and_(
                    workspaces.c.tenant_id == tenant_id,
                    workspaces.c.user_id == user_id,
                    workspaces.c.status.in_(_LIVE),
                )
            )
        )
        return int(total or 0)

    async def _first(self, stmt: Any) -> Workspace | None:
        row = (await self._conn.execute(stmt.limit(1))).mappings().first()
        return _from_row(row) if row else None


def _to_row(w: Workspace) -> dict[str, Any]:
    return {
        "id": w.id,
        "session_id": w.session_id,
        "user_id": w.user_id,
        "tenant_id": w.tenant_id,
        "status": w.status.value,
        "path": w.path,
        "size_bytes": w.size_bytes,
        "size_measured_at": w.size_measured_at,
        "created_at": w.created_at,
        "archived_at": w.archived_at,
        "deleted_at": w.deleted_at,
        "session_name": w.session_name,
        "source_url": w.source_url,
        "source_ref": w.source_ref,
    }


def _from_row(row: RowMapping) -> Workspace:
    return Workspace(
        id=row["id"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        tenant_id=row["tenant_id"],
        status=WorkspaceStatus(row["status"]),
        created_at=row["created_at"],
        path=row["path"],
        size_bytes=row["size_bytes"],
        size_measured_at=row["size_measured_at"],
        archived_at=row["archived_at"],
        deleted_at=row["deleted_at"],
        session_name=row["session_name"],
        source_url=row["source_url"],
        source_ref=row["source_ref"],
    )
