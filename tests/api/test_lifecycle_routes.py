"""Lifecycle endpoints through HTTP (API §3, §4.5–§4.10): guards, races, side effects."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.app_fixtures import LiveServer, LiveServerFactory
from volundr.domain.errors import RuntimeFailure
from volundr.ports import Launched, LaunchSpec
from volundr.runtime.fake import InstantRuntime, NeverReadyRuntime, SlowRuntime
from volundr.store.tables import session_events as session_events_table

STATUSES = ["created", "starting", "provisioning", "running", "stopping", "stopped", "failed",
            "archived"]


class UnstoppableRuntime(InstantRuntime):
    """Launches and becomes ready, but its processes survive every kill."""

    async def stop(self, state: dict[str, Any], *, grace_s: float) -> None:
        raise RuntimeFailure("2 processes survived SIGKILL")


class SlowLaunchRuntime(InstantRuntime):
    """Takes 0.3 s to launch a host (a pod being scheduled)."""

    async def start(self, spec: LaunchSpec) -> Launched:
        await asyncio.sleep(0.3)
        return await super().start(spec)


class SlowStopRuntime(InstantRuntime):
    """Takes 0.3 s to stop a host (its grace period)."""

    async def stop(self, state: dict[str, Any], *, grace_s: float) -> None:
        await asyncio.sleep(0.3)
        await super().stop(state, grace_s=grace_s)


async def running_session(server: LiveServer, wait_for_status: Any, name: str = "a") -> str:
    created = await server.api.post("/sessions", json={"name": name})
    assert created.status_code == 201
    sid: str = created.json()["id"]
    await wait_for_status(server.api, sid, "running")
    return sid


async def stopped_session(server: LiveServer, wait_for_status: Any, name: str = "a") -> str:
    sid = await running_session(server, wait_for_status, name)
    assert (await server.api.post(f"/sessions/{sid}/stop")).status_code == 200
    return sid


# ------------------------------------------------------------------ guards, every pair


ALLOWED = {
    "start": {"created": "starting", "stopped": "starting", "failed": "starting"},
    "stop": {"starting": "stopped", "provisioning": "stopped", "running": "stopped"},
    "archive": {
        "created": "archived", "stopped": "archived", "failed": "archived",
        "starting": "archived", "provisioning": "archived", "running": "archived",
    },
    "restore": {"archived": "stopped"},
}


async def test_every_operation_from_every_status_follows_the_guards(
    server: LiveServer, wait_for_status: Any
) -> None:
    # a refused operation changes nothing, so one session serves every 409 case
    refused = await running_session(server, wait_for_status, "refused")
    for operation, allowed in ALLOWED.items():
        for status in STATUSES:
            if status in allowed:
                continue
            await server.force_status(refused, status)
            response = await server.api.post(f"/sessions/{refused}/{operation}")
            assert response.status_code == 409, (operation, status, response.text)
            assert response.json() == {
                "detail": f"Cannot {operation} session {refused}: current status is {status}"
            }
            assert (await server.api.get(f"/sessions/{refused}")).json()["status"] == status

    for operation, allowed in ALLOWED.items():
        for status, expected in allowed.items():
            sid = await stopped_session(server, wait_for_status, name=f"{operation}-{status}")
            await server.force_status(sid, status)
            response = await server.api.post(f"/sessions/{sid}/{operation}")
            assert response.status_code == 200, (operation, status, response.text)
            assert response.json()["status"] == expected, (operation, status)


# ------------------------------------------------------------------ stop


async def test_stop_is_synchronous_and_keeps_the_pod_name(
    server: LiveServer, wait_for_status: Any, session_events: Any
) -> None:
    sid = await running_session(server, wait_for_status)
    running = (await server.api.get(f"/sessions/{sid}")).json()
    response = await server.api.post(f"/sessions/{sid}/stop")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "stopped"
    assert (body["chat_endpoint"], body["code_endpoint"]) == (None, None)
    assert body["pod_name"] == running["pod_name"] is not None
    assert body["activity_state"] is None and body["activity_metadata"] == {}
    assert server.fake.stopped == [sid]
    assert (await session_events(server, sid))[-2:] == [
        ("running", "stopping", None), ("stopping", "stopped", None),
    ]


async def test_a_session_stopped_while_provisioning_never_reaches_running(
    live_server: LiveServerFactory, wait_for_status: Any, session_events: Any
) -> None:
    live = await live_server(runtime=SlowRuntime(delay_s=0.2))
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "provisioning")
    stopped = await live.api.post(f"/sessions/{sid}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    await asyncio.sleep(0.3)
    assert (await live.api.get(f"/sessions/{sid}")).json()["status"] == "stopped"
    assert "running" not in [to for _, to, _ in await session_events(live, sid)]


async def test_a_runtime_that_cannot_be_stopped_is_502_and_fails_the_session(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(runtime=UnstoppableRuntime())
    sid = await running_session(live, wait_for_status)
    response = await live.api.post(f"/sessions/{sid}/stop")
    assert response.status_code == 502
    assert response.json() == {
        "detail": f"Failed to stop session {sid}: 2 processes survived SIGKILL"
    }
    failed = (await live.api.get(f"/sessions/{sid}")).json()
    assert failed["status"] == "failed"
    assert failed["error"] == "Stop failed: 2 processes survived SIGKILL"

    other = await running_session(live, wait_for_status, "b")
    archive = await live.api.post(f"/sessions/{other}/archive")
    assert archive.status_code == 502
    left = (await live.api.get(f"/sessions/{other}")).json()
    assert (left["status"], left["archived_at"]) == ("failed", None)

    third = await running_session(live, wait_for_status, "c")
    assert (await live.api.delete(f"/sessions/{third}")).status_code == 204
    assert (await live.api.get(f"/sessions/{third}")).status_code == 404


async def test_a_stop_during_the_launch_kills_what_was_launched(
    live_server: LiveServerFactory, session_events: Any
) -> None:
    live = await live_server(runtime=SlowLaunchRuntime())
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    response = await live.api.post(f"/sessions/{sid}/stop")
    assert response.status_code == 200 and response.json()["status"] == "stopped"
    assert live.fake.launched == [sid]
    assert live.fake.stopped == [sid]
    assert (await live.api.get(f"/sessions/{sid}")).json()["status"] == "stopped"
    assert [to for _, to, _ in await session_events(live, sid)] == [
        "created", "starting", "stopping", "stopped",
    ]


async def test_a_delete_during_a_stop_lets_the_stop_finish(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(runtime=SlowStopRuntime())
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "running")

    async def delete_soon() -> httpx.Response:
        await asyncio.sleep(0.1)
        return await live.api.delete(f"/sessions/{sid}")

    stop, delete = await asyncio.gather(live.api.post(f"/sessions/{sid}/stop"), delete_soon())
    assert (stop.status_code, stop.json()["status"]) == (200, "stopped")
    assert delete.status_code == 204
    assert live.fake.stopped == [sid]
    assert (await live.api.get(f"/sessions/{sid}")).status_code == 404


# ------------------------------------------------------------------ races


def one_winner(responses: list[httpx.Response], operation: str, sid: str) -> httpx.Response:
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["detail"].startswith(f"Cannot {operation} session {sid}: current status ")
    return next(r for r in responses if r.status_code == 200)


@pytest.mark.parametrize("slow", [False, True], ids=["instant", "slow"])
async def test_two_concurrent_stops_give_one_200_and_one_409(
    live_server: LiveServerFactory, wait_for_status: Any, slow: bool
) -> None:
    live = await live_server(runtime=SlowRuntime(delay_s=5) if slow else InstantRuntime())
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "provisioning" if slow else "running")
    responses = await asyncio.gather(
        live.api.post(f"/sessions/{sid}/stop"), live.api.post(f"/sessions/{sid}/stop")
    )
    winner = one_winner(list(responses), "stop", sid)
    assert winner.json()["status"] == "stopped"
    assert live.fake.stopped == [sid]


@pytest.mark.parametrize("slow", [False, True], ids=["instant", "slow"])
async def test_two_concurrent_starts_give_one_200_and_one_409(
    live_server: LiveServerFactory, wait_for_status: Any, slow: bool
) -> None:
    live = await live_server(runtime=SlowRuntime(delay_s=0.2) if slow else InstantRuntime())
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "running")
    assert (await live.api.post(f"/sessions/{sid}/stop")).status_code == 200
    responses = await asyncio.gather(
        live.api.post(f"/sessions/{sid}/start"), live.api.post(f"/sessions/{sid}/start")
    )
    winner = one_winner(list(responses), "start", sid)
    assert winner.json()["status"] == "starting"
    await wait_for_status(live.api, sid, "running")
    assert live.fake.launched == [sid, sid]


async def test_many_concurrent_starts_launch_exactly_once(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(runtime=SlowRuntime(delay_s=0.2))
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "running")
    await live.api.post(f"/sessions/{sid}/stop")
    responses = await asyncio.gather(*[live.api.post(f"/sessions/{sid}/start") for _ in range(8)])
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    await wait_for_status(live.api, sid, "running")
    assert live.fake.launched.count(sid) == 2


# ------------------------------------------------------------------ start


async def test_start_accepts_no_body_an_empty_body_and_rejects_unknown_profiles(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = await stopped_session(server, wait_for_status)
    unknown = await server.api.post(f"/sessions/{sid}/start", json={"profile_name": "gpu"})
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "Unknown profile: gpu"}
    assert (await server.api.get(f"/sessions/{sid}")).json()["status"] == "stopped"
    started = await server.api.post(f"/sessions/{sid}/start", json={})
    assert started.status_code == 200 and started.json()["status"] == "starting"
    assert started.json()["pod_name"] is None and started.json()["code_endpoint"] is None
    ws_base = server.base_url.replace("http://", "ws://")
    assert started.json()["chat_endpoint"] == f"{ws_base}/s/{sid}/session"
    await wait_for_status(server.api, sid, "running")
    await server.api.post(f"/sessions/{sid}/stop")
    again = await server.api.post(f"/sessions/{sid}/start")
    assert again.status_code == 200


async def test_the_initial_prompt_goes_to_the_first_run_that_reaches_running_only(
    live_server: Any, wait_for_status: Any
) -> None:
    """A restarted agent resumes its work; it is not handed the original task again."""
    never_ready = await live_server(runtime=NeverReadyRuntime(), runtime_settings={
        "provision_timeout_s": 0.3})  # fmt: skip
    body = {"name": "task", "initial_prompt": "fix the bug"}
    sid = (await never_ready.api.post("/sessions", json=body)).json()["id"]
    await wait_for_status(never_ready.api, sid, "failed")
    assert never_ready.fake.specs[sid].prompt == "fix the bug"
    await never_ready.api.post(f"/sessions/{sid}/start")
    assert never_ready.fake.specs[sid].prompt == "fix the bug", "no run had it yet"

    server = await live_server()
    sid = (await server.api.post("/sessions", json=body)).json()["id"]
    await wait_for_status(server.api, sid, "running")
    assert server.fake.specs[sid].prompt == "fix the bug"
    await server.api.post(f"/sessions/{sid}/stop")
    await server.api.post(f"/sessions/{sid}/start")
    await wait_for_status(server.api, sid, "running")
    assert server.fake.specs[sid].prompt == ""


async def test_unknown_session_routes_are_404(server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    for method, path in [
        ("POST", "start"), ("POST", "stop"), ("POST", "archive"), ("PATCH", "archive"),
        ("POST", "restore"), ("PATCH", "restore"),
    ]:
        response = await server.api.request(method, f"/sessions/{missing}/{path}")
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": f"Session not found: {missing}"}
    response = await server.api.delete(f"/sessions/{missing}")
    assert response.json() == {"detail": f"Session not found: {missing}"}


# ------------------------------------------------------------------ archive, restore


async def test_archive_then_restore(server: LiveServer, wait_for_status: Any) -> None:
    for method in ("POST", "PATCH"):
        await archive_then_restore(server, wait_for_status, method)


async def archive_then_restore(server: LiveServer, wait_for_status: Any, method: str) -> None:
    sid = await stopped_session(server, wait_for_status)
    archived = await server.api.request(method, f"/sessions/{sid}/archive")
    assert archived.status_code == 200
    body = archived.json()
    assert body["status"] == "archived"
    assert body["archived_at"] is not None and body["archived_at"].endswith("+00:00")
    assert (body["pod_name"], body["chat_endpoint"], body["code_endpoint"]) == (None, None, None)
    again = await server.api.request(method, f"/sessions/{sid}/archive")
    assert again.status_code == 409
    assert again.json() == {"detail": f"Cannot archive session {sid}: current status is archived"}

    restored = await server.api.request(method, f"/sessions/{sid}/restore")
    assert restored.status_code == 200
    assert (restored.json()["status"], restored.json()["archived_at"]) == ("stopped", None)
    twice = await server.api.request(method, f"/sessions/{sid}/restore")
    assert twice.status_code == 409
    assert twice.json() == {"detail": f"Cannot restore session {sid}: current status is stopped"}


async def test_archiving_a_running_session_stops_it_first(
    server: LiveServer, wait_for_status: Any, session_events: Any
) -> None:
    sid = await running_session(server, wait_for_status)
    response = await server.api.post(f"/sessions/{sid}/archive")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "archived"
    assert (body["pod_name"], body["chat_endpoint"], body["code_endpoint"]) == (None, None, None)
    assert server.fake.stopped == [sid]
    assert (await session_events(server, sid))[-3:] == [
        ("running", "stopping", None), ("stopping", "stopped", None),
        ("stopped", "archived", None),
    ]


async def test_archive_of_created_and_failed_sessions(
    server: LiveServer, wait_for_status: Any
) -> None:
    for status in ("created", "failed"):
        sid = await stopped_session(server, wait_for_status, name=status)
        await server.force_status(sid, status)
        response = await server.api.post(f"/sessions/{sid}/archive")
        assert response.status_code == 200
        assert response.json()["status"] == "archived"


async def test_archive_stopped_archives_only_stopped_sessions(
    server: LiveServer, wait_for_status: Any
) -> None:
    assert (await server.api.post("/sessions/archive-stopped")).json() == []
    stopped = [await stopped_session(server, wait_for_status, f"stopped{i}") for i in range(2)]
    running = await running_session(server, wait_for_status, "running")
    failed = await stopped_session(server, wait_for_status, "failed")
    await server.force_status(failed, "failed", error="boom")
    before = {
        sid: (await server.api.get(f"/sessions/{sid}")).json() for sid in (running, failed)
    }

    response = await server.api.post("/sessions/archive-stopped")
    assert response.status_code == 200
    assert sorted(response.json()) == sorted(stopped)
    for sid in stopped:
        body = (await server.api.get(f"/sessions/{sid}")).json()
        assert body["status"] == "archived" and body["archived_at"] is not None
    for sid, body in before.items():
        assert (await server.api.get(f"/sessions/{sid}")).json() == body
    assert (await server.api.post("/sessions/archive-stopped")).json() == []


# ------------------------------------------------------------------ delete


async def count_events(server: LiveServer, sid: str) -> int:
    table = session_events_table
    async with server.store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(table.c.session_id == sid)
        return int((await conn.execute(query)).scalar_one())


async def test_delete_removes_the_session_and_its_events(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = await stopped_session(server, wait_for_status)
    kept = await stopped_session(server, wait_for_status, "kept")
    assert await count_events(server, sid) > 0
    response = await server.api.delete(f"/sessions/{sid}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await server.api.get(f"/sessions/{sid}")).status_code == 404
    assert await count_events(server, sid) == 0
    assert await count_events(server, kept) > 0
    again = await server.api.delete(f"/sessions/{sid}")
    assert again.status_code == 404
    assert again.json() == {"detail": f"Session not found: {sid}"}
    assert [s["id"] for s in (await server.api.get("/sessions")).json()] == [kept]


async def test_deleting_an_active_session_stops_its_runtime_first(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = await running_session(server, wait_for_status)
    assert (await server.api.delete(f"/sessions/{sid}")).status_code == 204
    assert server.fake.stopped == [sid]
    assert server.fake.removed == []


async def test_deleting_a_provisioning_session_stops_its_runtime(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(runtime=SlowRuntime(delay_s=5))
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "provisioning")
    assert (await live.api.delete(f"/sessions/{sid}")).status_code == 204
    assert live.fake.stopped == [sid]
    assert (await live.api.get(f"/sessions/{sid}")).status_code == 404


async def test_delete_with_cleanup_options(server: LiveServer, wait_for_status: Any) -> None:
    sid = await running_session(server, wait_for_status)
    response = await server.api.request(
        "DELETE", f"/sessions/{sid}", json={"cleanup": ["workspace_storage"]}
    )
    assert response.status_code == 204
    assert server.fake.removed == [sid]

    bodies: list[dict[str, Any]] = [{"cleanup": []}, {"cleanup": ["chronicles"]}, {}]
    for body in bodies:
        other = await stopped_session(server, wait_for_status, "other")
        response = await server.api.request("DELETE", f"/sessions/{other}", json=body)
        assert response.status_code == 204, body
    assert server.fake.removed == [sid]


async def test_an_unknown_cleanup_value_is_a_422_list_and_deletes_nothing(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = await stopped_session(server, wait_for_status)
    for body in ({"cleanup": ["everything"]}, {"cleanup": "workspace_storage"}):
        response = await server.api.request("DELETE", f"/sessions/{sid}", json=body)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail[0]["loc"][:2] == ["body", "cleanup"]
    assert (await server.api.get(f"/sessions/{sid}")).status_code == 200
