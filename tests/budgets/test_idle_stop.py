"""Idle auto-stop: a running session whose activity has been `idle` for its agent's
`idle_timeout_s` is stopped with the reason in `error`; activity restarts the clock, and
`active`/`tool_executing` (or no report at all) never count as idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.usage.helpers import running_session

FAST_CHECKS = {"health_interval_s": 0.05}
Wait = Callable[..., Awaitable[dict[str, Any]]]


async def activity(server: LiveServer, sid: str, state: str) -> None:
    response = await server.api.post(f"/sessions/{sid}/activity", json={"state": state})
    assert response.status_code == 204, response.text


async def status(server: LiveServer, sid: str) -> str:
    value: str = (await server.api.get(f"/sessions/{sid}")).json()["status"]
    return value


async def test_an_idle_session_is_stopped_after_the_timeout(
    live_server: LiveServerFactory, wait_for_status: Wait
) -> None:
    server = await live_server(agents={"idle_timeout_s": 0.2}, runtime_settings=FAST_CHECKS)
    sid = await running_session(server.api)
    await activity(server, sid, "idle")
    stopped = await wait_for_status(server.api, sid, "stopped", timeout=3)
    assert stopped["error"] == "Idle timeout: no activity for 0.2 s"
    assert sid in server.fake.stopped


async def test_working_sessions_are_not_stopped_and_activity_restarts_the_clock(
    live_server: LiveServerFactory,
) -> None:
    server = await live_server(agents={"idle_timeout_s": 0.4}, runtime_settings=FAST_CHECKS)
    active, tooling, silent, busy_again = [await running_session(server.api) for _ in range(4)]
    await activity(server, active, "active")
    await activity(server, tooling, "tool_executing")
    for _ in range(3):  # idle for 0.1 s at a time, then working again
        await activity(server, busy_again, "idle")
        await asyncio.sleep(0.1)
        await activity(server, busy_again, "active")
    await asyncio.sleep(0.6)
    for sid in (active, tooling, silent, busy_again):
        assert await status(server, sid) == "running"
    assert server.fake.stopped == []


async def test_a_template_timeout_overrides_the_global_one(
    live_server: LiveServerFactory, wait_for_status: Wait
) -> None:
    templates = {
        "quick": {"kind": "command", "command": ["true"], "idle_timeout_s": 0.2},
        "patient": {"kind": "command", "command": ["true"], "idle_timeout_s": 0},
    }
    server = await live_server(
        agents={"idle_timeout_s": 3600, "templates": templates}, runtime_settings=FAST_CHECKS
    )
    quick = (await server.api.post("/sessions", json={"name": "q", "agent": "quick"})).json()
    patient = (await server.api.post("/sessions", json={"name": "p", "agent": "patient"})).json()
    for sid in (quick["id"], patient["id"]):
        await wait_for_status(server.api, sid, "running")
        await activity(server, sid, "idle")
    stopped = await wait_for_status(server.api, quick["id"], "stopped", timeout=3)
    assert stopped["error"] == "Idle timeout: no activity for 0.2 s"
    await asyncio.sleep(0.3)
    assert await status(server, patient["id"]) == "running", "0 = never for this template"
