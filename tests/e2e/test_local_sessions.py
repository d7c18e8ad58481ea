"""Sessions end to end: real server process, local runtime, real git, real agent processes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import ServerProcess, git, session_processes, wait_status

EDITING_AGENT = """\
echo "agent started: $VOLUNDR_INITIAL_PROMPT"
echo "edited by the agent" >> README.md
echo "model=$2 prompt=$1" > PROMPT.txt
exec sleep 600
"""

DAEMONIZING_AGENT = """\
# double-fork a daemon into its own session, then keep running
setsid sh -c 'sleep 1000 & exit 0' < /dev/null > /dev/null 2>&1 &
echo "edited" > AGENT_WAS_HERE
exec sleep 600
"""


def _config(agent: Path, **template: object) -> dict[str, object]:
    return {
        "agents": {
            "default": "script",
            "templates": {
                "script": {
                    "kind": "command",
                    "command": [str(agent), "{prompt}", "{model}"],
                    **template,
                }
            },
        },
        "runtime": {"stop_grace_s": 1, "stop_timeout_s": 10, "health_interval_s": 0.5},
    }


def test_session_reaches_running_edits_workspace_and_stops(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script(EDITING_AGENT)))
    with server.client() as api:
        t0 = time.monotonic()
        created = api.post(
            "/sessions",
            json={
                "name": "edit-readme",
                "initial_prompt": "add a line",
                "model": "m-1",
                "source": {"repo": str(git_repo)},
            },
        )
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        running = wait_status(api, sid, {"running", "failed"}, timeout=10)
        elapsed = time.monotonic() - t0
        assert running["status"] == "running", running["error"]
        assert elapsed < 2.0
        assert running["branch"] == "main"
        assert str(running["pod_name"]).startswith("local-")
        assert running["chat_endpoint"] == f"ws://127.0.0.1:{server.port}/s/{sid}/session"
        workspace = server.home / "sessions" / sid / "workspace"
        assert running["code_endpoint"] == f"file://{workspace}"
        _wait_for_file(workspace / "PROMPT.txt")
        assert "edited by the agent" in (workspace / "README.md").read_text()
        assert (workspace / "PROMPT.txt").read_text().strip() == "model=m-1 prompt=add a line"

        stopped = api.post(f"/sessions/{sid}/stop")
        assert stopped.status_code == 200, stopped.text
        body = stopped.json()
        assert body["status"] == "stopped"
        assert body["chat_endpoint"] is None and body["code_endpoint"] is None
        assert body["pod_name"] == running["pod_name"]
        assert session_processes(sid) == []
        # the workspace is kept after stop
        assert "edited by the agent" in (workspace / "README.md").read_text()


def test_stop_kills_daemonized_grandchildren(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script(DAEMONIZING_AGENT)))
    with server.client() as api:
        sid = api.post(
            "/sessions", json={"name": "daemons", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        assert wait_status(api, sid, {"running", "failed"})["status"] == "running"
        workspace = server.home / "sessions" / sid / "workspace"
        _wait_for_file(workspace / "AGENT_WAS_HERE")
        deadline = time.monotonic() + 5
        while len(session_processes(sid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(session_processes(sid)) >= 3  # host, agent, daemon
        assert api.post(f"/sessions/{sid}/stop").json()["status"] == "stopped"
        assert session_processes(sid) == []
        # stop is idempotent at the runtime level: a second stop is a 409 by the contract
        again = api.post(f"/sessions/{sid}/stop")
        assert again.status_code == 409
        assert again.json()["detail"] == f"Cannot stop session {sid}: current status is stopped"


def test_restart_reuses_workspace_and_keeps_work(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script("exec sleep 600\n")))
    with server.client() as api:
        sid = api.post(
            "/sessions", json={"name": "keep-work", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        wait_status(api, sid, {"running"})
        workspace = server.home / "sessions" / sid / "workspace"
        (workspace / "uncommitted.txt").write_text("precious\n")
        assert api.post(f"/sessions/{sid}/stop").json()["status"] == "stopped"
        restarted = api.post(f"/sessions/{sid}/start")
        assert restarted.status_code == 200 and restarted.json()["status"] == "starting"
        assert wait_status(api, sid, {"running", "failed"})["status"] == "running"
        assert (workspace / "uncommitted.txt").read_text() == "precious\n"
        api.post(f"/sessions/{sid}/stop")


def test_missing_branch_is_created_from_default_branch_named_master(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    tmp_path: Path,
    agent_script: Callable[[str], Path],
) -> None:
    repo = tmp_path / "legacy"
    git("init", "-q", "-b", "master", str(repo))
    (repo / "a.txt").write_text("a\n")
    git("add", ".", cwd=repo)
    git("commit", "-qm", "one", cwd=repo)
    server = server_factory(_config(agent_script("exec sleep 600\n")))
    with server.client() as api:
        default = api.post(
            "/sessions", json={"name": "on-default", "source": {"repo": str(repo)}}
        ).json()["id"]
        feature = api.post(
            "/sessions",
            json={
                "name": "on-feature",
                "source": {"repo": str(repo), "branch": "feature/a/b"},
            },
        ).json()["id"]
        assert wait_status(api, default, {"running", "failed"})["branch"] == "master"
        body = wait_status(api, feature, {"running", "failed"})
        assert body["status"] == "running", body["error"]
        assert body["branch"] == "feature/a/b"
        workspace = server.home / "sessions" / feature / "workspace"
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=workspace) == "feature/a/b"
        for sid in (default, feature):
            api.post(f"/sessions/{sid}/stop")


def test_failures_reach_the_session_error(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    tmp_path: Path,
) -> None:
    config = {
        "agents": {
            "default": "missing",
            "templates": {
                "missing": {"kind": "command", "command": ["volundr-no-such-agent-xyz"]},
            },
        },
        "runtime": {"stop_grace_s": 1},
    }
    server = server_factory(config)
    with server.client() as api:
        sid = api.post(
            "/sessions", json={"name": "no-agent", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        body = wait_status(api, sid, {"failed", "running"})
        assert body["status"] == "failed"
        assert body["error"] == (
            "Provisioning failed: agent 'missing' not installed: "
            "volundr-no-such-agent-xyz not found in PATH"
        )
        assert session_processes(sid) == []

        gone = api.post(
            "/sessions",
            json={
                "name": "no-repo",
                "source": {"repo": str(tmp_path / "does-not-exist")},
            },
        ).json()["id"]
        body = wait_status(api, gone, {"failed", "running"})
        assert body["status"] == "failed"
        missing = tmp_path / "does-not-exist"
        assert body["error"] == (
            f"Provisioning failed: clone failed: repository not found: {missing}"
        )

        missing_base = api.post(
            "/sessions",
            json={
                "name": "no-base",
                "source": {"repo": str(git_repo), "branch": "topic", "base_branch": "nope"},
            },
        ).json()["id"]
        body = wait_status(api, missing_base, {"failed", "running"})
        assert body["status"] == "failed"
        assert "nope" in str(body["error"])


def test_an_unreachable_ssh_remote_fails_naming_the_connection_error(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script("exec sleep 600\n")))
    port = _refused_port()
    with server.client() as api:
        sid = api.post(
            "/sessions",
            json={"name": "no-ssh", "source": {"repo": f"ssh://git@127.0.0.1:{port}/x.git"}},
        ).json()["id"]
        body = wait_status(api, sid, {"failed", "running"})
    assert body["error"] == (
        "Provisioning failed: clone failed: Could not read from remote repository "
        f"(ssh: connect to host 127.0.0.1 port {port}: Connection refused)"
    )


def test_agent_exit_follows_stop_on_exit(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    ok_agent = agent_script("sleep 0.5\nexit 0\n")
    bad_agent = agent_script("sleep 0.5\nexit 3\n")
    idle_agent = agent_script("sleep 0.5\nexit 0\n")
    config = {
        "agents": {
            "default": "ok",
            "templates": {
                "ok": {"kind": "command", "command": [str(ok_agent)], "stop_on_exit": True},
                "bad": {"kind": "command", "command": [str(bad_agent)], "stop_on_exit": True},
                "idle": {"kind": "command", "command": [str(idle_agent)]},
            },
        },
        "runtime": {"stop_grace_s": 1, "health_interval_s": 0.5},
    }
    server = server_factory(config)
    with server.client() as api:
        ids = {
            agent: api.post(
                "/sessions",
                json={"name": f"exit-{agent}", "agent": agent, "source": {"repo": str(git_repo)}},
            ).json()["id"]
            for agent in ("ok", "bad", "idle")
        }
        assert wait_status(api, ids["ok"], {"stopped", "failed"})["status"] == "stopped"
        bad = wait_status(api, ids["bad"], {"stopped", "failed"})
        assert bad["status"] == "failed" and "status 3" in str(bad["error"])
        time.sleep(1.5)
        idle = api.get(f"/sessions/{ids['idle']}").json()
        assert idle["status"] == "running"
        assert idle["activity_state"] == "idle"
        api.post(f"/sessions/{ids['idle']}/stop")


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_file(path: Path, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
