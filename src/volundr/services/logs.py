"""Session logs (API §4.12): snapshots and live following, read through the runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any

from volundr.domain.errors import SessionNotFound
from volundr.domain.logs import LogPage, LogQuery
from volundr.domain.models import Principal, Session, SessionStatus
from volundr.domain.workspaces import LogsNotFound, WorkspaceStatus
from volundr.ports import Runtime, SessionStore

FOLLOW_BATCH = 500
"""Lines read per step while a follower catches up."""
ENDED = frozenset({SessionStatus.STOPPED, SessionStatus.FAILED, SessionStatus.ARCHIVED})
DELETED = "deleted"


@dataclass(frozen=True)
class LogEnd:
    """The session stopped (or was deleted): the follower ends after this."""

    session_status: str


@dataclass(frozen=True)
class Heartbeat:
    pass


FollowItem = list[dict[str, Any]] | Heartbeat | LogEnd


@dataclass(frozen=True)
class FollowTimers:
    heartbeat_s: float = 15.0
    poll_s: float = 0.25
    status_every_s: float = 1.0


class LogService:
    def __init__(self, *, store: SessionStore, runtime: Runtime) -> None:
        self._store = store
        self._runtime = runtime

    async def open(self, principal: Principal, session_id: str) -> Session:
        """The session whose log may be read: visible (else SessionNotFound), and with its
        workspace not deleted unless a new run is preparing one (else LogsNotFound)."""
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
            if session is None or not principal.can_see(session.owner_id, session.tenant_id):
                raise SessionNotFound(session_id)
            latest = None if session.status.is_active else await tx.latest_workspace(session_id)
        if latest is not None and latest.status is WorkspaceStatus.DELETED:
            raise LogsNotFound(session_id)
        return session

    async def read(self, session_id: str, query: LogQuery) -> LogPage:
        return await self._runtime.read_logs(session_id, query)

    async def follow(
        self, session_id: str, query: LogQuery, *, resume_after: int | None,
        timers: FollowTimers,
    ) -> AsyncGenerator[FollowItem, None]:
        """Snapshot lines (or, with `resume_after`, every line after that seq), then new
        lines as they are captured, heartbeats, and a final LogEnd once the session is
        stopped, failed, archived or deleted (after the lines written before that).

        While the session runs it never ends on its own: the consumer closes it (or
        cancels the task awaiting it), e.g. when its client leaves or the server shuts
        down. Either is safe at any await point."""
        if resume_after is None:
            page = await self.read(session_id, query)
            cursor = page.last_seq
            if page.lines:
                yield page.lines
        else:
            cursor = resume_after
        forward = replace(query, lines=FOLLOW_BATCH)
        loop = asyncio.get_running_loop()
        last_beat = last_status = loop.time()
        ended: str | None = await self._ended(session_id)
        while True:
            while True:
                page = await self.read(session_id, replace(forward, after_seq=cursor))
                cursor = page.last_seq
                if page.lines:
                    yield page.lines
                    last_beat = loop.time()
                if len(page.lines) < FOLLOW_BATCH:
                    break
            if ended is not None:
                yield LogEnd(ended)
                return
            if loop.time() - last_beat >= timers.heartbeat_s:
                yield Heartbeat()
                last_beat = loop.time()
            await asyncio.sleep(timers.poll_s)
            if loop.time() - last_status >= timers.status_every_s:
                ended = await self._ended(session_id)
                last_status = loop.time()

    async def _ended(self, session_id: str) -> str | None:
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
        if session is None:
            return DELETED
        return session.status.value if session.status in ENDED else None

