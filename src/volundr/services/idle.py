"""Idle auto-stop (off by default): a running session whose activity has been `idle` for
its agent's `idle_timeout_s` is stopped, with the reason in its `error`.

A session is idle from its latest activity report (or the agent's exit) saying `idle`:
that report set `last_active`, and any later activity or usage report moves it again, so
the timeout restarts on every report; `active` and `tool_executing` never count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from volundr.domain.budgets import idle_reason
from volundr.domain.clock import utcnow
from volundr.domain.models import AgentTemplate, Session, SessionStatus
from volundr.ports import SessionStore
from volundr.services.autostop import AutoStop, StillDue

log = logging.getLogger("volundr.idle")


class IdleWatch:
    """Checks running sessions every `interval_s` seconds while started."""

    def __init__(
        self,
        *,
        store: SessionStore,
        agents: dict[str, AgentTemplate],
        autostop: AutoStop,
        interval_s: float,
    ) -> None:
        self._store = store
        self._timeouts = {
            name: t.idle_timeout_s for name, t in agents.items() if t.idle_timeout_s
        }
        self._autostop = autostop
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the periodic check; a no-op when no agent has an idle timeout."""
        if self._timeouts and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="idle-watch")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:
                log.exception("idle check round failed")

    async def check(self) -> None:
        """Ask for the stop of every running session idle past its timeout."""
        now = utcnow()
        async with self._store.reader() as tx:
            running = await tx.sessions_in(frozenset({SessionStatus.RUNNING}))
        for session in running:
            timeout = self._timeouts.get(session.agent)
            if timeout is None or session.activity_state != "idle":
                continue
            if now - session.last_active >= timedelta(seconds=timeout):
                self._autostop.request(session.id, idle_reason(timeout), _unchanged(session))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _unchanged(seen: Session) -> StillDue:
    """Still running and idle since the same report: no activity came in meanwhile."""

    def still(current: Session) -> bool:
        return (
            current.status is SessionStatus.RUNNING
            and current.activity_state == "idle"
            and current.last_active == seen.last_active
        )

    return still
