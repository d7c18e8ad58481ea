"""The host's life: serve /health, prepare the workspace, start the agent, report, stop.

Readiness: the host is `ready` once the workspace is checked out and the agent was spawned
and did not exit with a non-zero status within `early_exit_s` (0.1 s by default): an agent
that dies at once (bad flags, missing API key in a script) fails the start with
`agent exited with status N before ready` instead of flashing `running`. Turn-based agents
(claude-code, codex) with an empty prompt are not spawned at all; the host is ready and idle.

A fatal error (clone, missing agent, early exit) is logged with `"fatal": true`, shown by
/health as `failed`, reported, and the host exits with status 1 about 0.5 s later.
SIGTERM/SIGINT stop the agent's whole process tree and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from volundr.host import agent as agents
from volundr.host.git import Git, git_env
from volundr.host.gitwatch import HeadWatcher
from volundr.host.logwriter import LogWriter
from volundr.host.procs import ChildReaper, kill_descendants
from volundr.host.reporter import Report, Reporter
from volundr.host.reports import ReportSender
from volundr.host.server import HttpServer
from volundr.host.spec import HostSpec
from volundr.host.spool import Spool
from volundr.host.startpoint import record_start
from volundr.host.turns import Turns
from volundr.host.workspace import WorkspaceError, prepare

log = logging.getLogger("volundr.host")
provision_log = logging.getLogger("volundr.provision")

FATAL_EXIT_DELAY_S = 0.5
"""How long a failed host stays up so a poll of /health can see `failed`."""
EXIT_FLUSH_S = 5.0
STOP_FLUSH_S = 1.0
"""How long a stopping host tries to deliver the reports left in its spool (the rest wait
on disk for the session's next run)."""


class FatalError(Exception):
    """The start cannot succeed; the message is the session's `error`."""


@dataclass
class HealthState:
    """What GET /health returns."""

    status: str = "provisioning"
    error: str | None = None
    branch: str | None = None
    agent_pid: int | None = None
    agent_exit_code: int | None = None

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "error": self.error,
            "branch": self.branch,
            "agent": {"pid": self.agent_pid, "exit_code": self.agent_exit_code},
        }


