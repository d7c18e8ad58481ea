"""Event ingestion (API §6.3): one item or a batch, idempotent client ids, all or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.app_fixtures import LiveServer
from tests.usage.helpers import running_session

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVENT_KEYS = {
    "id", "event_id", "session_id", "event_type", "timestamp", "data", "sequence",
    "server_seq", "tokens_in", "tokens_out", "duration_ms", "cost", "model",
}  # fmt: skip


async def stored_types(server: LiveServer, sid: str) -> list[str]:
    events = (await server.api.get(f"/sessions/{sid}/events", params={"limit": 2000})).json()
    return [e["event_type"] for e in events if e["event_type"] != "session_status"]


async def test_one_item_is_stored_and_echoed(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    item = {
        "event_type": "message_assistant", "timestamp": "2026-04-11T12:30:00+02:00",
        "data": {"content_preview": "hi"}, "sequence": 3, "tokens_in": 10, "tokens_out": 2,
        "duration_ms": 50, "cost": 0.0000125, "model": "m", "event_id": "e-1",
    }  # fmt: skip
    response = await shared_server.api.post(f"/sessions/{sid}/events", json=item)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == EVENT_KEYS
    uuid.UUID(body["id"])
    assert body["timestamp"] == "2026-04-11T10:30:00+00:00"
    assert body["cost"] == 0.000012
    assert body["session_id"] == sid and isinstance(body["server_seq"], int)
    assert {k: body[k] for k in ("event_id", "sequence", "tokens_in", "model")} == {
        "event_id": "e-1", "sequence": 3, "tokens_in": 10, "model": "m",
    }  # fmt: skip


async def test_defaults_fill_an_item(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    body = (await shared_server.api.post(f"/sessions/{sid}/events",
                                         json={"event_type": "error"})).json()  # fmt: skip
    assert body["data"] == {} and body["sequence"] == 0 and body["event_id"] is None
    assert body["cost"] is None and body["timestamp"].endswith("+00:00")


async def test_a_batch_answers_in_request_order_with_increasing_seq(
    shared_server: LiveServer,
) -> None:
    sid = await running_session(shared_server.api)
    items = [{"event_type": t, "event_id": f"b-{i}"} for i, t in
             enumerate(["tool_use", "file_created", "terminal_command"])]  # fmt: skip
    response = await shared_server.api.post(f"/sessions/{sid}/events", json={"events": items})
    assert response.status_code == 201
    body = response.json()
    assert [e["event_id"] for e in body] == ["b-0", "b-1", "b-2"]
    seqs = [e["server_seq"] for e in body]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


async def test_a_repeated_event_id_is_answered_with_the_original(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    first = (await api.post(f"/sessions/{sid}/events",
                            json={"event_type": "tool_use", "event_id": "x"})).json()  # fmt: skip
    batch = [
        {"event_type": "tool_use", "event_id": "x"},
        {"event_type": "error", "event_id": "y"},
        {"event_type": "error", "event_id": "y"},
    ]
    again = (await api.post(f"/sessions/{sid}/events", json={"events": batch})).json()
    assert again[0] == first
    assert again[1] == again[2]
    assert await stored_types(shared_server, sid) == ["tool_use", "error"]
    counts = (await api.get(f"/sessions/{sid}/events/counts")).json()
    assert counts["tool_use"] == 1 and counts["error"] == 1


@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        ({"event_type": "nope"}, "Invalid event_type: nope"),
        ({"event_type": "session_status"}, "Event type session_status is reserved"),
        ({"event_type": "error", "session_id": str(uuid.uuid4())},
         "session_id does not match the path"),
    ],
)  # fmt: skip
async def test_one_invalid_item_rejects_the_whole_batch(
    shared_server: LiveServer, bad: dict[str, Any], detail: str
) -> None:
    sid = await running_session(shared_server.api)
    batch = {"events": [{"event_type": "tool_use", "event_id": "ok"}, bad]}
    response = await shared_server.api.post(f"/sessions/{sid}/events", json=batch)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert await stored_types(shared_server, sid) == []


async def test_a_matching_session_id_in_the_item_is_fine(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    response = await shared_server.api.post(
        f"/sessions/{sid}/events", json={"event_type": "error", "session_id": sid.upper()}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"events": []}, ["body", "events"]),
        ({"events": [{"event_type": "error"}] * 501}, ["body", "events"]),
        ({"data": {}}, ["body", "event_type"]),
        ({"event_type": "error", "data": {"x": "y" * 70_000}}, ["body", "data"]),
        ({"event_type": "error", "sequence": -1}, ["body", "sequence"]),
        ({"event_type": "error", "event_id": ""}, ["body", "event_id"]),
        ({"event_type": "error", "model": "m" * 101}, ["body", "model"]),
        ({"events": [{"event_type": "error", "cost": -1}]}, ["body", "events", 0, "cost"]),
    ],
)
async def test_schema_errors_are_422_lists(
    shared_server: LiveServer, body: dict[str, Any], loc: list[Any]
) -> None:
    sid = await running_session(shared_server.api)
    response = await shared_server.api.post(f"/sessions/{sid}/events", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_malformed_json_is_a_422_list(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    response = await shared_server.api.post(
        f"/sessions/{sid}/events", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_unknown_sessions_are_404(shared_server: LiveServer) -> None:
    api = shared_server.api
    missing = str(uuid.uuid4())
    response = await api.post(f"/sessions/{missing}/events", json={"event_type": "error"})
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session not found: {missing}"}
    sid = await running_session(api)
    batch = {"events": [{"session_id": sid, "event_type": "error"},
                        {"session_id": missing, "event_type": "error"}]}  # fmt: skip
    response = await api.post("/events/batch", json=batch)
    assert response.status_code == 404
    assert await stored_types(shared_server, sid) == []
    assert (await api.post("/events", json={"session_id": missing, "event_type": "error"})
            ).status_code == 404  # fmt: skip


async def test_events_and_events_batch_take_the_session_from_the_body(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    a, b = await running_session(api, "a"), await running_session(api, "b")
    one = await api.post("/events", json={"session_id": a, "event_type": "git_push"})
    assert one.status_code == 201 and one.json()["session_id"] == a
    batch = await api.post("/events/batch", json={"events": [
        {"session_id": b, "event_type": "git_branch", "event_id": "same"},
        {"session_id": a, "event_type": "git_branch", "event_id": "same"},
    ]})  # fmt: skip
    assert batch.status_code == 201
    assert [e["session_id"] for e in batch.json()] == [b, a], "event ids are per session"
    missing_sid = await api.post("/events", json={"event_type": "git_push"})
    assert missing_sid.status_code == 422
    assert missing_sid.json()["detail"][0]["loc"] == ["body", "session_id"]


async def test_ingestion_is_accepted_in_any_status_and_changes_no_counter(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    sid = await running_session(api)
    assert (await api.post(f"/sessions/{sid}/stop")).status_code == 200
    before = (await api.get(f"/sessions/{sid}")).json()
    item = {"event_type": "token_usage", "tokens_in": 5, "tokens_out": 5, "cost": 1.0}
    assert (await api.post(f"/sessions/{sid}/events", json=item)).status_code == 201
    after = (await api.get(f"/sessions/{sid}")).json()
    assert after == before
    assert (await api.get(f"/sessions/{sid}/events/tokens")).json() == []
