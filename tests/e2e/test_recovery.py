"""A server killed with SIGKILL and started again leaves every session in a correct state."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import ServerProcess, script_agents, session_processes, wait_status


@pytest.fixture
def hanging_http_port() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers: a clone hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


CRASH_WINDOW = "die_before_recording_the_launch"
"""A trigger that refuses `starting` → `provisioning`: the server launches the host but
cannot record it, so a SIGKILL then lands exactly between the two (the session row has no
runtime state while its host lives)."""


def set_crash_window(database: Path, *, open_: bool) -> None:
    with closing(sqlite3.connect(database)) as conn, conn:
        if open_:
            conn.execute(
                f"CREATE TRIGGER {CRASH_WINDOW} BEFORE UPDATE OF status ON sessions "
                "WHEN OLD.status = 'starting' AND NEW.status = 'provisioning' "
                "BEGIN SELECT RAISE(ABORT, 'the server dies before recording the launch'); END"
            )
        else:
            conn.execute(f"DROP TRIGGER {CRASH_WINDOW}")


def session_hosts(session_id: str) -> list[psutil.Process]:
    """The session's hosts (`python -m volundr.host`), not the processes they started."""
    return [p for p in session_processes(session_id) if "volundr.host" in p.cmdline()]


def wait_host_ready(session_id: str, timeout: float = 15) -> psutil.Process:
    """The session's one host, once its /health says `ready` (cloned, agent started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hosts = session_hosts(session_id)
        ports = [
            c.laddr.port for h in hosts for c in h.net_connections("tcp4")
            if c.status == psutil.CONN_LISTEN
        ]  # fmt: skip
        if len(hosts) == 1 and len(ports) == 1:
            try:
                health = httpx.get(f"http://127.0.0.1:{ports[0]}/health", timeout=1).json()
                if health["status"] == "ready":
                    return hosts[0]
            except (httpx.HTTPError, ValueError, KeyError):
                pass
        time.sleep(0.05)
    raise AssertionError(f"no ready host for session {session_id}")


def test_a_start_interrupted_after_the_host_launched_continues_after_a_restart(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    agent = agent_script("exec sleep 600\n")
    server = server_factory(
        {
            "agents": script_agents(agent),
            "runtime": {"stop_grace_s": 1},
        }
    )
    database = server.home / "volundr.db"
    set_crash_window(database, open_=True)
    with server.client() as api:
        sid = api.post(
            "/sessions", json={"name": "interrupted", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        host = wait_host_ready(sid)
        before = api.get(f"/sessions/{sid}").json()
        assert (before["status"], before["pod_name"]) == ("starting", None)
    workspace = server.home / "sessions" / sid / "workspace"
    (workspace / "notes.txt").write_text("work in progress\n")

    server.kill()
    set_crash_window(database, open_=False)
    server.start()

    with server.client() as api:
        after = wait_status(api, sid, {"running", "failed"})
        assert (after["status"], after["error"]) == ("running", None)
        assert after["pod_name"] == f"local-{host.pid}"
        assert after["code_endpoint"] == f"file://{workspace}"
        assert [h.pid for h in session_hosts(sid)] == [host.pid], "exactly one host: the first"
        assert (workspace / "notes.txt").read_text() == "work in progress\n"
        assert (workspace / "README.md").read_text() == "hello\n"

        stopped = api.post(f"/sessions/{sid}/stop")
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["status"] == "stopped"
        assert session_processes(sid) == []


def test_sigkill_then_restart_reattaches_and_reconciles(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
    hanging_http_port: int,
) -> None:
    agent = agent_script("exec sleep 600\n")
    server = server_factory(
        {
            "agents": script_agents(agent),
            "git": {"allowed_http_hosts": ["127.0.0.1"]},
            "runtime": {"stop_grace_s": 1, "health_interval_s": 0.5},
        }
    )
    with server.client() as api:
        running = api.post(
            "/sessions", json={"name": "survivor", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        doomed = api.post(
            "/sessions", json={"name": "doomed", "source": {"repo": str(git_repo)}}
        ).json()["id"]
        stuck = api.post(
            "/sessions",
            json={
                "name": "slow-clone",
                "source": {"repo": f"http://127.0.0.1:{hanging_http_port}/repo.git"},
            },
        ).json()["id"]
        for sid in (running, doomed):
            assert wait_status(api, sid, {"running", "failed"})["status"] == "running"
        assert wait_status(api, stuck, {"provisioning"})["status"] == "provisioning"
        pod_before = api.get(f"/sessions/{running}").json()["pod_name"]

    server.kill()
    assert session_processes(running), "a server crash must not kill sessions"
    for proc in session_processes(doomed):  # this one dies while the server is down
        proc.kill()
    psutil.wait_procs(session_processes(doomed), timeout=5)
    server.start()

    with server.client() as api:
        survivor = api.get(f"/sessions/{running}").json()
        assert survivor["status"] == "running"
        assert survivor["pod_name"] == pod_before
        lost = api.get(f"/sessions/{doomed}").json()
        assert lost["status"] == "failed"
        assert str(lost["error"]).startswith("Runtime exited unexpectedly")
        assert api.get(f"/sessions/{stuck}").json()["status"] == "provisioning"

        # re-attached sessions are fully controllable: stop kills every process
        for sid in (running, stuck):
            stopped = api.post(f"/sessions/{sid}/stop")
            assert stopped.status_code == 200, stopped.text
            assert stopped.json()["status"] == "stopped"
            assert session_processes(sid) == []


def test_provisioning_timeout_fails_and_cleans_up(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    agent_script: Callable[[str], Path],
    hanging_http_port: int,
) -> None:
    agent = agent_script("exec sleep 600\n")
    server = server_factory(
        {
            "agents": script_agents(agent),
            "git": {"allowed_http_hosts": ["127.0.0.1"]},
            "runtime": {"stop_grace_s": 0.5, "provision_timeout_s": 1.5},
        }
    )
    with server.client() as api:
        sid = api.post(
            "/sessions",
            json={
                "name": "never-ready",
                "source": {"repo": f"http://127.0.0.1:{hanging_http_port}/repo.git"},
            },
        ).json()["id"]
        body = wait_status(api, sid, {"failed"}, timeout=10)
        assert body["error"] == "Provisioning timed out: not ready after 1.5 s"
        assert session_processes(sid) == []
