"""Usage outlives sessions and follows visibility: stats after delete, viewers, strangers."""

from __future__ import annotations

from tests.app_fixtures import LiveServerFactory
from tests.usage.helpers import report, running_session


async def test_usage_survives_the_deletion_of_its_session(live_server: LiveServerFactory) -> None:
    server = await live_server()
    api = server.api
    sid = await running_session(api)
    await report(api, sid, tokens=1000, cost=0.25)
    await report(api, sid, tokens=10, provider="local", model="llama3.2:latest")
    assert (await api.delete(f"/sessions/{sid}")).status_code == 204
    stats = (await api.get("/stats")).json()
    assert stats["tokens_today"] == 1010
    assert (stats["cloud_tokens"], stats["local_tokens"]) == (1000, 10)
    assert stats["cost_today"] == 0.25


async def test_viewers_may_not_report(live_server: LiveServerFactory) -> None:
    server = await live_server(auth={"mode": "headers"})
    owner = server.as_user("alice", roles="admin")
    sid = await running_session(owner)
    viewer = server.as_user("alice", roles="viewer")
    response = await report(viewer, sid)
    assert response.status_code == 403
    assert response.json() == {"detail": "Requires one of: volundr:admin, volundr:developer"}
    stranger = server.as_user("bob")
    assert (await report(stranger, sid)).status_code == 404
