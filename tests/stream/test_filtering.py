"""Each subscriber sees only what it may see (API §1.3, §5.5), in `headers` identity mode."""

from __future__ import annotations

import asyncio

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory, wait_for_status_of
from tests.stream.helpers import create, open_stream


@pytest.fixture
async def headers_server(live_server: LiveServerFactory) -> LiveServer:
    return await live_server(auth={"mode": "headers"}, sse={"stats_interval_s": 0.3})


async def test_the_stream_requires_an_identity(headers_server: LiveServer) -> None:
    response = await headers_server.api.get("/sessions/stream")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing required header: x-auth-user-id"}


async def test_users_see_their_own_sessions_and_admins_their_tenant(
    headers_server: LiveServer,
) -> None:
    live = headers_server
    alice = live.as_user("alice")
    bob = live.as_user("bob")
    admin = live.as_user("root", roles="admin")
    other_admin = live.as_user("root2", tenant="other", roles="admin")
    async with (
        open_stream(alice) as a, open_stream(bob) as b, open_stream(admin) as t,
        open_stream(other_admin) as o,
    ):
        for stream in (a, b, t, o):
            await stream.next()
        bob_sid = (await create(bob, "bobs"))["id"]
        await wait_for_status_of(bob, bob_sid, "running")
        alice_sid = (await create(alice, "alices"))["id"]
        await wait_for_status_of(alice, alice_sid, "running")
        assert (await alice.delete(f"/sessions/{alice_sid}")).status_code == 204
        other_sid = (await create(other_admin, "elsewhere"))["id"]

        alice_seen = await a.events(6)  # created … running, stopping, deleted
        bob_seen = await b.events(4)
        admin_seen = await t.events(10)
        other_seen = await o.next_event()
        quiet = [s.next_event(timeout=0.3) for s in (a, b)]
        for pending in quiet:
            with pytest.raises(TimeoutError):
                await pending

    assert {f.data["id"] for f in alice_seen} == {alice_sid}
    assert alice_seen[-1].event == "session_deleted"
    assert {f.data["id"] for f in bob_seen} == {bob_sid}
    assert {f.data["id"] for f in admin_seen} == {alice_sid, bob_sid}
    assert admin_seen[-1].data == {"id": alice_sid}
    # A subscriber sees gaps where events were invisible to it; ids still increase.
    assert [f.id for f in admin_seen] == sorted(f.id or 0 for f in admin_seen)
    assert other_seen.event == "session_created" and other_seen.data["id"] == other_sid


async def test_stats_on_the_stream_and_at_get_stats_are_scoped_to_the_caller(
    headers_server: LiveServer,
) -> None:
    live = headers_server
    alice = live.as_user("alice")
    admin = live.as_user("root", roles="admin")
    for name in ("a1", "a2"):
        sid = (await create(alice, name))["id"]
        await wait_for_status_of(alice, sid, "running")
    bobs = (await create(live.as_user("bob"), "b1"))["id"]
    await wait_for_status_of(admin, bobs, "running")
    assert (await admin.post(f"/sessions/{bobs}/stop")).status_code == 200
    assert (await admin.post(f"/sessions/{bobs}/archive")).status_code == 200

    zero = {"tokens_today": 0, "local_tokens": 0, "cloud_tokens": 0, "cost_today": 0.0}
    assert (await alice.get("/stats")).json() == {
        "active_sessions": 2, "total_sessions": 2, **zero
    }
    assert (await admin.get("/stats")).json() == {
        "active_sessions": 2, "total_sessions": 3, **zero
    }
    async with open_stream(alice) as a, open_stream(admin) as t:
        seen = await asyncio.gather(
            a.next_event(skip={"heartbeat"}), t.next_event(skip={"heartbeat"})
        )
    assert [f.event for f in seen] == ["stats_updated", "stats_updated"]
    assert seen[0].data == {"active_sessions": 2, "total_sessions": 2, **zero}
    assert seen[1].data == {"active_sessions": 2, "total_sessions": 3, **zero}
