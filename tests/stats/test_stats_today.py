"""`GET /stats` (API §7.4): "today" is the UTC calendar day whatever the process time zone;
sessions are counted (archived and running), usage of deleted sessions still counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.clock_fixtures import FixedClock
from tests.usage.helpers import report, running_session


async def stats(server: LiveServer) -> dict[str, object]:
    response = await server.api.get("/stats")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(("zone", "offset"), [("Etc/GMT-14", "+1400"), ("Etc/GMT+12", "-1200")])
async def test_tokens_today_switch_at_midnight_utc_in_any_process_time_zone(
    live_server: LiveServerFactory,
    clock: FixedClock,
    process_tz: Callable[[str], None],
    zone: str,
    offset: str,
) -> None:
    process_tz(zone)
    assert time.strftime("%z") == offset
    clock.now = datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC)
    server = await live_server()
    sid = await running_session(server.api)
    assert (await report(server.api, sid, tokens=1000, cost=1.0)).status_code == 201

    clock.now = datetime(2026, 12, 4, 0, 0, 1, tzinfo=UTC)
    assert (await report(server.api, sid, tokens=100, cost=0.25)).status_code == 201
    today = await stats(server)
    assert (today["tokens_today"], today["cost_today"]) == (100, 0.25)

    clock.now = datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC)
    local = await report(server.api, sid, tokens=10, provider="local", model="llama3.2:latest")
    assert local.status_code == 201
    just_before = await stats(server)
    assert (just_before["tokens_today"], just_before["cost_today"]) == (110, 0.25)
    assert (just_before["cloud_tokens"], just_before["local_tokens"]) == (100, 10)

    clock.now = datetime(2026, 12, 5, 0, 0, 1, tzinfo=UTC)
    assert (await report(server.api, sid, tokens=1, cost=0.000001)).status_code == 201
    just_after = await stats(server)
    assert (just_after["tokens_today"], just_after["cost_today"]) == (1, 0.000001)
    assert (just_after["cloud_tokens"], just_after["local_tokens"]) == (1, 0)


async def test_sessions_are_counted_running_and_in_total(server: LiveServer) -> None:
    api = server.api
    first = await running_session(api)
    second = await running_session(api)
    third = await running_session(api)
    assert (await api.post(f"/sessions/{second}/archive")).status_code == 200
    assert (await api.post(f"/sessions/{third}/stop")).status_code == 200
    await report(api, first, tokens=5, cost=0.5)
    body = await stats(server)
    assert (body["active_sessions"], body["total_sessions"]) == (1, 3)
    assert (await api.delete(f"/sessions/{first}")).status_code == 204
    body = await stats(server)
    assert (body["active_sessions"], body["total_sessions"]) == (0, 2)
    assert (body["tokens_today"], body["cost_today"]) == (5, 0.5), "usage outlives its session"


async def test_stats_are_scoped_to_the_caller(live_server: LiveServerFactory) -> None:
    server = await live_server(auth={"mode": "headers"})
    alice, bob = server.as_user("alice"), server.as_user("bob")
    admin = server.as_user("root", roles="admin")
    stranger = server.as_user("eve", tenant="other", roles="admin")
    await report(alice, await running_session(alice), tokens=3, cost=0.3)
    await report(bob, await running_session(bob), tokens=4, provider="local", model="x")
    seen = {}
    for name, client in {"alice": alice, "bob": bob, "admin": admin, "eve": stranger}.items():
        body = (await client.get("/stats")).json()
        seen[name] = (body["total_sessions"], body["tokens_today"], body["cost_today"])
    assert seen == {
        "alice": (1, 3, 0.3), "bob": (1, 4, 0.0), "admin": (2, 7, 0.3), "eve": (0, 0, 0.0),
    }
