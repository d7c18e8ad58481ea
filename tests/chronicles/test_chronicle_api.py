"""Chronicles through HTTP (API §8): drafted by the run, completed at its end, enriched
by reports, linked across runs, kept or deleted with their session."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.app_fixtures import LiveServer, wait_for_status_of
from tests.usage.helpers import report, running_session
from volundr.store.tables import chronicles

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHRONICLE_KEYS = {
    "id", "session_id", "status", "project", "repo", "branch", "model", "config_snapshot",
    "summary", "key_changes", "unfinished_work", "token_usage", "cost", "duration_seconds",
    "files", "commits", "token_burn", "tags", "parent_chronicle_id", "end_reason",
    "created_at", "updated_at",
}  # fmt: skip
SCRIPT = [
    {"event_type": "session_start", "event_id": "e0"},
    {"event_type": "message_assistant", "data": {"content_preview": "on it"}},
    {"event_type": "file_created", "data": {"path": "greet.py", "insertions": 12}},
    {"event_type": "file_modified", "data": {"path": "README.md", "insertions": 2,
                                             "deletions": 1}},
    {"event_type": "terminal_command", "data": {"command": "pytest -q", "exit_code": 1}},
    {"event_type": "file_modified", "data": {"path": "greet.py", "insertions": 3,
                                             "deletions": 2}},
    {"event_type": "git_commit", "data": {"hash": "a1b2c3d4e5f6", "message": "Add greet",
                                          "t": 620}},
]  # fmt: skip


async def post_events(api: httpx.AsyncClient, sid: str, items: list[dict[str, Any]]) -> None:
    response = await api.post(f"/sessions/{sid}/events", json={"events": items})
    assert response.status_code == 201, response.text


async def chronicle(api: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    response = await api.get(f"/sessions/{sid}/chronicle")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == CHRONICLE_KEYS
    return body


async def test_a_scripted_run_is_chronicled_field_by_field(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api, "chron")
    await post_events(api, sid, SCRIPT)
    draft = await chronicle(api, sid)
    assert draft["status"] == "draft" and draft["duration_seconds"] is None
    for tokens in (1000, 2500):
        assert (await report(api, sid, tokens=tokens)).status_code == 201
    stopped = (await api.post(f"/sessions/{sid}/stop")).json()
    assert stopped["status"] == "stopped"

    done = await chronicle(api, sid)
    assert done["id"] == draft["id"] and done["status"] == "complete"
    assert done["session_id"] == sid and done["parent_chronicle_id"] is None
    assert done["project"] == "chron", "no repo: the project is the session name"
    assert done["config_snapshot"] == {
        "name": "chron", "model": stopped["model"], "repo": "", "branch": stopped["branch"],
        "agent": stopped["agent"],
    }  # fmt: skip
    assert done["files"] == [
        {"path": "greet.py", "status": "new", "ins": 15, "del": 2},
        {"path": "README.md", "status": "mod", "ins": 2, "del": 1},
    ]
    assert [(c["hash"], c["msg"]) for c in done["commits"]] == [("a1b2c3d", "Add greet")]
    assert done["token_burn"] == [3500, 0, 0], "dense up to the commit entry at t=620"
    assert done["token_usage"] == stopped["tokens_used"] == 3500
    assert done["cost"] == stopped["cost"] == 0.0105
    assert isinstance(done["duration_seconds"], int) and done["duration_seconds"] >= 0
    assert done["end_reason"] is None and done["summary"] is None and done["key_changes"] == []

    timeline = (await api.get(f"/chronicles/{sid}/timeline")).json()
    assert [(e["type"], e["label"]) for e in timeline["events"]] == [
        ("session", "Session started"), ("file", "greet.py"), ("file", "README.md"),
        ("terminal", "pytest -q"), ("file", "greet.py"), ("git", "Add greet"),
    ]  # fmt: skip
    assert timeline["events"][3] == {
        "t": timeline["events"][3]["t"], "type": "terminal", "label": "pytest -q",
        "tokens": None, "action": None, "ins": None, "del": None, "hash": None, "exit": 1,
    }  # fmt: skip
    assert {k: timeline[k] for k in ("files", "commits", "token_burn")} == {
        k: done[k] for k in ("files", "commits", "token_burn")
    }


async def test_reports_enrich_the_run_once_and_are_accepted_after_it_ended(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    sid = await running_session(api, "report")
    body = {"summary": "Added greet", "key_changes": ["greet.py"], "duration_seconds": 61}
    first = await api.post(f"/sessions/{sid}/chronicle", json=body)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["summary"] == "Added greet" and created["duration_seconds"] == 61
    again = (await api.post(f"/sessions/{sid}/chronicle", json=body)).json()
    assert again["updated_at"] == created["updated_at"], "a repeat changes nothing"
    await api.post(f"/sessions/{sid}/stop")
    late = (await api.post(f"/sessions/{sid}/chronicle", json={"unfinished_work": "docs"})).json()
    assert late["id"] == created["id"] and late["status"] == "complete"
    assert (late["summary"], late["unfinished_work"], late["duration_seconds"]) == (
        "Added greet", "docs", 61,
    )  # fmt: skip


async def test_a_restarted_session_gets_a_new_chronicle_linked_to_the_last(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    sid = await running_session(api, "restart")
    await post_events(api, sid, SCRIPT[:1])
    await api.post(f"/sessions/{sid}/stop")
    first = await chronicle(api, sid)
    assert (await api.post(f"/sessions/{sid}/start")).status_code == 200
    await wait_for_status_of(api, sid, "running")
    await api.post(f"/sessions/{sid}/stop")
    second = await chronicle(api, sid)
    assert second["id"] != first["id"] and second["parent_chronicle_id"] == first["id"]
    assert second["status"] == "complete" and second["files"] == []


async def test_a_failed_run_says_why_in_its_chronicle(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api, "fails")
    async with shared_server.store.reader() as tx:
        session = await tx.get_session(sid)
    assert session is not None
    await shared_server.runtime.stop(session.runtime_state, grace_s=0)  # the host dies
    await shared_server.app.state.supervisor.check_running()
    failed = await wait_for_status_of(api, sid, "failed")
    done = await chronicle(api, sid)
    assert done["status"] == "complete" and done["end_reason"] == failed["error"]
    assert done["end_reason"] == "Runtime exited unexpectedly: fake runtime stopped"


async def test_timeline_entries_are_added_once_and_validated(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api, "timeline")
    entry = {"t": 5, "type": "file", "label": "x.py", "action": "created", "ins": 4, "del": 1}
    for _ in range(2):
        posted = await api.post(f"/chronicles/{sid}/timeline", json=entry)
        assert posted.status_code == 201, posted.text
        assert posted.json() == {**entry, "tokens": None, "hash": None, "exit": None}
    timeline = (await api.get(f"/chronicles/{sid}/timeline")).json()
    assert len(timeline["events"]) == 1
    assert timeline["files"] == [{"path": "x.py", "status": "new", "ins": 4, "del": 1}]
    for bad in ({**entry, "type": "nope"}, {**entry, "label": ""}, {**entry, "t": -1},
                {**entry, "hash": "x" * 41}, {"type": "file"}):  # fmt: skip
        rejected = await api.post(f"/chronicles/{sid}/timeline", json=bad)
        assert rejected.status_code == 422 and isinstance(rejected.json()["detail"], list)
    bad_report = await api.post(f"/sessions/{sid}/chronicle", json={"duration_seconds": -1})
    assert bad_report.status_code == 422


async def test_missing_sessions_and_chronicles_are_404_with_their_messages(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    unknown = "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"
    for path in (f"/sessions/{unknown}/chronicle", f"/chronicles/{unknown}/timeline"):
        response = await api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Session not found: {unknown}"}
    created = (await api.post("/sessions", json={"name": "quiet"})).json()
    sid = created["id"]
    await wait_for_status_of(api, sid, "running")
    for path, detail in ((f"/sessions/{sid}/chronicle", "No chronicle found for session"),
                         (f"/chronicles/{sid}/timeline", "No chronicle data for session")):
        response = await api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"{detail}: {sid}"}
    assert (await api.get("/sessions/not-a-uuid/chronicle")).status_code == 422


async def test_deleting_a_session_keeps_its_chronicles_detached_unless_asked(
    shared_server: LiveServer,
) -> None:
    api = shared_server.api
    kept = await running_session(api, "kept")
    dropped = await running_session(api, "dropped")
    ids = {}
    for sid in (kept, dropped):
        await post_events(api, sid, SCRIPT[:3])
        ids[sid] = (await chronicle(api, sid))["id"]
    assert (await api.request("DELETE", f"/sessions/{kept}")).status_code == 204
    response = await api.request(
        "DELETE", f"/sessions/{dropped}", json={"cleanup": ["chronicles"]}
    )
    assert response.status_code == 204
    async with shared_server.store.reader() as tx:
        rows = (await tx.connection.execute(
            select(chronicles.c.id, chronicles.c.session_id)
            .where(chronicles.c.id.in_(list(ids.values())))
        )).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(ids[kept], None)]
