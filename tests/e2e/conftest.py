"""End-to-end fixtures: a real `volundr serve` process, real git repositories, agent scripts.

- `git_repo`: a local repository with one commit on `main`.
- `agent_script(body)`: writes an executable shell script and returns its path.
- `server_factory(config)`: starts `python -m volundr serve` on a free loopback port with a
  fresh `VOLUNDR_HOME`; `.kill()` sends SIGKILL, `.restart()` starts it again on the same home.
- `script_agents(agent, **template)`: the `agents` settings whose default agent is that script.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

API = "/api/v1/volundr"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@localhost",
}


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    return out.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    git("init", "-q", "-b", "main", str(repo))
    (repo / "README.md").write_text("hello\n")
    git("add", ".", cwd=repo)
    git("commit", "-qm", "initial", cwd=repo)
    return repo


@pytest.fixture
def agent_script(tmp_path: Path) -> Callable[[str], Path]:
    counter = iter(range(1000))

    def write(body: str) -> Path:
        path = tmp_path / f"agent{next(counter)}.sh"
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
        return path

    return write


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    home: Path
    config: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.home / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "volundr",
                "serve",
                "--port",
                str(self.port),
                "--config",
                str(self.config),
            ],
            env={**os.environ, "VOLUNDR_HOME": str(self.home)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + API, timeout=60)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, object]], ServerProcess]]:
    servers: list[ServerProcess] = []

    def make(config: dict[str, object]) -> ServerProcess:
        home = tmp_path / f"home{len(servers)}"
        home.mkdir()
        config_path = home / "volundr.yaml"
        config_path.write_text(yaml.safe_dump(config))
        server = ServerProcess(home=home, config=config_path)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        _kill_session_processes(server.home)


def _kill_session_processes(home: Path) -> None:
    """Safety net: no process of this server's sessions may outlive a test.

    Hosts run in `<home>/sessions/<id>` and agents in its workspace, so the working
    directory identifies them (assertions inside the tests check this earlier).
    """
    marker = str(home)
    for proc in psutil.process_iter(["cwd"]):
        try:
            if (proc.info.get("cwd") or "").startswith(marker):
                proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue


def session_processes(session_id: str) -> list[psutil.Process]:
    """Live processes carrying the session's marker variable."""
    found = []
    for proc in psutil.process_iter(["environ", "status"]):
        try:
            env = proc.info.get("environ") or {}
            if env.get("VOLUNDR_SESSION_ID") == session_id and (
                proc.info.get("status") != psutil.STATUS_ZOMBIE
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def wait_status(
    client: httpx.Client, session_id: str, wanted: set[str], timeout: float = 15
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/sessions/{session_id}").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.02)
    raise AssertionError(f"session {session_id} stuck in {body.get('status')}: {body}")


def script_agents(agent: Path, **template: object) -> dict[str, object]:
    """The `agents` settings of a server whose default agent runs the script `agent`."""
    return {
        "default": "script",
        "templates": {"script": {"kind": "command", "command": [str(agent)], **template}},
    }
