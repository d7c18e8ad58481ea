"""Retention (off by default): archive old stopped sessions, delete old archived
workspaces, and refuse new sessions over a user's disk quota."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.workspaces.helpers import create, files_server, session_dir
from volundr.domain.clock import utcnow
from volundr.domain.workspaces import WorkspaceStatus

WaitFor = Any


async def stopped(live: LiveServer, wait_for_status: WaitFor, name: str) -> str:
    sid = await create(live.api, name)
    await wait_for_status(live.api, sid, "running")
    assert (await live.api.post(f"/sessions/{sid}/stop")).status_code == 200
    return sid


async def age_workspace(live: LiveServer, sid: str, days: float) -> None:
    async with live.store.transaction() as tx:
        workspace = await tx.live_workspace(sid)
        assert workspace is not None
        workspace.archived_at = utcnow() - timedelta(days=days)
        assert await tx.update_workspace(workspace, workspace.status)


async def test_retention_is_off_by_default(server: LiveServer) -> None:
    assert server.settings.workspaces.retention_enabled is False
    assert server.app.state.retention._task is None


async def test_old_stopped_sessions_and_old_archived_workspaces_are_handled(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: WaitFor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = await files_server(
        live_server, tmp_path,
        workspaces={"archive_stopped_after_days": 2, "delete_archived_after_days": 7},
    )  # fmt: skip
    old, recent, expired = [
        await stopped(live, wait_for_status, name) for name in ("old", "recent", "expired")
    ]
    await live.force_status(old, "stopped", updated_at=utcnow() - timedelta(days=3))
    await age_workspace(live, expired, days=8)
    await age_workspace(live, recent, days=6)
    (session_dir(live, expired) / "logs").mkdir(parents=True)

    with caplog.at_level(logging.INFO, logger="volundr.retention"):
        report = await live.app.state.retention.run_once()

    assert report.sessions_archived == 1 and report.workspaces_deleted == 1
    statuses = {sid: (await live.api.get(f"/sessions/{sid}")).json()["status"]
                for sid in (old, recent, expired)}
    assert statuses == {old: "archived", recent: "stopped", expired: "stopped"}
    assert (await live.api.get(f"/workspaces/{expired}")).status_code == 404
    assert (await live.api.get(f"/workspaces/{recent}")).json()["status"] == "archived"
    assert not session_dir(live, expired).exists()
    assert f"deleted workspace of session {expired}" in caplog.text
    assert f"archived session {old}" in caplog.text


async def test_a_restored_workspace_of_an_old_session_is_archived_again(
    live_server: LiveServerFactory, wait_for_status: WaitFor
) -> None:
    live = await live_server(workspaces={"archive_stopped_after_days": 1})
    sid = await stopped(live, wait_for_status, "s")
    await live.api.post(f"/workspaces/{sid}/restore")
    await live.force_status(sid, "failed", updated_at=utcnow() - timedelta(days=2))
    report = await live.app.state.retention.run_once()
    assert report.workspaces_archived == 1
    assert (await live.api.get(f"/workspaces/{sid}")).json()["status"] == "archived"


async def test_a_user_over_quota_cannot_create_sessions(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: WaitFor
) -> None:
    live = await files_server(live_server, tmp_path, workspaces={"user_quota_bytes": 100_000})
    sid = await create(live.api, "big")
    await wait_for_status(live.api, sid, "running")
    (session_dir(live, sid) / "workspace").mkdir(parents=True)
    (session_dir(live, sid) / "workspace" / "blob").write_bytes(b"x" * 200_000)
    await live.api.post(f"/sessions/{sid}/stop")
    async with live.store.reader() as tx:
        workspace = await tx.live_workspace(sid)
    assert workspace is not None
    assert await live.app.state.workspaces._ledger.measure(workspace) >= 200_000

    refused = await live.api.post("/sessions", json={"name": "more"})
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail.startswith("Disk quota exceeded for user local: workspaces use ")
    assert detail.endswith("of 100000 bytes; delete workspaces to create new sessions")
    assert [s["id"] for s in (await live.api.get("/sessions")).json()] == [sid]
    # a restart of an existing session is not a new session
    assert (await live.api.post(f"/sessions/{sid}/start")).status_code == 200
    await wait_for_status(live.api, sid, "running")
    await live.api.post(f"/sessions/{sid}/stop")

    assert (await live.api.delete(f"/workspaces/{sid}")).status_code == 204
    assert (await live.api.post("/sessions", json={"name": "more"})).status_code == 201


async def test_sizes_are_refreshed_by_the_retention_round(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: WaitFor
) -> None:
    live = await files_server(live_server, tmp_path, workspaces={"user_quota_bytes": 10**12})
    sid = await create(live.api, "grow")
    await wait_for_status(live.api, sid, "running")
    (session_dir(live, sid) / "workspace").mkdir(parents=True)
    (session_dir(live, sid) / "workspace" / "blob").write_bytes(b"x" * 64_000)
    report = await live.app.state.retention.run_once()
    assert report.sizes_measured >= 1
    async with live.store.reader() as tx:
        workspace = await tx.live_workspace(sid)
    assert workspace is not None and workspace.status is WorkspaceStatus.ACTIVE
    assert (workspace.size_bytes or 0) >= 64_000
