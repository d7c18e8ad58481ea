"""Agents that exit at once, end to end: the exit is never lost, whenever its report lands.

A quick agent's "agent exited" report often reaches the server while the session is still
`provisioning`; the session must still end as API §3.2 says, without waiting for a health
check (the interval here is a minute) and on every try.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import ServerProcess, session_processes, wait_status

TRIES = 6


def _config() -> dict[str, object]:
    def template(script: str, stop_on_exit: bool) -> dict[str, object]:
        return {"kind": "command", "command": ["sh", "-c", script], "stop_on_exit": stop_on_exit}

    return {
        "agents": {
            "default": "done",
            "templates": {
                "done": template("echo done; exit 0", True),
                "crash": template("sleep 0.3; echo crashed >&2; exit 4", True),
                "early": template("echo bad flag >&2; exit 4", True),
                "turn": template("echo done; exit 0", False),
            },
        },
        "runtime": {"stop_grace_s": 1, "stop_timeout_s": 10, "health_interval_s": 60},
    }


def _create(api: object, name: str, agent: str, repo: Path) -> str:
    response = api.post(  # type: ignore[attr-defined]
        "/sessions", json={"name": name, "agent": agent, "source": {"repo": str(repo)}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_agent_exiting_at_once_ends_its_session_every_time(
    server_factory: Callable[[dict[str, object]], ServerProcess], git_repo: Path
) -> None:
    server = server_factory(_config())
    with server.client() as api:
        for i in range(TRIES):
            ids = {agent: _create(api, f"{agent}-{i}", agent, git_repo)
                   for agent in ("done", "crash", "early")}  # fmt: skip
            done = wait_status(api, ids["done"], {"stopped", "failed"}, timeout=8)
            assert (done["status"], done["error"]) == ("stopped", None)
            assert done["activity_state"] is None
            crash = wait_status(api, ids["crash"], {"stopped", "failed"}, timeout=8)
            assert (crash["status"], crash["error"]) == ("failed", "Agent exited with status 4")
            early = wait_status(api, ids["early"], {"stopped", "failed"}, timeout=8)
            assert early["status"] == "failed"
            assert early["error"] == "Provisioning failed: agent exited with status 4 before ready"
            for sid in ids.values():
                assert _no_processes(sid), f"session {sid} left processes behind"


def test_an_agent_exiting_at_once_without_stop_on_exit_leaves_it_running_idle(
    server_factory: Callable[[dict[str, object]], ServerProcess], git_repo: Path
) -> None:
    server = server_factory(_config())
    with server.client() as api:
        ids = [_create(api, f"turn-{i}", "turn", git_repo) for i in range(TRIES)]
        for sid in ids:
            body = _wait_idle(api, sid)
            assert (body["status"], body["activity_state"], body["error"]) == (
                "running", "idle", None,
            )  # fmt: skip
            assert api.post(f"/sessions/{sid}/stop").json()["status"] == "stopped"


def _wait_idle(api: object, sid: str, timeout: float = 8) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = api.get(f"/sessions/{sid}").json()  # type: ignore[attr-defined]
        if body["status"] != "running" and body["status"] in ("stopped", "failed"):
            return body
        if body["activity_state"] == "idle":
            return body
        time.sleep(0.02)
    raise AssertionError(f"session {sid} never became idle: {body}")


def _no_processes(sid: str, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while session_processes(sid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
