"""The local runtime: each session host is a detached process group on this machine.

`start` spawns `python -m volundr.host` in its own session (so it survives the API server),
handing it an already-listening 127.0.0.1 socket (no port race) and its launch spec through
a pipe on its stdin (never the environment: the agent runs as the same user and could read
the host's `/proc/<pid>/environ`, and the spec holds the session token). The returned
state, stored in the session row, is everything `poll` and `stop` need, so a restarted
server re-attaches from a fresh instance:

    {"session_id", "pid", "create_time", "pgid", "port", "session_dir", "workspace",
     "log_offset", "out_offset"}

`(pid, create_time)` identifies the host; a reused pid is never signalled. A server that
died before saving that state finds its hosts again with `find_launched`: by the session
marker in their environment, their `-m volundr.host` command line and their listening port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from volundr.domain.diffs import DiffBase, DiffSummary, FileDiff, FullDiff
from volundr.domain.errors import AgentBusy, InvalidRequest, RuntimeFailure
from volundr.domain.logs import LogPage, LogQuery
from volundr.host.logwriter import last_fatal_message
from volundr.host.spec import (
    DEFAULT_EARLY_EXIT_S,
    DEFAULT_ORPHAN_CHECK_S,
    FD_ENV,
    SESSION_MARKER_ENV,
    HostSpec,
    encode_spec,
    log_path_of,
)
from volundr.ports import Launched, LaunchSpec, Phase, RuntimeStatus
from volundr.runtime import process
from volundr.runtime.files import SessionFiles

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_POLL_S = 0.05
KILL_WAIT_S = 2.0
"""How long SIGKILLed processes get to disappear before `stop` calls them survivors."""
_PHASES = {"provisioning": Phase.PROVISIONING, "ready": Phase.READY, "failed": Phase.FAILED}


class LocalRuntime:
    """Runs session hosts as local process groups under `sessions_dir/<session id>/`."""

    name = "local"

    def __init__(
        self,
        *,
        sessions_dir: Path,
        python: str = sys.executable,
        max_line_bytes: int = 16_384,
        stop_grace_s: float = 10.0,
        health_timeout_s: float = 1.0,
        early_exit_s: float = DEFAULT_EARLY_EXIT_S,
        max_log_bytes: int | None = None,
        orphan_check_s: float = DEFAULT_ORPHAN_CHECK_S,
    ) -> None:
        self._sessions_dir = Path(sessions_dir)
        self._orphan_check_s = orphan_check_s
        self._files = SessionFiles(self._sessions_dir)
        self._max_log_bytes = max_log_bytes
        self._python = python or sys.executable
        self._max_line_bytes = max_line_bytes
        self._stop_grace_s = stop_grace_s
        self._health_timeout_s = health_timeout_s
        self._early_exit_s = early_exit_s
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._exit_codes: dict[int, int] = {}

    async def start(self, spec: LaunchSpec) -> Launched:
        """Spawn the host; returns once it runs (not ready). Raises RuntimeFailure."""
        session_dir = self._session_dir(spec.session_id)
        try:
            state = await asyncio.to_thread(self._spawn, spec, session_dir)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RuntimeFailure(f"could not launch the session host: {reason}") from None
        return _launched(state)

    async def find_launched(self, session_id: str) -> list[Launched]:
        """Hosts of `session_id` found by its marker and their `volundr.host` command line,
        with their port read from their listening socket (None when it cannot be read, a
        host closing down: `poll` then reads the state as gone).

        The log offsets of a found host are the sizes at discovery (its launch-time sizes
        were never recorded): an exit reason it logged before it was found is not read back.
        """
        try:
            session_dir = self._session_dir(session_id)
        except RuntimeFailure:
            return []  # no host can run under an id the runtime refuses
        hosts = await asyncio.to_thread(process.hosts_with_marker, session_id)
        states = [await asyncio.to_thread(_found_state, host, session_dir) for host in hosts]
        return [_launched(state) for state in states if state is not None]

    async def poll(self, state: dict[str, Any]) -> RuntimeStatus:
        """READY/PROVISIONING/FAILED from the host's /health; GONE once the host exited.

        An unanswered /health while the process lives reads as PROVISIONING (starting).
        """
        try:
            pid, create_time, port = (
                int(state["pid"]),
                float(state["create_time"]),
                int(state["port"]),
            )
        except (KeyError, TypeError, ValueError):
            return RuntimeStatus(Phase.GONE, error="invalid runtime state")
        if self._is_alive(pid, create_time):
            return await self._health(port)
        return RuntimeStatus(Phase.GONE, error=self._gone_reason(state, pid))

    async def stop(self, state: dict[str, Any], *, grace_s: float) -> None:
        """SIGTERM the host, wait `grace_s`, SIGKILL its group, its descendants and every
        process carrying the session's marker. Idempotent; raises RuntimeFailure only
        when something survives SIGKILL.
        """
        session_id = str(state.get("session_id", ""))
        host = _verified_host(state)
        doomed: list[psutil.Process] = []
        if host is not None:
            doomed = [host, *process.descendants(host)]
            process.send([host], signal.SIGTERM)
            await self._wait_gone([host], grace_s)
            doomed += process.descendants(host)
            process.kill_group(int(state.get("pgid", host.pid)))
            process.send(process.alive(doomed), signal.SIGKILL)
            self._reap(host.pid)
        if session_id:
            marked = await asyncio.to_thread(process.with_marker, session_id)
            process.send(marked, signal.SIGKILL)
            doomed += marked
        await self._wait_gone(doomed, KILL_WAIT_S)
        if host is not None:
            self._reap(host.pid)
        survivors = process.alive(doomed)
        if session_id:
            survivors += await asyncio.to_thread(process.with_marker, session_id)
        if survivors:
            raise RuntimeFailure(
                f"processes of the session survived SIGKILL: {process.describe(survivors)}"
            )

    async def remove_workspace(self, session_id: str) -> None:
        """Delete `<sessions_dir>/<session_id>` (workspace and logs). Idempotent."""
        target = self._session_dir(session_id)
        try:
            await asyncio.to_thread(_rmtree, target)
        except OSError as exc:
            raise RuntimeFailure(f"could not remove the workspace: {exc}") from None

    # ------------------------------------------------------------------ workspace reads

    async def read_logs(self, session_id: str, query: LogQuery) -> LogPage:
        """Tail-seeks `<session dir>/logs/session.jsonl` (and its rotated half)."""
        return await self._files.read_logs(session_id, query)

    async def workspace_ready(self, session_id: str) -> bool:
        return await self._files.workspace_ready(session_id)

    async def diff_files(self, session_id: str, base: DiffBase) -> DiffSummary:
        return await self._files.diff_files(session_id, base)

    async def diff(self, session_id: str, base: DiffBase, *, max_bytes: int) -> FullDiff:
        return await self._files.diff(session_id, base, max_bytes)

    async def file_diff(
        self, session_id: str, base: DiffBase, path: str, *, max_bytes: int
    ) -> FileDiff:
        return await self._files.file_diff(session_id, base, path, max_bytes)

    async def workspace_size(self, session_id: str) -> int | None:
        return await self._files.size(session_id)

    def workspace_path(self, session_id: str) -> str | None:
        return self._files.workspace_path(session_id)

    async def send_message(self, state: dict[str, Any], content: str) -> int:
        """POST the message to the host's `/messages` (authenticated by `control_key`)."""
        session_id = str(state.get("session_id", ""))
        try:
            port = int(state["port"])
        except (KeyError, TypeError, ValueError):
            raise RuntimeFailure("the session host has no port") from None
        headers = {"Authorization": f"Bearer {state.get('control_key') or ''}"}
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False, verify=False) as client:
                response = await client.post(
                    f"http://127.0.0.1:{port}/messages", json={"content": content},
                    headers=headers,
                )  # fmt: skip
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RuntimeFailure(f"could not reach the session host: {exc}") from None
        if response.status_code == 409:
            raise AgentBusy(session_id)
        if response.status_code == 422:
            raise InvalidRequest(str(body.get("detail", "the agent does not accept messages")))
        if response.status_code != 202 or not isinstance(body.get("turn"), int):
            raise RuntimeFailure(f"the session host answered {response.status_code}")
        turn: int = body["turn"]
        return turn

    # ------------------------------------------------------------------ internals

    def _session_dir(self, session_id: str) -> Path:
        if not _SAFE_ID.match(session_id) or session_id in (".", ".."):
            raise RuntimeFailure(f"invalid session id for a local runtime: {session_id!r}")
        root = self._sessions_dir.resolve()
        target = (root / session_id).resolve()
        if target.parent != root:
            raise RuntimeFailure(f"session directory escapes the sessions dir: {session_id!r}")
        return target

    def _spawn(self, spec: LaunchSpec, session_dir: Path) -> dict[str, Any]:
        session_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # workspaces hold secrets
        logs = session_dir / "logs"
        logs.mkdir(exist_ok=True)
        host_spec = HostSpec(
            spec, session_dir, self._max_line_bytes, self._stop_grace_s, self._early_exit_s,
            max_log_bytes=self._max_log_bytes, orphan_check_s=self._orphan_check_s,
        )
        log_path = log_path_of(session_dir)
        log_offset = log_path.stat().st_size if log_path.exists() else 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOLUNDR_")}
        env[SESSION_MARKER_ENV] = spec.session_id
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
            open(logs / "host.out", "ab") as out,
        ):
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            env[FD_ENV] = str(sock.fileno())
            out_offset = out.tell()
            child = subprocess.Popen(
                [self._python, "-P", "-m", "volundr.host"],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=session_dir,
                env=env,
                pass_fds=(sock.fileno(),),
                start_new_session=True,
            )
            port = sock.getsockname()[1]
        self._children[child.pid] = child
        _hand_over(child, encode_spec(host_spec))
        try:
            create_time = psutil.Process(child.pid).create_time()
        except psutil.Error:
            create_time = 0.0  # already gone: poll will say so
        return {
            "session_id": spec.session_id,
            "pid": child.pid,
            "create_time": create_time,
            "pgid": child.pid,
            "port": port,
            "session_dir": str(session_dir),
            "workspace": str(host_spec.workspace),
            "log_offset": log_offset,
            "out_offset": out_offset,
        }

    async def _health(self, port: int) -> RuntimeStatus:
        try:
            # Plain http on loopback: verify=False skips loading CA certificates (~0.1 s).
            async with httpx.AsyncClient(
                timeout=self._health_timeout_s, trust_env=False, verify=False
            ) as client:
                response = await client.get(f"http://127.0.0.1:{port}/health")
            body = response.json()
            phase = _PHASES[body["status"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return RuntimeStatus(Phase.PROVISIONING)
        agent = body.get("agent") or {}
        exit_code = agent.get("exit_code") if isinstance(agent, dict) else None
        return RuntimeStatus(
            phase,
            error=body.get("error"),
            branch=body.get("branch"),
            agent_exit_code=exit_code if isinstance(exit_code, int) else None,
            extra={"agent_pid": agent.get("pid") if isinstance(agent, dict) else None},
        )

    def _gone_reason(self, state: dict[str, Any], pid: int) -> str:
        session_dir = Path(str(state.get("session_dir", "")))
        fatal = last_fatal_message(log_path_of(session_dir), int(state.get("log_offset", 0)))
        if fatal:
            return fatal
        reason = f"host process {pid} exited"
        code = self._exit_codes.get(pid)
        if code is not None:
            reason += f" with status {code}" if code >= 0 else f" on signal {-code}"
        tail = _last_output_line(session_dir / "logs" / "host.out", int(state.get("out_offset", 0)))
        return f"{reason}: {tail}" if tail else reason

    def _is_alive(self, pid: int, create_time: float) -> bool:
        """Our own child: ask waitpid (exact, and it reaps). Otherwise (a host started by an
        earlier server process): the pid must exist with the same start time, not a zombie.
        """
        if pid in self._children:
            self._reap(pid)
            return pid in self._children
        proc = process.find_process(pid, create_time)
        return proc is not None and not process.is_gone(proc)

    def _reap(self, pid: int) -> None:
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            self._exit_codes[pid] = child.returncode
            del self._children[pid]

    async def _wait_gone(self, procs: list[psutil.Process], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not process.alive(procs) or time.monotonic() >= deadline:
                return
            await asyncio.sleep(_POLL_S)


def _launched(state: dict[str, Any]) -> Launched:
    return Launched(
        state=state,
        pod_name=f"local-{state['pid']}",
        code_endpoint=f"file://{state['workspace']}",
    )


def _found_state(host: psutil.Process, session_dir: Path) -> dict[str, Any] | None:
    """The state `start` would have returned for `host`; None when it exited meanwhile."""
    try:
        session_id = host.environ()[SESSION_MARKER_ENV]
        create_time = host.create_time()
    except (psutil.Error, KeyError):
        return None
    return {
        "session_id": session_id,
        "pid": host.pid,
        "create_time": create_time,
        # `start` makes each host lead its own group; never name another group, whatever
        # started the process found.
        "pgid": host.pid,
        "port": process.listening_port(host),
        "session_dir": str(session_dir),
        "workspace": str(session_dir / "workspace"),
        "log_offset": _size(log_path_of(session_dir)),
        "out_offset": _size(session_dir / "logs" / "host.out"),
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _hand_over(child: subprocess.Popen[bytes], spec_json: str) -> None:
    """Write the spec to the host's stdin and close it; a host that died first is left to
    `poll` (it reports the exit)."""
    assert child.stdin is not None
    try:
        child.stdin.write(spec_json.encode())
        child.stdin.close()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            child.stdin.close()


def _verified_host(state: dict[str, Any]) -> psutil.Process | None:
    try:
        return process.find_process(int(state["pid"]), float(state["create_time"]))
    except (KeyError, TypeError, ValueError):
        return None


def _last_output_line(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(offset, os.path.getsize(path) - 4096, 0))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _rmtree(target: Path) -> None:
    def make_writable(func: Any, path: str, exc: Any) -> None:
        if isinstance(exc[1], FileNotFoundError):
            return  # removed meanwhile (a concurrent delete): gone either way
        os.chmod(path, stat.S_IRWXU)
        func(path)

    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target, onerror=make_writable)
