"""`POST /sessions` under non-default settings and runtimes (API §0.2, §4.2, §3.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.test_create_session import assert_rejected, session_ids
from tests.app_fixtures import LiveServerFactory
from volundr.runtime.fake import FAILED_MESSAGE, FailingRuntime, FakeRuntime, NeverReadyRuntime


async def test_https_public_url_gives_wss_chat_endpoints(live_server: LiveServerFactory) -> None:
    live = await live_server(public_url="https://volundr.example.com/")
    body = (await live.api.post("/sessions", json={"name": "a"})).json()
    assert body["chat_endpoint"] == f"wss://volundr.example.com/s/{body['id']}/session"


async def test_an_empty_model_takes_the_template_model(live_server: LiveServerFactory) -> None:
    templates = {"script": {"kind": "command", "command": ["true"], "model": "tpl-model"}}
    live = await live_server(agents={"templates": templates, "default": "script"})
    defaulted = (await live.api.post("/sessions", json={"name": "a"})).json()
    assert (defaulted["agent"], defaulted["model"]) == ("script", "tpl-model")
    chosen = (await live.api.post("/sessions", json={"name": "b", "model": "mine"})).json()
    assert chosen["model"] == "mine"
    null_agent = (await live.api.post("/sessions", json={"name": "c", "agent": None})).json()
    assert null_agent["agent"] == "script"


async def test_repository_policy_errors_are_string_details(
    live_server: LiveServerFactory, tmp_path: Path
) -> None:
    root = tmp_path / "repos"
    (root / "tools").mkdir(parents=True)
    live = await live_server(
        git={"local_repo_roots": [str(root)], "allowed_http_hosts": ["127.0.0.1"]}
    )
    for repo in [
        "https://github.com/acme/backend.git",
        "ssh://git@github.com/acme/backend.git",
        "git@github.com:acme/backend.git",
        "github.com/acme/backend",
        "http://127.0.0.1:9000/fixture.git",
        str(root / "tools"),
        f"file://{root}/tools",
        "",
    ]:
        response = await live.api.post("/sessions", json={"name": "a", "source": {"repo": repo}})
        assert response.status_code == 201, (repo, response.text)
        assert response.json()["repo"] == repo

    denied = await assert_rejected(
        live.api, {"name": "a", "source": {"repo": "http://example.com/x.git"}}
    )
    assert denied == {"detail": "Plain http repositories are not allowed for host example.com"}
    for outside in [str(tmp_path / "elsewhere"), f"{root}/../elsewhere", "file:///etc"]:
        detail = await assert_rejected(live.api, {"name": "a", "source": {"repo": outside}})
        assert detail == {"detail": "Local repository must be inside an allowed root"}


async def test_local_repositories_can_be_disabled(live_server: LiveServerFactory) -> None:
    live = await live_server(git={"allow_local_repos": False})
    for repo in ["/srv/git/tools", "file:///srv/git/tools"]:
        detail = await assert_rejected(live.api, {"name": "a", "source": {"repo": repo}})
        assert detail == {"detail": "Local repositories are not allowed on this server"}


async def test_a_body_over_the_limit_is_413_and_creates_nothing(
    live_server: LiveServerFactory,
) -> None:
    live = await live_server(http={"max_body_bytes": 1024})
    big = {"name": "a", "system_prompt": "x" * 2000}
    assert await assert_rejected(live.api, big, 413) == {"detail": "Request body too large"}

    async def chunks() -> Any:
        for _ in range(4):
            yield b" " * 400
        yield b'{"name": "a"}'

    chunked = await live.api.post(
        "/sessions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.json() == {"detail": "Request body too large"}
    assert await session_ids(live.api) == []
    small = await live.api.post("/sessions", json={"name": "a", "system_prompt": "x" * 900})
    assert small.status_code == 201


async def test_a_failing_runtime_leaves_the_session_failed_with_a_reason(
    live_server: LiveServerFactory, wait_for_status: Any, session_events: Any
) -> None:
    live = await live_server(runtime=FailingRuntime())
    created = await live.api.post("/sessions", json={"name": "a"})
    assert created.status_code == 201
    sid = created.json()["id"]
    failed = await wait_for_status(live.api, sid, "failed")
    assert failed["error"] == f"Provisioning failed: {FAILED_MESSAGE}"
    assert failed["chat_endpoint"] is None and failed["code_endpoint"] is None
    events = await session_events(live, sid)
    assert events[-1] == ("provisioning", "failed", f"Provisioning failed: {FAILED_MESSAGE}")
    assert sid in live.fake.stopped

    restarted = await live.api.post(f"/sessions/{sid}/start")
    assert restarted.status_code == 200
    assert restarted.json()["status"] == "starting"
    assert restarted.json()["error"] is None


async def test_a_runtime_that_cannot_launch_fails_the_session(
    live_server: LiveServerFactory, wait_for_status: Any, session_events: Any
) -> None:
    live = await live_server(runtime=FakeRuntime(start_error="image not found"))
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    failed = await wait_for_status(live.api, sid, "failed")
    assert failed["error"] == "Provisioning failed: image not found"
    assert failed["pod_name"] is None
    assert (await session_events(live, sid))[-1] == (
        "starting", "failed", "Provisioning failed: image not found",
    )


async def test_a_runtime_never_ready_times_out(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(
        runtime=NeverReadyRuntime(), runtime_settings={"provision_timeout_s": 0.1}
    )
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    failed = await wait_for_status(live.api, sid, "failed", timeout=5)
    assert failed["error"] == "Provisioning timed out: not ready after 0.1 s"
    assert sid in live.fake.stopped
