"""Workspace records follow their session (API §3.5, §9): active → archived → deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.workspaces.helpers import create, files_server, session_dir
from volundr.domain.lifecycle import Operation
from volundr.domain.models import Session, SessionStatus
from volundr.domain.workspaces import pvc_name
from volundr.runtime.fake import InstantRuntime
from volundr.services.transitions import Transitioner

WaitFor = Any


async def workspace(live: LiveServer, sid: str) -> dict[str, Any]:
    response = await live.api.get(f"/workspaces/{sid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def eventually_sized(live: LiveServer, sid: str) -> dict[str, Any]:
    for _ in range(200):
        body = await workspace(live, sid)
        if body["size_bytes"] is not None:
            return body
        await asyncio.sleep(0.01)
    pytest.fail("size_bytes was never measured")


async def test_active_at_provisioning_archived_when_stopped_deleted_on_delete(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: WaitFor
) -> None:
    live = await files_server(live_server, tmp_path)
    sid = await create(live.api, "life", source={"repo": "https://example.com/a/b.git",
                                                 "branch": "dev"})
    await wait_for_status(live.api, sid, "running")
    active = await workspace(live, sid)
    assert active == {
        **active,
        "session_id": sid, "user_id": "local", "tenant_id": "default",
        "pvc_name": pvc_name(sid), "status": "active", "size_gb": 1,
        "archived_at": None, "deleted_at": None, "session_name": "life",
        "source_url": "https://example.com/a/b.git", "source_ref": "dev",
        "path": str(session_dir(live, sid) / "workspace"),
    }  # fmt: skip
    assert active["created_at"].endswith("+00:00")

    busy = await live.api.delete(f"/workspaces/{sid}")
    assert busy.status_code == 409
    assert busy.json() == {
        "detail": f"Cannot delete workspace of session {sid}: session is running"
    }

    (session_dir(live, sid) / "workspace").mkdir(parents=True)
    (session_dir(live, sid) / "workspace" / "data.bin").write_bytes(b"x" * 50_000)
    assert (await live.api.post(f"/sessions/{sid}/stop")).status_code == 200
    archived = await eventually_sized(live, sid)
    assert archived["status"] == "archived" and archived["id"] == active["id"]
    assert archived["archived_at"] is not None and archived["size_bytes"] >= 50_000
    assert [w["session_id"] for w in (await live.api.get("/workspaces")).json()] == [sid]

    assert (await live.api.delete(f"/workspaces/{sid}")).status_code == 204
    assert sid in live.fake.removed and not session_dir(live, sid).exists()
    gone = await live.api.get(f"/workspaces/{sid}")
    assert gone.status_code == 404
    assert gone.json() == {"detail": f"Workspace not found for session {sid}"}
    assert (await live.api.get("/workspaces")).json() == []
    tombstones = (await live.api.get("/workspaces", params={"status": "deleted"})).json()
    assert [(w["session_id"], w["status"], w["size_bytes"]) for w in tombstones] == [
        (sid, "deleted", None)
    ]
    assert tombstones[0]["deleted_at"] is not None
    for method, path in [("POST", f"/workspaces/{sid}/restore"),
                         ("DELETE", f"/workspaces/{sid}")]:
        assert (await live.api.request(method, path)).status_code == 404


async def test_a_restart_reuses_an_archived_workspace_and_a_deleted_one_is_recreated(
    server: LiveServer, wait_for_status: WaitFor
) -> None:
    sid = await create(server.api)
    await wait_for_status(server.api, sid, "running")
    first = await workspace(server, sid)
    await server.api.post(f"/sessions/{sid}/stop")
    assert (await workspace(server, sid))["status"] == "archived"
    await server.api.post(f"/sessions/{sid}/start")
    await wait_for_status(server.api, sid, "running")
    reused = await workspace(server, sid)
    assert reused["id"] == first["id"] and reused["status"] == "active"
    assert reused["archived_at"] is not None  # kept: the last time it was archived

    await server.api.post(f"/sessions/{sid}/stop")
    assert (await server.api.delete(f"/workspaces/{sid}")).status_code == 204
    await server.api.post(f"/sessions/{sid}/start")
    await wait_for_status(server.api, sid, "running")
    fresh = await workspace(server, sid)
    assert fresh["id"] != first["id"] and fresh["status"] == "active"
    assert fresh["archived_at"] is None


async def test_restore_moves_archived_to_active_once(
    server: LiveServer, wait_for_status: WaitFor
) -> None:
    sid = await create(server.api)
    await wait_for_status(server.api, sid, "running")
    await server.api.post(f"/sessions/{sid}/stop")
    archived = await workspace(server, sid)
    restored = await server.api.post(f"/workspaces/{sid}/restore")
    assert restored.status_code == 200
    assert restored.json()["status"] == "active"
    assert restored.json()["archived_at"] == archived["archived_at"]
    again = await server.api.post(f"/workspaces/{sid}/restore")
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"Cannot restore workspace of session {sid}: current status is active"
    }


async def test_a_failed_run_archives_its_workspace(
    live_server: LiveServerFactory, wait_for_status: WaitFor
) -> None:
    live = await live_server()
    sid = await create(live.api)
    await wait_for_status(live.api, sid, "running")
    async with live.store.reader() as tx:
        running = await tx.get_session(sid)
    assert running is not None
    await live.fake.stop(running.runtime_state, grace_s=0)  # the runtime vanishes
    await live.app.state.supervisor.check_running()
    await wait_for_status(live.api, sid, "failed")
    assert (await workspace(live, sid))["status"] == "archived"


async def test_deleting_a_session_archives_or_removes_its_workspace(
    server: LiveServer, wait_for_status: WaitFor
) -> None:
    kept, removed = await create(server.api, "kept"), await create(server.api, "removed")
    for sid in (kept, removed):
        await wait_for_status(server.api, sid, "running")
    assert (await server.api.delete(f"/sessions/{kept}")).status_code == 204
    assert (
        await server.api.request("DELETE", f"/sessions/{removed}",
                                 json={"cleanup": ["workspace_storage"]})
    ).status_code == 204  # fmt: skip
    listed = (await server.api.get("/workspaces")).json()
    assert [(w["session_id"], w["status"], w["session_name"]) for w in listed] == [
        (kept, "archived", "kept")
    ]
    deleted = (await server.api.get("/workspaces", params={"status": "deleted"})).json()
    assert [w["session_id"] for w in deleted] == [removed]
    assert removed in server.fake.removed
    # the kept workspace outlives its session: it can still be deleted
    assert (await server.api.delete(f"/workspaces/{kept}")).status_code == 204


async def test_an_unknown_status_filter_is_a_schema_error(server: LiveServer) -> None:
    response = await server.api.get("/workspaces", params={"status": "gone"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]
    bad_id = await server.api.get("/workspaces/not-a-uuid")
    assert bad_id.status_code == 422 and isinstance(bad_id.json()["detail"], list)


async def test_a_failing_hook_rolls_the_transition_back(
    server: LiveServer, wait_for_status: WaitFor
) -> None:
    """Workspace writes share the transaction of the transition that causes them."""
    sid = await create(server.api)
    await wait_for_status(server.api, sid, "running")

    async def boom(*_args: object) -> None:
        raise RuntimeError("hook failed")

    broken = Transitioner(server.store, server.app.state.notifier, on_transition=[boom])
    with pytest.raises(RuntimeError, match="hook failed"):
        await broken.apply(sid, Operation.STOP)
    async with server.store.reader() as tx:
        session: Session | None = await tx.get_session(sid)
        live_ws = await tx.live_workspace(sid)
    assert session is not None and session.status is SessionStatus.RUNNING
    assert live_ws is not None and live_ws.status.value == "active"


class SlowRemovalRuntime(InstantRuntime):
    """Removing a workspace's files takes a while, as it does for a big clone."""

    async def remove_workspace(self, session_id: str) -> None:
        await asyncio.sleep(0.3)
        await super().remove_workspace(session_id)


