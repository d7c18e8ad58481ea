"""`POST /sessions/{id}/activity` (API §4.11) and `POST /sessions/{id}/messages` (§4.14)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.app_fixtures import LiveServer
from tests.usage.helpers import running_session
from volundr.store.tables import outbox

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def broadcasts(server: LiveServer, sid: str) -> list[tuple[str, dict[str, object]]]:
    async with server.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.name, outbox.c.payload)
            .where(outbox.c.session_id == sid)
            .order_by(outbox.c.id)
        )
        return [(r[0], r[1]) for r in rows]


async def test_activity_is_persisted_and_published(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    before = (await api.get(f"/sessions/{sid}")).json()
    response = await api.post(f"/sessions/{sid}/activity",
                              json={"state": "tool_executing", "metadata": {"tool": "Bash"}})
    assert response.status_code == 204 and response.content == b""
    after = (await api.get(f"/sessions/{sid}")).json()
    assert after["activity_state"] == "tool_executing"
    assert after["activity_metadata"] == {"tool": "Bash"}
    assert after["last_active"] > before["last_active"]
    name, payload = (await broadcasts(shared_server, sid))[-1]
    assert name == "session_activity"
    assert payload == {"session_id": sid, "state": "tool_executing",
                       "metadata": {"tool": "Bash"}, "owner_id": "local"}  # fmt: skip
    await api.post(f"/sessions/{sid}/activity", json={"state": "idle"})
    assert (await api.get(f"/sessions/{sid}")).json()["activity_metadata"] == {}


async def test_activity_guards(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    bad = await api.post(f"/sessions/{sid}/activity", json={"state": "sleeping"})
    assert (bad.status_code, bad.json()) == (422, {"detail": "Invalid activity state: sleeping"})
    big = await api.post(f"/sessions/{sid}/activity",
                         json={"state": "idle", "metadata": {"x": "y" * 17_000}})
    assert big.status_code == 422 and big.json()["detail"][0]["loc"] == ["body", "metadata"]
    assert (await api.post(f"/sessions/{sid}/stop")).status_code == 200
    late = await api.post(f"/sessions/{sid}/activity", json={"state": "sleeping"})
    assert late.status_code == 409, "the state check comes before the semantic one"
    assert late.json() == {
        "detail": f"Cannot report activity for session {sid}: current status is stopped"
    }


async def test_a_message_is_handed_to_the_runtime(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    first = await api.post(f"/sessions/{sid}/messages", json={"content": "add tests"})
    second = await api.post(f"/sessions/{sid}/messages", json={"content": "and docs"})
    assert first.status_code == 202
    assert first.json() == {"session_id": sid, "turn": 1}
    assert second.json()["turn"] == 2
    assert shared_server.fake.messages[sid] == ["add tests", "and docs"]


async def test_message_guards(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    shared_server.fake.busy.add(sid)
    busy = await api.post(f"/sessions/{sid}/messages", json={"content": "x"})
    assert (busy.status_code, busy.json()) == (409, {"detail": f"Agent of session {sid} is busy"})
    assert (await api.post(f"/sessions/{sid}/messages", json={"content": ""})).status_code == 422
    assert (await api.post(f"/sessions/{sid}/stop")).status_code == 200
    stopped = await api.post(f"/sessions/{sid}/messages", json={"content": "x"})
    assert stopped.status_code == 409
    assert stopped.json() == {
        "detail": f"Cannot send a message to session {sid}: current status is stopped"
    }
