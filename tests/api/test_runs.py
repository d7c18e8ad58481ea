"""What happens during a run (API §3.2, §3.5, §3.6, §5.6): broadcasts, health, agent exits."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from tests.app_fixtures import LiveServer, LiveServerFactory
from volundr.store.tables import outbox


async def broadcasts(live: LiveServer, session_id: str) -> list[tuple[str, Any]]:
    """(event name, payload status or payload) of the session's outbox rows, in id order."""
    async with live.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.name, outbox.c.payload)
            .where(outbox.c.session_id == session_id)
            .order_by(outbox.c.id)
        )
        return [(name, payload.get("status", payload)) for name, payload in rows]


async def test_every_transition_and_change_is_broadcast_once(
    server: LiveServer, wait_for_status: Any
) -> None:
    created = (await server.api.post("/sessions", json={"name": "a"})).json()
    sid = created["id"]
    await wait_for_status(server.api, sid, "running")
    await server.api.put(f"/sessions/{sid}", json={"name": "b"})
    await server.api.post(f"/sessions/{sid}/archive")
    await server.api.post(f"/sessions/{sid}/restore")
    await server.api.delete(f"/sessions/{sid}")
    assert await broadcasts(server, sid) == [
        ("session_created", "created"),
        ("session_updated", "starting"),
        ("session_updated", "provisioning"),
        ("session_updated", "running"),
        ("session_updated", "running"),  # PUT
        ("session_updated", "stopping"),
        ("session_updated", "stopped"),
        ("chronicle_created", "complete"),  # the run ended (API §8.2)
        ("session_updated", "archived"),
        ("session_updated", "stopped"),  # restore
        ("session_deleted", {"id": sid}),
    ]


async def test_the_broadcast_payload_is_the_session_object(
    server: LiveServer, wait_for_status: Any
) -> None:
    created = (await server.api.post("/sessions", json={"name": "a"})).json()
    running = await wait_for_status(server.api, created["id"], "running")
    async with server.store.engine.connect() as conn:
        payloads = [
            row[0]
            for row in await conn.execute(
                sa.select(outbox.c.payload)
                .where(outbox.c.session_id == created["id"])
                .order_by(outbox.c.id)
            )
        ]
    assert payloads[1] == created  # the starting object, exactly as the 201 returned it
    assert payloads[-1] == running


async def test_a_vanished_runtime_fails_its_running_session(
    live_server: LiveServerFactory, wait_for_status: Any, session_events: Any
) -> None:
    live = await live_server(runtime_settings={"health_interval_s": 0.05})
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "running")
    async with live.store.reader() as tx:
        session = await tx.get_session(sid)
    assert session is not None
    await live.runtime.stop(session.runtime_state, grace_s=0)  # the host dies on its own
    failed = await wait_for_status(live.api, sid, "failed", timeout=3)
    assert failed["error"] == "Runtime exited unexpectedly: fake runtime stopped"
    assert failed["chat_endpoint"] is None and failed["code_endpoint"] is None
    assert (await session_events(live, sid))[-1] == ("running", "failed", failed["error"])


async def report(
    live: LiveServer, sid: str, body: dict[str, Any], authorization: str | None = None
) -> httpx.Response:
    """POST a host callback, authenticated by default with the run's own token."""
    token = live.fake.specs[sid].token
    return await live.api.post(
        f"/sessions/{sid}/runtime/report",
        json=body,
        headers={"Authorization": authorization or f"Bearer {token}"},
    )


async def test_agent_exits_under_stop_on_exit(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    templates = {"oneshot": {"kind": "command", "command": ["true"], "stop_on_exit": True}}
    live = await live_server(agents={"templates": templates})
    clean = (await live.api.post("/sessions", json={"name": "a", "agent": "oneshot"})).json()
    crash = (await live.api.post("/sessions", json={"name": "b", "agent": "oneshot"})).json()
    for sid in (clean["id"], crash["id"]):
        await wait_for_status(live.api, sid, "running")

    response = await report(live, clean["id"], {"phase": "agent_exited", "exit_code": 0})
    assert response.status_code == 204
    stopped = await wait_for_status(live.api, clean["id"], "stopped")
    assert stopped["chat_endpoint"] is None and stopped["error"] is None

    await report(live, crash["id"], {"phase": "agent_exited", "exit_code": 3})
    failed = await wait_for_status(live.api, crash["id"], "failed")
    assert failed["error"] == "Agent exited with status 3"
    stopped_runtimes = live.fake.stopped
    assert sorted(stopped_runtimes) == sorted([clean["id"], crash["id"]])


async def test_a_turn_based_agent_exit_leaves_the_session_running_and_idle(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = (await server.api.post("/sessions", json={"name": "a"})).json()["id"]
    before = await wait_for_status(server.api, sid, "running")
    response = await report(server, sid, {"phase": "agent_exited", "exit_code": 0})
    assert response.status_code == 204
    after = (await server.api.get(f"/sessions/{sid}")).json()
    assert (after["status"], after["activity_state"]) == ("running", "idle")
    assert after["last_active"] > before["last_active"]


async def test_runtime_reports_need_the_run_token(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = (await server.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(server.api, sid, "running")
    body = {"phase": "agent_exited", "exit_code": 0}
    token = server.fake.specs[sid].token
    for authorization in ["Bearer wrong", f"Basic {token}", "Bearer"]:
        response = await report(server, sid, body, authorization)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Session not found: {sid}"}
    no_header = await server.api.post(f"/sessions/{sid}/runtime/report", json=body)
    assert no_header.status_code == 404
    # the token of a finished run stops working
    await server.api.post(f"/sessions/{sid}/stop")
    assert (await report(server, sid, body)).status_code == 404
    assert (await server.api.get(f"/sessions/{sid}")).json()["status"] == "stopped"
