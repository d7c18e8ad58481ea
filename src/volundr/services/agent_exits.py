"""What an agent's exit does to its running session (API §3.2).

With `stop_on_exit`: status 0 → `stopped`, else `failed` (`Agent exited with status N`).
Without it the session stays `running` with `activity_state: "idle"`. An exit is applied
only to a `running` session; one learnt earlier is not lost, because the host's /health
keeps the exit code: the supervisor applies it again once the session runs, and at every
health check and re-attach. Applying the same exit twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from volundr.domain.clock import utcnow
from volundr.domain.lifecycle import Operation
from volundr.domain.models import AgentTemplate, Broadcast, Session
from volundr.domain.models import SessionStatus as S
from volundr.ports import Runtime, SessionStore
from volundr.services.transitions import Mutation, Transitioner

log = logging.getLogger("volundr.supervisor")
_MAX_TRIES = 20


def run_ended(session: Session) -> None:
    """Side effects of a run ending (→ stopped/failed), API §3.5."""
    session.chat_endpoint = None
    session.code_endpoint = None
    session.activity_state = None
    session.activity_metadata = {}
    session.token_hash = None


class AgentExits:
    """Applies agent exits; `applying` tells which sessions are being ended by one."""

    def __init__(
        self,
        *,
        store: SessionStore,
        runtime: Runtime,
        transitions: Transitioner,
        agents: Mapping[str, AgentTemplate],
        stop_grace_s: float,
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._transitions = transitions
        self._agents = dict(agents)
        self._stop_grace_s = stop_grace_s
        self._applying: set[str] = set()

    def applying(self, session_id: str) -> bool:
        """An exit is ending this session now (its runtime is being stopped on purpose)."""
        return session_id in self._applying

    async def apply(self, session: Session, exit_code: int) -> None:
        """Apply `exit_code` to `session` if it is `running`; otherwise do nothing."""
        if session.status is not S.RUNNING or session.id in self._applying:
            return
        template = self._agents.get(session.agent)
        if template is None or not template.stop_on_exit:
            await self._set_idle(session.id)
            return
        self._applying.add(session.id)
        try:
            await self._end(session, exit_code)
        finally:
            self._applying.discard(session.id)

    async def _end(self, session: Session, exit_code: int) -> None:
        """Stop the host (it gets the grace period to deliver its last reports), then
        record the end of the run."""
        try:
            await self._runtime.stop(
                {**session.runtime_state, "session_id": session.id}, grace_s=self._stop_grace_s
            )
        except Exception:
            log.exception("session %s: could not stop its runtime after the agent exited",
                          session.id)  # fmt: skip

        def failed(s: Session) -> None:
            s.error = f"Agent exited with status {exit_code}"
            run_ended(s)

        operation, mutate = (Operation.STOPPED, run_ended) if exit_code == 0 else (
            Operation.FAIL, failed
        )
        await self._end_run(session.id, operation, mutate)

    async def _end_run(self, session_id: str, operation: Operation, mutate: Mutation) -> None:
        """Apply `operation` only while the session is still `running`: a stop accepted
        meanwhile (`stopping`) finishes on its own terms."""
        for _ in range(_MAX_TRIES):
            async with self._store.transaction() as tx:
                current = await tx.get_session(session_id)
                if current is None or current.status is not S.RUNNING:
                    return
                won = await self._transitions.apply_in(tx, current, operation, mutate)
            if won:
                log.info("session %s: agent exited: running → %s%s", session_id,
                         current.status.value, f" ({current.error})" if current.error else "")
                self._transitions.wake()
                return

    async def _set_idle(self, session_id: str) -> None:
        """`activity_state := "idle"` (bumping `last_active`) unless it already is."""
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
        if session is None or session.status is not S.RUNNING:
            return
        if session.activity_state == "idle":
            return
        expected = session.version
        session.activity_state = "idle"
        session.last_active = session.updated_at = utcnow()
        async with self._store.transaction() as tx:
            if not await tx.update_session(session, expected):
                return  # a concurrent write won; the next health check looks again
            await tx.append_broadcast(
                Broadcast(
                    name="session_activity",
                    payload={
                        "session_id": session.id,
                        "state": "idle",
                        "metadata": session.activity_metadata,
                        "owner_id": session.owner_id,
                    },
                    owner_id=session.owner_id,
                    tenant_id=session.tenant_id,
                    session_id=session.id,
                )
            )
        self._transitions.wake()
