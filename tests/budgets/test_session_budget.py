"""A session's `max_cost_usd`: shown in the session, and a usage report reaching it stops
the session (really: the runtime too) with the reason in `error`; a new start clears it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.app_fixtures import LiveServer, LiveServerFactory, StatusEvent, wait_for_status_of
from tests.usage.helpers import report

REASON = "Budget exceeded: cost $0.512000 reached max_cost_usd $0.500000"


async def running_session(api: httpx.AsyncClient, **fields: Any) -> str:
    created = await api.post("/sessions", json={"name": "capped", **fields})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    await wait_for_status_of(api, sid, "running")
    return sid


async def test_a_report_reaching_the_budget_stops_the_session_with_the_reason(
    server: LiveServer,
    wait_for_status: Callable[..., Awaitable[dict[str, Any]]],
    session_events: Callable[..., Awaitable[list[StatusEvent]]],
) -> None:
    api = server.api
    sid = await running_session(api, max_cost_usd=0.5)
    assert (await api.get(f"/sessions/{sid}")).json()["max_cost_usd"] == 0.5
    assert (await report(api, sid, cost=0.3)).status_code == 201
    assert (await api.get(f"/sessions/{sid}")).json()["status"] == "running"

    crossing = await report(api, sid, cost=0.212)
    assert crossing.status_code == 201, "the report itself is accepted"
    stopped = await wait_for_status(api, sid, "stopped")
    assert stopped["error"] == REASON
    assert stopped["cost"] == 0.512
    assert stopped["chat_endpoint"] is None and stopped["activity_state"] is None
    assert server.fake.stopped.count(sid) == 1, "the runtime was stopped once"
    assert (await session_events(server, sid))[-2:] == [
        ("running", "stopping", REASON),
        ("stopping", "stopped", REASON),
    ]


async def test_a_spent_session_restarts_only_once_its_budget_is_raised(
    server: LiveServer, wait_for_status: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    api = server.api
    sid = await running_session(api, max_cost_usd=0.000001)
    await report(api, sid, cost=0.000001)
    assert (await wait_for_status(api, sid, "stopped"))["error"] == (
        "Budget exceeded: cost $0.000001 reached max_cost_usd $0.000001"
    )
    refused = await api.post(f"/sessions/{sid}/start")
    assert refused.status_code == 409
    assert refused.json() == {"detail": f"Cannot start session {sid}: its cost $0.000001 "
                                        "reached max_cost_usd $0.000001"}  # fmt: skip
    assert (await api.get(f"/sessions/{sid}")).json()["status"] == "stopped", "nothing written"
    raised = await api.put(f"/sessions/{sid}", json={"max_cost_usd": 1})
    assert raised.status_code == 200 and raised.json()["max_cost_usd"] == 1.0
    restarted = await api.post(f"/sessions/{sid}/start")
    assert restarted.status_code == 200
    assert restarted.json()["error"] is None
    assert (await wait_for_status(api, sid, "running"))["error"] is None


async def test_the_configured_default_applies_to_sessions_created_without_one(
    live_server: LiveServerFactory, wait_for_status: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    server = await live_server(budgets={"session_max_cost_usd": 1.25})
    api = server.api
    defaulted = await running_session(api)
    own = await running_session(api, max_cost_usd=10)
    assert (await api.get(f"/sessions/{defaulted}")).json()["max_cost_usd"] == 1.25
    await report(api, defaulted, cost=2)
    await report(api, own, cost=2)
    assert (await wait_for_status(api, defaulted, "stopped"))["error"] == (
        "Budget exceeded: cost $2.000000 reached max_cost_usd $1.250000"
    )
    assert (await api.get(f"/sessions/{own}")).json()["status"] == "running"


async def test_without_a_budget_nothing_is_stopped(server: LiveServer) -> None:
    api = server.api
    sid = await running_session(api)
    assert (await api.get(f"/sessions/{sid}")).json()["max_cost_usd"] is None
    await report(api, sid, cost=1000)
    await asyncio.sleep(0.1)
    assert (await api.get(f"/sessions/{sid}")).json()["status"] == "running"


async def test_a_budget_must_be_positive(server: LiveServer) -> None:
    for bad in (0, -1, "lots"):
        response = await server.api.post("/sessions", json={"name": "x", "max_cost_usd": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "max_cost_usd"]
    assert (await server.api.get("/sessions")).json() == []
