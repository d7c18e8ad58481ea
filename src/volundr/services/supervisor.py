"""Drives runs: launch, readiness wait, health checks, stop, and recovery after a restart.

One background task per starting session waits for readiness: the host's callback
wakes it at once, polling the runtime is the fallback. Nothing here is reachable from
HTTP directly; `SessionService` calls it.

No host report is lost by arriving early: what a report says (ready, failed, agent
exited) is also in the host's health, which the driver reads after every wake-up and once
more right after `running`, and which health checks and re-attach read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from volundr.domain.clock import utcnow
from volundr.domain.errors import InvalidTransition, RuntimeFailure, SessionNotFound
from volundr.domain.lifecycle import Operation
from volundr.domain.models import AgentTemplate, Session
from volundr.domain.models import SessionStatus as S
from volundr.ports import Launched, LaunchSpec, Phase, Runtime, RuntimeStatus, SessionStore
from volundr.services.agent_exits import AgentExits, run_ended
from volundr.services.transitions import Transitioner

__all__ = ["Supervisor", "Timeouts", "run_ended"]

log = logging.getLogger("volundr.supervisor")

_FIRST_POLL_S = 0.05
_MAX_POLL_S = 1.0


@dataclass(frozen=True)
class Timeouts:
    """Runtime timers, in seconds (API §0.2 `runtime.*`)."""

    provision_s: float = 300
    stop_grace_s: float = 10
    stop_s: float = 30
    health_interval_s: float = 10


class Supervisor:
    """Owns the background work of every run on this server."""

    def __init__(
        self,
        *,
        store: SessionStore,
        runtime: Runtime,
        transitions: Transitioner,
        timeouts: Timeouts,
        agents: Mapping[str, AgentTemplate],
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._transitions = transitions
        self._timeouts = timeouts
        self._exits = AgentExits(
            store=store, runtime=runtime, transitions=transitions, agents=agents,
            stop_grace_s=timeouts.stop_grace_s,
        )  # fmt: skip
        self._drivers: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._halted: set[str] = set()
        self._health_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ start

    def launch(self, session_id: str, spec: LaunchSpec) -> None:
        """Start the background driver that launches `spec` and waits for readiness."""
        self._run_driver(session_id, self._drive(session_id, spec))

    def _run_driver(self, session_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as the session's driver: the task `halt` stops and waits for."""
        self._halted.discard(session_id)
        self._wakeups[session_id] = asyncio.Event()
        task = asyncio.create_task(work, name=f"start-{session_id}")
        self._drivers[session_id] = task
        task.add_done_callback(lambda _t: self._forget(session_id, task))

    def wake(self, session_id: str) -> None:
        """The host called back: poll it now instead of at the next interval."""
        event = self._wakeups.get(session_id)
        if event is not None:
            event.set()

    async def _drive(self, session_id: str, spec: LaunchSpec) -> None:
        try:
            launched = await self._runtime.start(spec)
        except RuntimeFailure as exc:
            await self._fail(session_id, f"Provisioning failed: {exc.message}")
            return
        except Exception as exc:
            log.exception("session %s: runtime start crashed", session_id)
            await self._fail(session_id, f"Provisioning failed: {exc}")
            return
        if await self._record_launch(session_id, launched):
            await self._await_ready(session_id)

    async def _record_launch(self, session_id: str, launched: Launched) -> bool:
        """`starting` → `provisioning` with the launched runtime's state; False when a stop
        (or delete) was accepted first: then what was launched is ours to kill."""

        def attach(s: Session) -> None:
            s.runtime_state = launched.state
            s.pod_name = launched.pod_name
            s.code_endpoint = launched.code_endpoint

        try:
            await self._transitions.apply(session_id, Operation.LAUNCHED, attach)
        except (InvalidTransition, SessionNotFound):
            await self._kill_quietly(session_id, launched.state)
            return False
        return True

    async def _await_ready(self, session_id: str) -> None:
        interval = _FIRST_POLL_S
        wakeup = self._wakeups.setdefault(session_id, asyncio.Event())
        while session_id not in self._halted:
            session = await self._read(session_id)
            if session is None or session.status is not S.PROVISIONING:
                return
            status = await self._runtime.poll(self._state_of(session))
            if status.phase is Phase.READY:
                await self._mark_ready(session, status)
                return
            if status.phase in (Phase.FAILED, Phase.GONE):
                reason = status.error or "runtime exited"
                await self._fail_and_kill(session, f"Provisioning failed: {reason}")
                return
            started = session.run_started_at or session.created_at
            if utcnow() - started > timedelta(seconds=self._timeouts.provision_s):
                limit = _seconds(self._timeouts.provision_s)
                await self._fail_and_kill(
                    session, f"Provisioning timed out: not ready after {limit} s"
                )
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), interval)
            wakeup.clear()
            interval = min(interval * 2, _MAX_POLL_S)

    async def _mark_ready(self, session: Session, status: RuntimeStatus) -> None:
        """→ running; then an agent exit the host reported meanwhile is applied (its report
        may have come while the session was not running yet, and was only a wake-up)."""

        def ready(s: Session) -> None:
            s.launch.initial_prompt_sent = True  # the agent started with it (API §3.5)
            if status.branch and status.branch != s.source.branch:
                s.source = type(s.source)(
                    repo=s.source.repo, branch=status.branch, base_branch=s.source.base_branch
                )

        try:
            outcome = await self._transitions.apply(session.id, Operation.READY, ready)
        except (InvalidTransition, SessionNotFound):
            return
        if status.agent_exit_code is None:
            status = await self._runtime.poll(self._state_of(outcome.session))
        if status.phase is Phase.READY and status.agent_exit_code is not None:
            await self._exits.apply(outcome.session, status.agent_exit_code)

    # ------------------------------------------------------------------ stop

    async def halt(self, session_id: str) -> None:
        """Stop driving `session_id`: the driver returns at its next step; wait for it."""
        self._halted.add(session_id)
        self.wake(session_id)
        task = self._drivers.get(session_id)
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), self._timeouts.stop_s)

    async def stop_runtime(self, session: Session) -> None:
        """Stop the session's runtime within the stop deadline; raises RuntimeFailure."""
        try:
            await asyncio.wait_for(
                self._runtime.stop(self._state_of(session), grace_s=self._timeouts.stop_grace_s),
                self._timeouts.stop_s,
            )
        except TimeoutError:
            raise RuntimeFailure(
                f"runtime did not stop within {_seconds(self._timeouts.stop_s)} s"
            ) from None

    async def remove_workspace(self, session_id: str) -> None:
        await self._runtime.remove_workspace(session_id)

    async def _kill_quietly(self, session_id: str, state: dict[str, Any]) -> None:
        try:
            await self._runtime.stop({**state, "session_id": session_id}, grace_s=0)
        except Exception:
            log.exception("session %s: could not kill its runtime", session_id)

    # ------------------------------------------------------------------ failures

    async def _fail(self, session_id: str, error: str) -> None:
        def failed(s: Session) -> None:
            s.error = error
            run_ended(s)

        with contextlib.suppress(InvalidTransition, SessionNotFound):
            await self._transitions.apply(session_id, Operation.FAIL, failed)

    async def _fail_and_kill(self, session: Session, error: str) -> None:
        await self._kill_quietly(session.id, session.runtime_state)
        await self._fail(session.id, error)

    async def agent_exited(self, session_id: str, exit_code: int) -> None:
        """The host reported that its agent exited: applied now to a running session (API
        §3.2); before that it only wakes the readiness driver, which applies it (read from
        the host's health) as soon as the session is running."""
        session = await self._read(session_id)
        if session is None:
            return
        if session.status is S.RUNNING:
            await self._exits.apply(session, exit_code)
        else:
            self.wake(session_id)

    # ------------------------------------------------------------------ health, recovery

    def start_health_checks(self) -> None:
        if self._health_task is None:
            self._health_task = asyncio.create_task(self._health_loop(), name="health-checks")

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._timeouts.health_interval_s)
            try:
                await self.check_running()
            except Exception:
                log.exception("health check round failed")

    async def check_running(self) -> None:
        """Move every running session whose runtime vanished to `failed`, and apply the
        agent exit its runtime shows (a lost or early report)."""
        async with self._store.reader() as tx:
            running = await tx.sessions_in(frozenset({S.RUNNING}))
        for session in running:
            if self._exits.applying(session.id):
                continue  # its runtime is being stopped on purpose
            status = await self._runtime.poll(self._state_of(session))
            await self._check_one(session, status)

    async def _check_one(self, session: Session, status: RuntimeStatus) -> None:
        if status.phase is Phase.GONE:
            how = status.error or "runtime gone"
            await self._fail_and_kill(session, f"Runtime exited unexpectedly: {how}")
        elif status.agent_exit_code is not None:
            await self._exits.apply(session, status.agent_exit_code)

    async def recover(self) -> None:
        """Reconcile every session left active by a previous server process (API §3.6)."""
        active = frozenset({S.STARTING, S.PROVISIONING, S.RUNNING, S.STOPPING})
        async with self._store.reader() as tx:
            sessions = await tx.sessions_in(active)
        for session in sessions:
            try:
                await self._recover_one(session)
            except Exception:
                log.exception("session %s: recovery failed", session.id)

    async def _recover_one(self, session: Session) -> None:
        if session.status is S.STARTING:
            await self._recover_start(session)
            return
        status = await self._runtime.poll(self._state_of(session))
        alive = status.phase in (Phase.PROVISIONING, Phase.READY)
        if session.status is S.PROVISIONING and alive:
            log.info("session %s: re-attached while provisioning", session.id)
            self._run_driver(session.id, self._await_ready(session.id))
        elif session.status is S.PROVISIONING:
            await self._fail_and_kill(session, "Runtime lost during provisioning")
        elif session.status is S.RUNNING and alive:
            log.info("session %s: re-attached", session.id)
            await self._check_one(session, status)
        elif session.status is S.RUNNING:
            how = status.error or "runtime gone"
            await self._fail_and_kill(session, f"Runtime exited unexpectedly: {how}")
        elif session.status is S.STOPPING:
            await self._kill_quietly(session.id, session.runtime_state)
            with contextlib.suppress(InvalidTransition, SessionNotFound):
                await self._transitions.apply(session.id, Operation.STOPPED, run_ended)

    async def _recover_start(self, session: Session) -> None:
        """A `starting` session has no saved runtime state, but the previous server may
        have died after launching its runtime. Exactly one found: recorded as if `start`
        had just returned, then the readiness wait resumes as for `provisioning` (the
        timeout still counts from the start). None: failed. Several: at most one runtime
        per session and none of them can be told apart, so all are stopped: failed."""
        try:
            found = await self._runtime.find_launched(session.id)
        except RuntimeFailure as exc:
            log.warning("session %s: could not look for its runtime: %s", session.id, exc.message)
            found = []
        if len(found) == 1:
            if await self._record_launch(session.id, found[0]):
                log.info("session %s: re-attached while starting", session.id)
                self._run_driver(session.id, self._await_ready(session.id))
            return
        if found:
            log.warning("session %s: %d runtimes found after a restart; stopping them all",
                        session.id, len(found))  # fmt: skip
        for launched in found:
            await self._kill_quietly(session.id, launched.state)
        await self._fail_and_kill(session, "Start interrupted by a server restart")

    async def close(self) -> None:
        """Cancel background work; sessions keep running (their hosts are detached)."""
        tasks = [*self._drivers.values()]
        if self._health_task is not None:
            tasks.append(self._health_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._health_task = None

    # ------------------------------------------------------------------ helpers

    async def _read(self, session_id: str) -> Session | None:
        async with self._store.reader() as tx:
            return await tx.get_session(session_id)

    @staticmethod
    def _state_of(session: Session) -> dict[str, Any]:
        return {**session.runtime_state, "session_id": session.id}

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        if self._drivers.get(session_id) is task:
            del self._drivers[session_id]
            self._wakeups.pop(session_id, None)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
