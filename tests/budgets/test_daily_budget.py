"""`budgets.user_daily_cost_usd`: once a user's usage cost of the UTC day reached it, creates
and starts answer 409 (saying limit, spend and reset) and write nothing, until midnight UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.clock_fixtures import FixedClock
from tests.usage.helpers import report, running_session

EXHAUSTED = (
    "Daily budget exhausted: spent $5.000000 of $5.000000 today; "
    "resets at 2026-12-05T00:00:00+00:00"
)


async def budgeted(live_server: LiveServerFactory, **settings: object) -> LiveServer:
    return await live_server(budgets={"user_daily_cost_usd": 5}, **settings)


async def test_creates_and_starts_are_refused_once_the_day_is_spent(
    live_server: LiveServerFactory, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    server = await budgeted(live_server)
    api = server.api
    spent = await running_session(api)
    idle = await running_session(api)
    assert (await api.post(f"/sessions/{idle}/stop")).status_code == 200
    await report(api, spent, cost=4.999999)
    assert (await api.post("/sessions", json={"name": "still-ok"})).status_code == 201
    await report(api, spent, cost=0.000001)
    assert (await api.delete(f"/sessions/{spent}")).status_code == 204, "spend stays counted"
    before = (await api.get("/sessions")).json()
    events_before = (await api.get(f"/sessions/{idle}/events")).json()

    refused = await api.post("/sessions", json={"name": "one-more"})
    assert (refused.status_code, refused.json()) == (409, {"detail": EXHAUSTED})
    restart = await api.post(f"/sessions/{idle}/start")
    assert (restart.status_code, restart.json()) == (409, {"detail": EXHAUSTED})
    assert (await api.get("/sessions")).json() == before, "nothing was written"
    assert (await api.get(f"/sessions/{idle}/events")).json() == events_before

    clock.now = datetime(2026, 12, 5, 0, 0, 1, tzinfo=UTC)
    assert (await api.post("/sessions", json={"name": "next-day"})).status_code == 201
    assert (await api.post(f"/sessions/{idle}/start")).status_code == 200


async def test_the_budget_is_per_user(live_server: LiveServerFactory, clock: FixedClock) -> None:
    clock.now = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    server = await budgeted(live_server, auth={"mode": "headers"})
    alice, bob = server.as_user("alice"), server.as_user("bob")
    admin = server.as_user("root", roles="admin")
    await report(alice, await running_session(alice), cost=5)
    assert (await alice.post("/sessions", json={"name": "a"})).status_code == 409
    assert (await bob.post("/sessions", json={"name": "b"})).status_code == 201
    assert (await admin.post("/sessions", json={"name": "c"})).status_code == 201
