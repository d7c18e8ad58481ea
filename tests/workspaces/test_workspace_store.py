"""Workspace records in the SQL store (SQLite, or PostgreSQL with VOLUNDR_TEST_DB_URL)."""

from __future__ import annotations

from datetime import timedelta

from volundr.domain.clock import new_id, utcnow
from volundr.domain.workspaces import LIVE_WORKSPACE_STATUSES, Workspace, WorkspaceStatus
from volundr.ports import WorkspaceQuery
from volundr.store.sql import SqlStore

A, R, D = WorkspaceStatus.ACTIVE, WorkspaceStatus.ARCHIVED, WorkspaceStatus.DELETED


def record(session_id: str, status: WorkspaceStatus = A, **fields: object) -> Workspace:
    values: dict[str, object] = {
        "id": new_id(), "session_id": session_id, "user_id": "alice", "tenant_id": "t1",
        "status": status, "created_at": utcnow(),
    }  # fmt: skip
    values.update(fields)
    return Workspace(**values)  # type: ignore[arg-type]


async def test_live_and_latest_records_of_a_session(store: SqlStore) -> None:
    sid = new_id()
    old = record(sid, D, created_at=utcnow() - timedelta(hours=1), deleted_at=utcnow())
    live = record(sid, R, archived_at=utcnow(), size_bytes=123, session_name="s",
                  source_url="https://x/y.git", source_ref="main", path="/w")
    async with store.transaction() as tx:
        await tx.insert_workspace(old)
        assert await tx.live_workspace(sid) is None
        assert await tx.latest_workspace(sid) == old
        await tx.insert_workspace(live)
    async with store.reader() as tx:
        assert await tx.live_workspace(sid) == live
        assert await tx.latest_workspace(sid) == live
        assert await tx.live_workspace(new_id()) is None


async def test_updates_are_a_compare_and_set_on_the_status(store: SqlStore) -> None:
    workspace = record(new_id())
    async with store.transaction() as tx:
        await tx.insert_workspace(workspace)
        workspace.status = R
        assert await tx.update_workspace(workspace, A) is True
        workspace.status = D
        assert await tx.update_workspace(workspace, A) is False  # it is archived now
        stored = await tx.live_workspace(workspace.session_id)
    assert stored is not None and stored.status is R


async def test_sizes_usage_and_queries(store: SqlStore) -> None:
    now = utcnow()
    mine = [record(new_id(), A, size_bytes=100, size_measured_at=now),
            record(new_id(), R, size_bytes=50, archived_at=now - timedelta(days=9)),
            record(new_id(), D, size_bytes=None)]
    others = [record(new_id(), A, user_id="bob", size_bytes=7),
              record(new_id(), A, tenant_id="t2", size_bytes=9)]
    async with store.transaction() as tx:
        for workspace in [*mine, *others]:
            await tx.insert_workspace(workspace)
        await tx.set_workspace_size(mine[2].id, 999, now)  # deleted: ignored
        await tx.set_workspace_size(mine[1].id, 60, now)
    async with store.reader() as tx:
        assert await tx.workspace_usage("t1", "alice") == 160
        assert await tx.workspace_usage("t1", "nobody") == 0
        own = await tx.list_workspaces(WorkspaceQuery("t1", "alice", LIVE_WORKSPACE_STATUSES))
        assert {w.id for w in own} == {mine[0].id, mine[1].id}
        tenant = await tx.list_workspaces(WorkspaceQuery("t1"))
        assert len(tenant) == 4
        assert [w.created_at for w in tenant] == sorted((w.created_at for w in tenant),
                                                        reverse=True)
        week = now - timedelta(days=7)
        old = await tx.list_workspaces(WorkspaceQuery(None, archived_before=week))
        assert [w.id for w in old] == [mine[1].id]
        stale = await tx.list_workspaces(
            WorkspaceQuery(None, statuses=LIVE_WORKSPACE_STATUSES,
                           measured_before=now - timedelta(seconds=1))
        )  # fmt: skip
        assert {w.id for w in stale} == {others[0].id, others[1].id}
