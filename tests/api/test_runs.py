"""What happens during a run (API §3.2, §3.5, §3.6, §5.6): broadcasts, health, agent exits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.app_fixtures import LiveServer, LiveServerFactory
from volundr.runtime.fake import InstantRuntime, SlowRuntime
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


ONESHOT = {
    "done": {"kind": "command", "command": ["true"], "stop_on_exit": True},
    "turn": {"kind": "command", "command": ["true"]},
}


async def test_an_agent_exit_reported_while_provisioning_is_applied_once_running(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    """The host's report lands before readiness: it is not dropped (API §3.2)."""
    live = await live_server(
        runtime=SlowRuntime(delay_s=0.3), agents={"templates": ONESHOT},
        runtime_settings={"health_interval_s": 60},
    )  # fmt: skip
    ids = {}
    for name, agent, code in [("a", "done", 0), ("b", "done", 3), ("c", "turn", 0)]:
        sid = (await live.api.post("/sessions", json={"name": name, "agent": agent})).json()["id"]
        await wait_for_status(live.api, sid, "provisioning")
        live.fake.finish_agent(sid, code)
        response = await report(live, sid, {"phase": "agent_exited", "exit_code": code})
        assert response.status_code == 204
        assert (await live.api.get(f"/sessions/{sid}")).json()["status"] == "provisioning"
        ids[name] = sid
    stopped = await wait_for_status(live.api, ids["a"], "stopped", timeout=3)
    assert (stopped["error"], stopped["activity_state"]) == (None, None)
    failed = await wait_for_status(live.api, ids["b"], "failed", timeout=3)
    assert failed["error"] == "Agent exited with status 3"
    idle = await wait_for_status(live.api, ids["c"], "running", timeout=3)
    for _ in range(100):
        if idle["activity_state"] == "idle":
            break
        await asyncio.sleep(0.02)
        idle = (await live.api.get(f"/sessions/{ids['c']}")).json()
    assert (idle["status"], idle["activity_state"]) == ("running", "idle")
    assert sorted(live.fake.stopped) == sorted([ids["a"], ids["b"]])


async def test_health_checks_apply_an_agent_exit_whose_report_was_lost(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(agents={"templates": ONESHOT})
    done = (await live.api.post("/sessions", json={"name": "a", "agent": "done"})).json()["id"]
    turn = (await live.api.post("/sessions", json={"name": "b", "agent": "turn"})).json()["id"]
    before = await wait_for_status(live.api, turn, "running")
    await wait_for_status(live.api, done, "running")
    for sid in (done, turn):
        live.fake.finish_agent(sid, 0)  # no report: only the runtime's health says so
    await live.app.state.supervisor.check_running()
    assert (await live.api.get(f"/sessions/{done}")).json()["status"] == "stopped"
    idle = (await live.api.get(f"/sessions/{turn}")).json()
    assert (idle["status"], idle["activity_state"]) == ("running", "idle")
    assert idle["last_active"] > before["last_active"]
    await live.app.state.supervisor.check_running()
    again = (await live.api.get(f"/sessions/{turn}")).json()
    assert again["last_active"] == idle["last_active"], "an applied exit changes nothing more"


async def test_a_re_attached_session_whose_agent_exited_is_ended(
    live_server: LiveServerFactory, wait_for_status: Any, tmp_path: Path
) -> None:
    runtime = InstantRuntime()
    first = await live_server(
        runtime=runtime, home=tmp_path / "shared", agents={"templates": ONESHOT}
    )
    sid = (await first.api.post("/sessions", json={"name": "a", "agent": "done"})).json()["id"]
    await wait_for_status(first.api, sid, "running")
    await first.shutdown()
    runtime.finish_agent(sid, 2)  # while no server ran
    second = await live_server(
        runtime=runtime, home=tmp_path / "shared", agents={"templates": ONESHOT}
    )
    failed = (await second.api.get(f"/sessions/{sid}")).json()
    assert (failed["status"], failed["error"]) == ("failed", "Agent exited with status 2")
