"""`GET /sessions/{id}` (API §4.3) and `PUT /sessions/{id}` (API §4.4)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.app_fixtures import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    """Every test here only touches the sessions it creates: one server for the module."""
    return shared_server


async def new_session(server: LiveServer, wait_for_status: Any, **body: Any) -> dict[str, Any]:
    created = await server.api.post("/sessions", json={"name": "a", **body})
    assert created.status_code == 201
    running: dict[str, Any] = await wait_for_status(server.api, created.json()["id"], "running")
    return running


# ------------------------------------------------------------------ GET


async def test_an_unknown_session_is_404_with_its_id(server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    response = await server.api.get(f"/sessions/{missing}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session not found: {missing}"}


async def test_a_malformed_id_is_a_422_list_before_any_lookup(server: LiveServer) -> None:
    for bad in ["not-a-uuid", "123", "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6"]:
        for method, path in [
            ("GET", f"/sessions/{bad}"),
            ("PUT", f"/sessions/{bad}"),
            ("DELETE", f"/sessions/{bad}"),
            ("POST", f"/sessions/{bad}/start"),
            ("POST", f"/sessions/{bad}/stop"),
            ("POST", f"/sessions/{bad}/archive"),
            ("PATCH", f"/sessions/{bad}/restore"),
        ]:
            kwargs: dict[str, Any] = {"json": {}} if method == "PUT" else {}
            response = await server.api.request(method, path, **kwargs)
            assert response.status_code == 422, (method, path)
            item = response.json()["detail"][0]
            assert item["loc"] == ["path", "session_id"]
            assert item["input"] == bad


async def test_an_upper_case_id_is_accepted_and_answered_lower_case(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status)
    upper = session["id"].upper()
    fetched = await server.api.get(f"/sessions/{upper}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == session["id"]
    renamed = await server.api.put(f"/sessions/{upper}", json={"name": "upper"})
    assert renamed.status_code == 200 and renamed.json()["id"] == session["id"]
    stopped = await server.api.post(f"/sessions/{upper}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    missing = str(uuid.uuid4())
    response = await server.api.get(f"/sessions/{missing.upper()}")
    assert response.json() == {"detail": f"Session not found: {missing}"}


async def test_archived_sessions_can_still_be_read(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status)
    await server.api.post(f"/sessions/{session['id']}/archive")
    fetched = await server.api.get(f"/sessions/{session['id']}")
    assert fetched.status_code == 200 and fetched.json()["status"] == "archived"


# ------------------------------------------------------------------ PUT


async def test_put_updates_each_field_and_bumps_updated_at(
    server: LiveServer, wait_for_status: Any, session_events: Any
) -> None:
    session = await new_session(server, wait_for_status, source={"repo": "github.com/a/b"})
    sid = session["id"]
    events_before = await session_events(server, sid)
    steps: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"name": "  renamed  "}, {"name": "renamed"}),
        ({"model": "claude-opus-4-6"}, {"model": "claude-opus-4-6"}),
        ({"branch": "feature/a/b"}, {"branch": "feature/a/b"}),
        ({"tracker_issue_id": "NIU-7"}, {"tracker_issue_id": "NIU-7"}),
    ]
    previous = session
    for body, expected in steps:
        response = await server.api.put(f"/sessions/{sid}", json=body)
        assert response.status_code == 200, response.text
        got = response.json()
        for key, value in expected.items():
            assert got[key] == value
        assert got["updated_at"] > previous["updated_at"]
        assert got["status"] == "running"
        previous = got
    assert previous["source"] == {
        "type": "git", "repo": "github.com/a/b", "branch": "feature/a/b", "base_branch": "",
    }
    assert previous["repo"] == "github.com/a/b"
    # PUT is not a status transition
    assert await session_events(server, sid) == events_before


async def test_put_with_an_empty_body_only_bumps_updated_at(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status)
    response = await server.api.put(f"/sessions/{session['id']}", json={})
    assert response.status_code == 200
    after = response.json()
    assert after["updated_at"] > session["updated_at"]
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in session.items() if k != "updated_at"
    }


async def test_null_fields_are_unchanged_and_the_repo_cannot_be_changed(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status, source={"repo": "github.com/a/b"})
    response = await server.api.put(
        f"/sessions/{session['id']}",
        json={"name": None, "model": None, "branch": None, "tracker_issue_id": None,
              "repo": "github.com/evil/x", "source": {"repo": "github.com/evil/x"},
              "status": "stopped"},
    )
    assert response.status_code == 200
    after = response.json()
    for key in ("name", "model", "branch", "tracker_issue_id", "repo", "source", "status"):
        assert after[key] == session[key], key


async def test_put_rules_are_422_lists_and_change_nothing(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status)
    sid = session["id"]
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        ({"name": "Bad"}, ["body", "name"], "value_error"),
        ({"name": "a b"}, ["body", "name"], "value_error"),
        ({"name": "-a"}, ["body", "name"], "value_error"),
        ({"name": ""}, ["body", "name"], "string_too_short"),
        ({"name": "a" * 64}, ["body", "name"], "string_too_long"),
        ({"model": ""}, ["body", "model"], "string_too_short"),
        ({"model": "m" * 101}, ["body", "model"], "string_too_long"),
        ({"branch": "../x"}, ["body", "branch"], "value_error"),
        ({"branch": "a.lock"}, ["body", "branch"], "value_error"),
        ({"branch": "@"}, ["body", "branch"], "value_error"),
        ({"branch": ""}, ["body", "branch"], "string_too_short"),
        ({"tracker_issue_id": "x" * 256}, ["body", "tracker_issue_id"], "string_too_long"),
    ]
    for body, loc, kind in cases:
        response = await server.api.put(f"/sessions/{sid}", json=body)
        assert response.status_code == 422, body
        item = response.json()["detail"][0]
        assert (item["loc"], item["type"]) == (loc, kind), body
    name_item = (await server.api.put(f"/sessions/{sid}", json={"name": "Bad"})).json()
    assert name_item["detail"][0]["msg"] == (
        "Value error, Session name must be lowercase — uppercase characters are not allowed"
    )
    branch_item = (await server.api.put(f"/sessions/{sid}", json={"branch": "../x"})).json()
    assert branch_item["detail"][0]["msg"].startswith("Value error, Invalid branch name '../x': ")
    assert (await server.api.get(f"/sessions/{sid}")).json() == session


async def test_put_is_never_409_whatever_the_status(
    server: LiveServer, wait_for_status: Any
) -> None:
    session = await new_session(server, wait_for_status)
    sid = session["id"]
    await server.api.post(f"/sessions/{sid}/stop")
    for status in ["created", "starting", "provisioning", "running", "stopping", "stopped",
                   "failed", "archived"]:
        await server.force_status(sid, status)
        response = await server.api.put(f"/sessions/{sid}", json={"name": f"in-{status}"})
        assert response.status_code == 200, status
        assert response.json()["status"] == status


async def test_concurrent_puts_all_succeed_even_beside_a_stop(
    server: LiveServer, wait_for_status: Any
) -> None:
    sid = (await new_session(server, wait_for_status))["id"]
    names = [f"name-{i}" for i in range(40)]
    puts = [server.api.put(f"/sessions/{sid}", json={"name": n}) for n in names]
    answers = await asyncio.gather(server.api.post(f"/sessions/{sid}/stop"), *puts)
    assert answers[0].status_code == 200, answers[0].text
    assert [a.status_code for a in answers[1:]] == [200] * len(names)
    final = (await server.api.get(f"/sessions/{sid}")).json()
    assert final["status"] == "stopped" and final["name"] in names


async def test_put_of_an_unknown_session_is_404(server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    response = await server.api.put(f"/sessions/{missing}", json={"name": "x"})
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session not found: {missing}"}


async def test_schema_errors_come_before_existence(server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    for method, path, body in [
        ("PUT", f"/sessions/{missing}", {"name": "Bad"}),
        ("PUT", f"/sessions/{missing}", {"model": ""}),
        ("DELETE", f"/sessions/{missing}", {"cleanup": ["everything"]}),
        ("POST", f"/sessions/{missing}/start", {"profile_name": "p" * 256}),
    ]:
        response = await server.api.request(method, path, json=body)
        assert response.status_code == 422, (method, path, body)
        assert isinstance(response.json()["detail"], list)
    unknown_profile = await server.api.post(
        f"/sessions/{missing}/start", json={"profile_name": "p"}
    )
    assert unknown_profile.status_code == 404  # existence before the semantic 422


async def test_a_model_that_would_read_as_an_agent_option_is_refused(
    server: LiveServer, wait_for_status: Any
) -> None:
    created = await server.api.post("/sessions", json={"name": "opt", "model": "--help"})
    assert created.status_code == 422
    item = created.json()["detail"][0]
    assert item["loc"] == ["body", "model"]
    assert item["msg"] == "Value error, Invalid model id '--help': must not start with '-'"
    sid = (await new_session(server, wait_for_status))["id"]
    put = await server.api.put(f"/sessions/{sid}", json={"model": "-x"})
    assert put.status_code == 422 and put.json()["detail"][0]["loc"] == ["body", "model"]
