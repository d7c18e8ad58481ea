"""Per-session mutual exclusion for work that must not interleave with a start.

A start accepted while a workspace's files are being removed would clone into a directory
that is being deleted, and a start accepted while its session is being deleted would
launch a runtime nobody owns. Those paths hold the session's lock: a start waits, then
sees the outcome (a `deleted` workspace, and so a fresh clone; or no session, 404).

The locks live in this process, which drives the local runtime; replicas of a team
deployment take a lease on a session before driving it (DESIGN §3).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SessionLocks:
    """One asyncio.Lock per session id, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(session_id, (asyncio.Lock(), 0))
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[session_id]
            if users == 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)
