"""`POST /sessions` through HTTP (API §2, §4.2): the object, the rules, the failures."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.app_fixtures import LiveServer, StatusEvent

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    """Every test here only touches the sessions it creates: one server for the module."""
    return shared_server


SESSION_KEYS = {
    "id", "name", "model", "source", "status", "chat_endpoint", "code_endpoint", "created_at",
    "updated_at", "last_active", "message_count", "tokens_used", "cost", "pod_name", "error",
    "tracker_issue_id", "issue_tracker_url", "preset_id", "archived_at", "owner_id", "tenant_id",
    "activity_state", "activity_metadata", "agent", "repo", "branch", "task_type",
    "max_cost_usd",  # beyond the contract: the session's budget (README, Budgets)
}


async def session_ids(api: httpx.AsyncClient) -> list[str]:
    response = await api.get("/sessions", params={"include_archived": True})
    assert response.status_code == 200
    return [s["id"] for s in response.json()]


async def assert_rejected(
    api: httpx.AsyncClient, body: Any, status: int = 422
) -> dict[str, Any]:
    """POST `body`; it must be rejected with `status` and create nothing."""
    before = await session_ids(api)
    response = await api.post("/sessions", json=body)
    assert response.status_code == status, (body, response.text)
    assert await session_ids(api) == before
    detail: dict[str, Any] = response.json()
    return detail


def only_item(detail: dict[str, Any]) -> dict[str, Any]:
    items = detail["detail"]
    assert isinstance(items, list) and len(items) == 1, detail
    item: dict[str, Any] = items[0]
    assert {"type", "loc", "msg", "input"} <= set(item)
    return item


# ------------------------------------------------------------------ the object


async def test_create_answers_201_starting_with_the_full_session_object(
    server: LiveServer,
) -> None:
    response = await server.api.post("/sessions", json={"name": "fix-auth-bug"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == SESSION_KEYS
    sid = body["id"]
    assert str(uuid.UUID(sid)) == sid and uuid.UUID(sid).version == 4
    assert body["status"] == "starting"
    ws_base = server.base_url.replace("http://", "ws://")
    assert body["chat_endpoint"] == f"{ws_base}/s/{sid}/session"
    assert (body["code_endpoint"], body["pod_name"], body["error"]) == (None, None, None)
    for key in ("created_at", "updated_at", "last_active"):
        assert body[key].endswith("+00:00"), key
    assert body["last_active"] == body["created_at"]
    assert body["archived_at"] is None
    assert body["source"] == {"type": "git", "repo": "", "branch": "", "base_branch": ""}
    assert (body["repo"], body["branch"], body["model"]) == ("", "", "")
    assert (body["agent"], body["owner_id"], body["tenant_id"]) == (
        "claude-code", "local", "default",
    )
    assert body["message_count"] == 0 and body["tokens_used"] == 0
    assert body["cost"] == 0.0 and isinstance(body["cost"], float)
    assert body["activity_state"] is None and body["activity_metadata"] == {}
    assert body["task_type"] is None
    assert body["tracker_issue_id"] is None and body["issue_tracker_url"] is None
    assert body["preset_id"] is None

    fetched = (await server.api.get(f"/sessions/{sid}")).json()
    assert set(fetched) == SESSION_KEYS
    assert response.headers["content-type"] == "application/json"


async def test_a_created_session_reaches_running_and_records_every_transition(
    server: LiveServer, wait_for_status: Any, session_events: Any
) -> None:
    created = (await server.api.post("/sessions", json={"name": "a"})).json()
    running = await wait_for_status(server.api, created["id"], "running")
    assert running["pod_name"].startswith("fake-")
    assert running["code_endpoint"] == f"file:///fake/{created['id']}/workspace"
    assert running["chat_endpoint"] == created["chat_endpoint"]
    assert running["branch"] == running["source"]["branch"] == "main"  # resolved by the clone
    assert running["updated_at"] > created["updated_at"]
    events: list[StatusEvent] = await session_events(server, created["id"])
    assert events == [
        (None, "created", None),
        ("created", "starting", None),
        ("starting", "provisioning", None),
        ("provisioning", "running", None),
    ]


async def test_optional_fields_are_stored_and_echoed_but_env_never_returned(
    server: LiveServer, wait_for_status: Any
) -> None:
    preset = str(uuid.uuid4())
    issue_url = "https://tracker.example.com/issues/" + "x" * 2000
    body: dict[str, Any] = {
        "name": "  trimmed-name  ",
        "model": "claude-sonnet-4-6",
        "agent": "codex",
        "source": {
            "type": "git",
            "repo": "https://github.com/acme/backend.git",
            "branch": "feature/auth/login-fix",
            "base_branch": "main",
        },
        "preset_id": preset,
        "workspace_id": str(uuid.uuid4()),
        "issue_id": "NIU-42",
        "issue_url": issue_url,
        "initial_prompt": "fix the bug",
        "system_prompt": "be careful",
        "env": {"ANTHROPIC_API_KEY": "sk-secret-value"},
        "resource_config": {"cpu": "500m", "memory": "8Gi", "gpu": "1"},
        "terminal_restricted": True,
        "integration_ids": ["linear"],
    }
    response = await server.api.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["name"] == "trimmed-name"
    assert (got["model"], got["agent"]) == ("claude-sonnet-4-6", "codex")
    assert got["source"] == body["source"]
    assert got["repo"] == "https://github.com/acme/backend.git"
    assert got["branch"] == "feature/auth/login-fix"
    assert (got["preset_id"], got["tracker_issue_id"]) == (preset, "NIU-42")
    assert got["issue_tracker_url"] == issue_url
    assert "sk-secret-value" not in response.text and "env" not in got

    running = await wait_for_status(server.api, got["id"], "running")
    assert "sk-secret-value" not in str(running)
    spec = server.fake.specs[got["id"]]
    assert spec.env == {"ANTHROPIC_API_KEY": "sk-secret-value"}
    assert (spec.prompt, spec.system_prompt, spec.model) == (
        "fix the bug", "be careful", "claude-sonnet-4-6",
    )
    assert (spec.repo, spec.branch, spec.base_branch) == (
        "https://github.com/acme/backend.git", "feature/auth/login-fix", "main",
    )
    assert spec.agent.name == "codex"


async def test_unknown_body_fields_are_ignored(server: LiveServer) -> None:
    response = await server.api.post(
        "/sessions",
        json={"name": "a", "bogus": 1, "status": "running", "owner_id": "mallory",
              "source": {"type": "git", "repo": "", "extra": True}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["owner_id"] == "local"
    assert response.json()["status"] == "starting"


# ------------------------------------------------------------------ name rule over HTTP


async def test_name_rule_violations_are_422_list_items_and_create_nothing(
    server: LiveServer,
) -> None:
    cases = [
        ("Bad", "Session name must be lowercase — uppercase characters are not allowed"),
        ("a b", "Session name must not contain spaces — use hyphens instead"),
        ("-a", "Session name must start with a letter or digit, not a hyphen"),
        ("a-", "Session name must end with a letter or digit, not a hyphen"),
        ("a_b", "Session name may only contain lowercase letters (a-z), digits (0-9), "
                "and hyphens (-)"),
        ("a.b", "Session name may only contain lowercase letters (a-z), digits (0-9), "
                "and hyphens (-)"),
        ("a\tb", "Session name may only contain lowercase letters (a-z), digits (0-9), "
                 "and hyphens (-)"),
        ("héllo", "Session name may only contain lowercase letters (a-z), digits (0-9), "
                  "and hyphens (-)"),
        ("   ", "Session name must not be empty"),
    ]
    for raw, message in cases:
        item = only_item(await assert_rejected(server.api, {"name": raw}))
        assert item["type"] == "value_error", raw
        assert item["loc"] == ["body", "name"]
        assert item["msg"] == f"Value error, {message}"
        assert item["input"] == raw

    too_long = only_item(await assert_rejected(server.api, {"name": "a" * 64}))
    assert too_long == {
        "type": "string_too_long", "loc": ["body", "name"],
        "msg": "String should have at most 63 characters", "input": "a" * 64,
        "ctx": {"max_length": 63},
    }
    empty = only_item(await assert_rejected(server.api, {"name": ""}))
    assert (empty["type"], empty["msg"]) == (
        "string_too_short", "String should have at least 1 character",
    )
    missing = only_item(await assert_rejected(server.api, {}))
    assert (missing["type"], missing["loc"]) == ("missing", ["body", "name"])
    assert (await server.api.post("/sessions", json={"name": "a" * 63})).status_code == 201


# ------------------------------------------------------------------ repository rule


async def test_unsupported_repositories_are_schema_errors(server: LiveServer) -> None:
    for repo in [
        "ext::sh -c x", "ext::foo", "fd::17", "git://h/x", "--upload-pack=x", "-b",
        "relative/path", "./x", "ftp://h/x", "https://github.com/a b", "https://github.com/a\n",
    ]:
        detail = await assert_rejected(server.api, {"name": "a", "source": {"repo": repo}})
        item = only_item(detail)
        assert item["loc"] == ["body", "source", "repo"], repo
        assert item["msg"].startswith("Value error, Unsupported repository: "), item
        assert item["input"] == repo

    item = only_item(await assert_rejected(
        server.api, {"name": "a", "source": {"repo": "https://user:pw@github.com/x.git"}}
    ))
    assert item["msg"] == (
        "Value error, Repository URL must not contain credentials; use credential_names"
    )
    assert item["loc"] == ["body", "source", "repo"]
    long_repo = only_item(await assert_rejected(
        server.api, {"name": "a", "source": {"repo": "https://h.com/" + "x" * 500}}
    ))
    assert long_repo["type"] == "string_too_long"


# ------------------------------------------------------------------ branches, env, options


async def test_branch_rule_violations_are_422_list_items(server: LiveServer) -> None:
    for field in ("branch", "base_branch"):
        for value in ["../x", "a.lock", "@", "a@{b", "/a", "a//b", ".hidden/x", "-b", "a b"]:
            detail = await assert_rejected(server.api, {"name": "a", "source": {field: value}})
            item = only_item(detail)
            assert item["loc"] == ["body", "source", field]
            assert item["msg"].startswith(f"Value error, Invalid branch name '{value}': ")
        item = only_item(await assert_rejected(
            server.api, {"name": "a", "source": {field: "x" * 256}}
        ))
        assert item["type"] == "string_too_long"
    ok = await server.api.post(
        "/sessions", json={"name": "a", "source": {"branch": "feature/a/b", "base_branch": ""}}
    )
    assert ok.status_code == 201


async def test_env_rule_violations_are_422_list_items(server: LiveServer) -> None:
    for env in [
        {"VOLUNDR_TOKEN": "x"}, {"1A": "x"}, {"A-B": "x"}, {"A": "x" * 8193},
        {f"K{i}": "v" for i in range(65)}, {"A": 1},
    ]:
        detail = await assert_rejected(server.api, {"name": "a", "env": env})
        assert detail["detail"][0]["loc"][:2] == ["body", "env"], detail
    ok = await server.api.post("/sessions", json={"name": "a", "env": {"volundr_x": "1"}})
    assert ok.status_code == 201


async def test_unknown_catalogue_names_are_422_strings(server: LiveServer) -> None:
    assert await assert_rejected(server.api, {"name": "a", "agent": "x"}) == {
        "detail": "Unknown agent: x"
    }
    assert await assert_rejected(server.api, {"name": "a", "template_name": "t"}) == {
        "detail": "Unknown template: t"
    }
    assert await assert_rejected(server.api, {"name": "a", "profile_name": "p"}) == {
        "detail": "Unknown profile: p"
    }
    assert await assert_rejected(server.api, {"name": "a", "credential_names": ["gh"]}) == {
        "detail": "Unknown credential: gh"
    }
    mount = {"type": "local_mount", "local_path": "/srv/code"}
    assert await assert_rejected(server.api, {"name": "a", "source": mount}) == {
        "detail": "Local mounts are not enabled on this server"
    }
    empty_mount = await assert_rejected(
        server.api, {"name": "a", "source": {"type": "local_mount"}}
    )
    assert isinstance(empty_mount["detail"], list)


async def test_malformed_bodies_are_422_lists(server: LiveServer) -> None:
    for body in [
        {"name": "a", "resource_config": {"memory": "8"}},
        {"name": "a", "resource_config": {"cpu": "lots"}},
        {"name": "a", "resource_config": {"gpu": "x"}},
        {"name": "a", "preset_id": "not-a-uuid"},
        {"name": "a", "source": {"type": "svn"}},
        {"name": "a", "model": "m" * 101},
        {"name": "a", "issue_url": "u" * 2049},
        {"name": "a", "initial_prompt": "p" * 100_001},
        {"name": 5},
        ["not", "an", "object"],
    ]:
        detail = await assert_rejected(server.api, body)
        assert isinstance(detail["detail"], list) and detail["detail"], body
    before = await session_ids(server.api)
    raw = await server.api.post(
        "/sessions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert raw.status_code == 422 and isinstance(raw.json()["detail"], list)
    assert await session_ids(server.api) == before


# ------------------------------------------------------------------ failures after the 201