async def test_a_start_during_a_workspace_delete_waits_and_gets_a_fresh_workspace(
    live_server: LiveServerFactory, wait_for_status: WaitFor
) -> None:
    live = await live_server(runtime=SlowRemovalRuntime())
    sid = await create(live.api)
    await wait_for_status(live.api, sid, "running")
    first = await workspace(live, sid)
    await live.api.post(f"/sessions/{sid}/stop")
    deleting = asyncio.create_task(live.api.delete(f"/workspaces/{sid}"))
    await asyncio.sleep(0.1)  # the removal is under way
    started = await live.api.post(f"/sessions/{sid}/start")
    assert started.status_code == 200, started.text
    assert (await deleting).status_code == 204
    await wait_for_status(live.api, sid, "running")
    fresh = await workspace(live, sid)  # never a running session with a deleted workspace
    assert fresh["id"] != first["id"] and fresh["status"] == "active"


async def test_concurrent_deletes_answer_one_204_and_404s_never_5xx(
    live_server: LiveServerFactory, wait_for_status: WaitFor
) -> None:
    live = await live_server(runtime=SlowRemovalRuntime())
    ids = [await create(live.api, f"d{i}") for i in range(2)]
    for sid in ids:
        await wait_for_status(live.api, sid, "running")
        await live.api.post(f"/sessions/{sid}/stop")
    workspace_deletes = [live.api.delete(f"/workspaces/{ids[0]}") for _ in range(4)]
    body = {"cleanup": ["workspace_storage"]}
    session_deletes = [
        live.api.request("DELETE", f"/sessions/{ids[1]}", json=body) for _ in range(4)
    ]
    answers = await asyncio.gather(*workspace_deletes, *session_deletes)
    codes = [a.status_code for a in answers]
    assert sorted(codes[:4]) == [204, 404, 404, 404], [a.text for a in answers[:4]]
    assert sorted(codes[4:]) == [204, 404, 404, 404], [a.text for a in answers[4:]]
