"""`POST /sessions/{id}/usage` (API §7.1, §7.2): exact cost, counters, idempotency, guards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.app_fixtures import LiveServer
from tests.usage.helpers import report, running_session

pytestmark = pytest.mark.asyncio(loop_scope="module")

RECORD_KEYS = {
    "id", "session_id", "recorded_at", "tokens", "provider", "model", "message_count", "cost",
    "tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens",
}  # fmt: skip


async def test_a_report_is_recorded_priced_and_counted(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    before = (await api.get(f"/sessions/{sid}")).json()
    response = await report(api, sid, tokens=100_000, message_count=2)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == RECORD_KEYS
    assert body["session_id"] == sid and body["tokens"] == 100_000
    assert body["cost"] == 0.3, "100 000 tokens at 3.00/M cost exactly 0.3"
    assert body["recorded_at"].endswith("+00:00")
    after = (await api.get(f"/sessions/{sid}")).json()
    assert (after["tokens_used"], after["message_count"], after["cost"]) == (100_000, 2, 0.3)
    assert after["last_active"] == after["updated_at"] == body["recorded_at"]
    assert after["last_active"] > before["last_active"]


async def test_sums_add_stored_decimals_and_round_once(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    for _ in range(3):  # 0.1 + 0.1 + 0.1 in floats is 0.30000000000000004
        assert (await report(api, sid, cost=0.1)).status_code == 201
    assert (await api.get(f"/sessions/{sid}")).json()["cost"] == 0.3


@pytest.mark.parametrize(
    ("fields", "cost"),
    [
        ({"cost": 0.0000125}, 0.000012),  # half-even: 12.5 micro-dollars → 12
        ({"cost": 0.0000135}, 0.000014),
        ({"cost": 0}, 0.0),
        ({"cost": 1.5, "provider": "local"}, 1.5),  # a given cost wins for any provider
        ({"provider": "local", "model": "llama3.2:latest"}, None),
        ({"model": "no-such-model"}, None),
        ({"tokens": 1, "model": "claude-opus-4-6"}, 0.000015),
        ({"tokens": 3, "model": "claude-haiku-4-5-20251001"}, 0.000003),
    ],
)
async def test_the_cost_rule(shared_server: LiveServer, fields: dict[str, Any], cost: Any) -> None:
    sid = await running_session(shared_server.api)
    response = await report(shared_server.api, sid, **fields)
    assert response.status_code == 201, response.text
    assert response.json()["cost"] == cost
    session = (await shared_server.api.get(f"/sessions/{sid}")).json()
    assert session["cost"] == (cost or 0.0)


async def test_a_retry_with_the_same_key_counts_once(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    first = await report(api, sid, key="turn-1:sonnet")
    again = await report(api, sid, key="turn-1:sonnet")
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await api.get(f"/sessions/{sid}")).json()["tokens_used"] == 1234
    counts = (await api.get(f"/sessions/{sid}/events/counts")).json()
    assert counts["token_usage"] == 1


async def test_concurrent_retries_count_once(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    answers = await asyncio.gather(*(report(api, sid, key="k") for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert (await api.get(f"/sessions/{sid}")).json()["tokens_used"] == 1234


async def test_the_same_key_with_another_body_is_409(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    assert (await report(api, sid, key="k1")).status_code == 201
    reused = await report(api, sid, key="k1", tokens=1)
    assert reused.status_code == 409
    assert reused.json() == {
        "detail": "Idempotency-Key k1 was already used with a different request"
    }
    other_session = await running_session(api)
    assert (await report(api, other_session, key="k1")).status_code == 201, "keys are per session"


async def test_a_replay_is_answered_before_the_state_check(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    first = await report(api, sid, key="late")
    assert (await api.post(f"/sessions/{sid}/stop")).status_code == 200
    again = await report(api, sid, key="late")
    assert again.status_code == 201 and again.json() == first.json()
    fresh = await report(api, sid, key="fresh")
    assert fresh.status_code == 409
    assert fresh.json() == {
        "detail": f"Cannot report usage for session {sid}: current status is stopped"
    }


@pytest.mark.parametrize("status", ["provisioning", "running", "stopping"])
async def test_reports_are_accepted_while_active(shared_server: LiveServer, status: str) -> None:
    sid = await running_session(shared_server.api)
    await shared_server.force_status(sid, status)
    assert (await report(shared_server.api, sid)).status_code == 201


async def test_reports_are_409_for_a_created_session(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    await shared_server.force_status(sid, "created")
    response = await report(api, sid)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Cannot report usage for session {sid}: current status is created"
    )
    assert (await api.get(f"/sessions/{sid}")).json()["tokens_used"] == 0


async def test_a_split_larger_than_tokens_is_422_and_writes_nothing(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    sid = await running_session(api)
    ok = await report(api, sid, tokens=100, tokens_in=60, tokens_out=30, cache_read_tokens=10)
    assert ok.status_code == 201
    response = await report(api, sid, tokens=100, tokens_in=60, tokens_out=30,
                            cache_write_tokens=11)  # fmt: skip
    assert response.status_code == 422
    assert response.json() == {"detail": "Token split exceeds tokens"}
    assert (await api.get(f"/sessions/{sid}")).json()["tokens_used"] == 100


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"tokens": 0}, ["body", "tokens"]),
        ({"tokens": 1.5}, ["body", "tokens"]),
        ({"tokens": 1_000_000_001}, ["body", "tokens"]),
        ({"provider": "edge"}, ["body", "provider"]),
        ({"model": ""}, ["body", "model"]),
        ({"message_count": 0}, ["body", "message_count"]),
        ({"cost": -1}, ["body", "cost"]),
        ({"tokens_out": -1}, ["body", "tokens_out"]),
    ],
)
async def test_schema_errors_are_422_lists(
    shared_server: LiveServer, fields: dict[str, Any], loc: list[str]
) -> None:
    sid = await running_session(shared_server.api)
    response = await report(shared_server.api, sid, **fields)
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [loc]


async def test_unknown_session_is_404(shared_server: LiveServer) -> None:
    missing = "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"
    response = await report(shared_server.api, missing)
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session not found: {missing}"}


async def test_token_usage_event_and_broadcast_come_with_the_record(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    sid = await running_session(api)
    record = (await report(api, sid, tokens=500, tokens_out=120, cost=0.0042)).json()
    events = (await api.get(f"/sessions/{sid}/events", params={"event_type": "token_usage"})).json()
    (event,) = events
    assert event["data"] == {"usage_id": record["id"], "provider": "cloud"}
    assert (event["tokens_in"], event["tokens_out"]) == (380, 120)
    assert (event["cost"], event["model"]) == (0.0042, "claude-sonnet-4-6")
    assert event["timestamp"] == record["recorded_at"]