class Supervisor:
    """Runs one session host; `run` returns the process exit status."""

    def __init__(self, spec: HostSpec, sock: socket.socket, writer: LogWriter) -> None:
        self._spec = spec
        self._sock = sock
        self._reaper = ChildReaper()
        self._health = HealthState()
        launch = spec.launch
        self._reporter = Reporter(launch.callback_url, launch.session_id, launch.token)
        spool = Spool(spec.session_dir / "spool") if launch.callback_url else None
        self._reports = ReportSender(spool, launch.callback_url, launch.session_id, launch.token)
        self._turns = Turns(
            template=launch.agent, session_dir=spec.session_dir, workspace=spec.workspace,
            writer=writer, reaper=self._reaper, max_line_bytes=spec.max_line_bytes,
            reports=self._reports, token=launch.token, on_start=self._agent_started,
            on_exit=self._agent_exited,
        )  # fmt: skip
        self._server = HttpServer(
            {"/health": self._health_route}, {"/messages": self._turns.message_route}
        )
        self._session_started = False
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGCHLD, self._reaper.reap)
        await self._server.start(self._sock)
        self._spawn(self._reaper.run_periodically())
        self._spawn(self._reporter.run())
        self._spawn(self._reports.run())
        self._spawn(self._stop_when_orphaned(stop))
        provision = asyncio.create_task(self._provision())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({provision, stopped}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if provision.done() and provision.exception() is None:
            await stopped
        elif provision.done():
            code = await self._fail(provision.exception(), stopped)
        else:
            provision.cancel()
            await asyncio.gather(provision, return_exceptions=True)
        if code == 0:
            await self._stop()
        stopped.cancel()
        await self._shutdown()
        return code

    async def _provision(self) -> None:
        spec, launch = self._spec, self._spec.launch
        base_env = dict(os.environ)
        git = Git(
            git_env(
                base_env,
                allow_http=bool(launch.allowed_http_hosts),
                allow_file=launch.allow_local_repos,
            ),
            self._reaper,
        )
        try:
            checkout = await prepare(launch, spec.workspace, git)
        except WorkspaceError as exc:
            raise FatalError(str(exc)) from None
        self._health.branch = checkout.branch
        try:
            record_start(spec.session_dir, checkout.branch, checkout.sha)
        except OSError as exc:
            log.warning("could not record the start commit: %s", exc)
        model = launch.model or launch.agent.model
        head = HeadWatcher(git, spec.workspace)
        await head.start()
        self._session_started = True
        self._reports.event("session_start", {
            "agent": launch.agent.name, "kind": launch.agent.kind, "model": model,
            "branch": checkout.branch, "commit": checkout.sha,
        })  # fmt: skip
        try:
            env = agents.build_env(
                base_env, launch.agent, launch.env, launch.prompt, launch.session_id
            )
            turn_based = agents.runs_per_message(launch.agent)
            self._turns.configure(env, model, head if turn_based else None)
            argv = self._turns.argv(launch.prompt)
            if turn_based and not launch.prompt:
                agents.resolve_executable(launch.agent.name, argv[0], env, spec.workspace)
                log.info(
                    "no initial prompt: agent %s waits for the first message", launch.agent.name
                )
            else:
                await self._start_agent(launch.prompt)
        except agents.AgentError as exc:
            raise FatalError(str(exc)) from None
        self._health.status = "ready"
        log.info("ready")
        self._reporter.report(Report("ready", branch=checkout.branch))

    async def _start_agent(self, prompt: str) -> None:
        """Run the first turn; it fails the start when it exits non-zero at once."""
        exited = await self._turns.start(prompt)
        log.info("agent %s started (pid %s)", self._spec.launch.agent.name, self._turns.pid)
        done, _ = await asyncio.wait({exited}, timeout=self._spec.early_exit_s)
        if done and exited.result() != 0:
            self._health.agent_exit_code = exited.result()
            raise FatalError(f"agent exited with status {exited.result()} before ready")
        self._spawn(self._watch_agent(exited))

    async def _watch_agent(self, exited: asyncio.Task[int]) -> None:
        await self._agent_exited(await exited)

    def _agent_started(self, pid: int | None) -> None:
        """A turn's process runs: /health shows it, and no exit until it exits."""
        self._health.agent_pid = pid
        self._health.agent_exit_code = None

    async def _agent_exited(self, code: int) -> None:
        """A turn's process exited: shown by /health, then reported, once the turn's own
        reports were delivered (or `EXIT_FLUSH_S` passed), so the API never sees the exit
        before the turn. Nothing is shown when the next turn started meanwhile."""
        await self._reports.flush(timeout_s=EXIT_FLUSH_S)
        if self._stopping or self._turns.busy:
            return
        self._health.agent_exit_code = code
        log.log(logging.INFO if code == 0 else logging.WARNING, "agent exited with status %d", code)
        self._reporter.report(Report("agent_exited", branch=self._health.branch, exit_code=code))

    async def _fail(self, exc: BaseException | None, stopped: asyncio.Task[Any]) -> int:
        """Record, log and report the failure; return 1 after FATAL_EXIT_DELAY_S or a stop."""
        if isinstance(exc, FatalError):
            message = str(exc)
            provision_log.error(message, extra={"fatal": True})
        else:
            message = f"host error: {exc}"
            provision_log.error(message, extra={"fatal": True}, exc_info=exc)
        self._health.status = "failed"
        self._health.error = message
        self._reporter.report(Report("failed", error=message, branch=self._health.branch))
        if self._session_started:
            self._reports.event("session_stop", {"reason": "failed", "error": message})
        await kill_descendants(self._reaper, grace_s=min(self._spec.stop_grace_s, 1.0))
        linger = asyncio.ensure_future(
            asyncio.gather(
                asyncio.sleep(FATAL_EXIT_DELAY_S),
                self._reporter.drain(timeout_s=3.0),
                self._reports.flush(timeout_s=3.0),
            )
        )
        await asyncio.wait({linger, stopped}, return_when=asyncio.FIRST_COMPLETED)
        linger.cancel()
        await asyncio.gather(linger, return_exceptions=True)
        return 1

    async def _stop(self) -> None:
        self._stopping = True
        self._turns.halt()
        log.info("stopping")
        if self._session_started:
            self._reports.event("session_stop", {"reason": "stopped"})
        survivors = await kill_descendants(self._reaper, grace_s=self._spec.stop_grace_s)
        if survivors:
            log.error("processes survived SIGKILL: %s", ", ".join(map(str, survivors)))
        await self._turns.drain(timeout_s=0.2)
        await self._reports.flush(timeout_s=STOP_FLUSH_S)
        log.info("stopped")

    async def _shutdown(self) -> None:
        await self._turns.close()
        await self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _stop_when_orphaned(self, stop: asyncio.Event) -> None:
        """Once the session directory is gone (data dir wiped, a test's temp dir deleted),
        no server can reach or stop this host: it stops itself rather than run forever."""
        while await asyncio.to_thread(self._spec.session_dir.is_dir):  # noqa: ASYNC110 - a poll of the filesystem
            await asyncio.sleep(self._spec.orphan_check_s)
        log.warning("session directory %s was removed: stopping", self._spec.session_dir)
        stop.set()

    async def _health_route(self) -> tuple[int, Any]:
        return 200, self._health.body()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
