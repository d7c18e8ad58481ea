"""Activity reports (API §4.11) and messages to the agent (API §4.14)."""

from __future__ import annotations

from typing import Any

from volundr.domain.clock import utcnow
from volundr.domain.errors import InvalidRequest, InvalidTransition
from volundr.domain.models import AgentTemplate, Broadcast, Principal, Session, SessionStatus
from volundr.ports import Notifier, Runtime, SessionStore
from volundr.services.access import ReportCaller, require_reporter, visible_session

ACTIVITY_STATES = frozenset({"active", "idle", "tool_executing"})
_ACTIVITY_STATUSES = frozenset({SessionStatus.PROVISIONING, SessionStatus.RUNNING})
_MAX_ATTEMPTS = 20


def activity_broadcast(session: Session) -> Broadcast:
    """The `session_activity` event of the session's current activity."""
    return Broadcast(
        name="session_activity",
        payload={
            "session_id": session.id,
            "state": session.activity_state,
            "metadata": session.activity_metadata,
            "owner_id": session.owner_id,
        },
        owner_id=session.owner_id,
        tenant_id=session.tenant_id,
        session_id=session.id,
    )


class ActivityService:
    def __init__(self, store: SessionStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    async def report(
        self, caller: ReportCaller, session_id: str, state: str, metadata: dict[str, Any]
    ) -> None:
        """Persist the state, bump `last_active`, publish `session_activity`."""
        for _ in range(_MAX_ATTEMPTS):
            async with self._store.transaction() as tx:
                session = visible_session(caller, await tx.get_session(session_id), session_id)
                require_reporter(caller)
                if session.status not in _ACTIVITY_STATUSES:
                    raise InvalidTransition(session_id, "report activity for", session.status)
                if state not in ACTIVITY_STATES:
                    raise InvalidRequest(f"Invalid activity state: {state}")
                expected = session.version
                session.activity_state = state
                session.activity_metadata = metadata
                session.last_active = session.updated_at = utcnow()
                won = await tx.update_session(session, expected)
                if won:
                    await tx.append_broadcast(activity_broadcast(session))
            if won:
                self._notifier.notify()
                return
        raise RuntimeError(f"session {session_id}: activity report kept losing races")


class MessageService:
    """Hands user messages to a running session's agent through its runtime."""

    def __init__(
        self, store: SessionStore, runtime: Runtime, agents: dict[str, AgentTemplate]
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._agents = agents

    async def send(self, principal: Principal, session_id: str, content: str) -> int:
        """Returns the turn number; AgentBusy (409) while a turn runs."""
        caller = ReportCaller(principal)
        async with self._store.reader() as tx:
            session = visible_session(caller, await tx.get_session(session_id), session_id)
        require_reporter(caller)
        if session.status is not SessionStatus.RUNNING:
            raise InvalidTransition(session_id, "send a message to", session.status)
        template = self._agents.get(session.agent)
        if template is None or template.kind == "command":
            raise InvalidRequest(f"Agent {session.agent} does not accept messages")
        state = {
            **session.runtime_state,
            "session_id": session.id,
            "control_key": session.token_hash,
        }
        return await self._runtime.send_message(state, content)
