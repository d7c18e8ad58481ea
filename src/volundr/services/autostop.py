"""Stops the server decides on by itself (a budget reached, an idle timeout), run in the
background so the request or check that noticed the reason never waits for the runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from volundr.domain.errors import VolundrError
from volundr.domain.models import Session
from volundr.services.sessions import SessionService

log = logging.getLogger("volundr.autostop")

StillDue = Callable[[Session], bool]
"""Re-checked on the session inside the stop's transaction: False cancels the stop."""


class AutoStop:
    """At most one background stop per session at a time; `close` cancels those in flight
    (a session left `stopping` is finished by recovery at the next start)."""

    def __init__(self, sessions: SessionService) -> None:
        self._sessions = sessions
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def request(self, session_id: str, reason: str, still: StillDue) -> None:
        """Stop `session_id` soon with `reason` as its `error`, unless one is under way."""
        if session_id in self._tasks:
            return
        task = asyncio.create_task(
            self._stop(session_id, reason, still), name=f"autostop-{session_id}"
        )
        self._tasks[session_id] = task
        task.add_done_callback(lambda _t: self._forget(session_id, task))

    async def _stop(self, session_id: str, reason: str, still: StillDue) -> None:
        try:
            await self._sessions.stop_for(session_id, reason, still)
        except VolundrError as exc:
            log.warning("session %s: stop (%s) failed: %s", session_id, reason, exc.message)
        except Exception:
            log.exception("session %s: stop (%s) crashed", session_id, reason)

    def _forget(self, session_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(session_id) is task:
            del self._tasks[session_id]

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
