"""One live-stream subscriber: a bounded mailbox of encoded frames plus its timers' flags.

The hub writes into it without ever awaiting (`offer` then `wake`, `mark_*`, `end`); the
subscriber's own writer task takes everything pending in one go (`take`) and sends it as
one write, so a subscriber that fell behind catches up in few large writes, not many small.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from volundr.domain.models import Principal


class EndReason(StrEnum):
    """Why a stream ends. Only `disconnect` ends it without a `reconnect` hint frame."""

    DISCONNECT = "disconnect"
    MAX_LIFETIME = "max_lifetime"
    SHUTDOWN = "shutdown"


@dataclass
class Pending:
    """What a writer has to send, taken at once from its subscription.

    `resync_id` is set when the mailbox overflowed: the events it held were dropped and
    `resync_id` is the id of the newest dropped one; every event in `events` is newer.
    """

    events: list[tuple[int, bytes]] = field(default_factory=list)
    resync_id: int | None = None
    heartbeat: bool = False
    stats: bool = False
    end: EndReason | None = None


class Subscription:
    """A subscriber's mailbox. Not thread-safe: the hub and the writer share one loop."""

    def __init__(
        self, principal: Principal, *, capacity: int, started: float, live_after: int,
        heartbeat_s: float, stats_interval_s: float, max_connection_s: float,
    ) -> None:
        self.principal = principal
        self.live_after = live_after
        """Every event with a greater id reaches the mailbox; older ones come from replay."""
        self.capacity = capacity
        self.next_heartbeat = started + heartbeat_s
        self.next_stats = started + stats_interval_s
        self.deadline = started + max_connection_s
        self.overflows = 0
        self._events: deque[tuple[int, bytes]] = deque()
        self._resync_id: int | None = None
        self._heartbeat = False
        self._stats = False
        self._end: EndReason | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        """The task writing this stream; cancelled when its client stopped reading."""
        self.blocked_since: float | None = None
        """Loop time at which the writer's pending write started (None: not writing)."""

    @property
    def ended(self) -> EndReason | None:
        return self._end

    def offer(self, event_id: int, frame: bytes) -> None:
        """Queue one encoded event; on overflow drop the backlog and owe a `resync`.

        Does not wake the writer: the hub calls `wake` once it has queued a batch.
        """
        if len(self._events) >= self.capacity:
            self._events.clear()
            self._resync_id = event_id
            self.overflows += 1
        else:
            self._events.append((event_id, frame))

    def mark_heartbeat(self) -> None:
        """Owe a heartbeat frame; like `offer`, the caller wakes the writer."""
        self._heartbeat = True

    def mark_stats(self) -> None:
        """Owe a `stats_updated` frame; the caller wakes the writer."""
        self._stats = True

    def end(self, reason: EndReason) -> None:
        """Ask the writer to finish; the first reason given wins."""
        if self._end is None:
            self._end = reason
        self.wake()

    def take(self) -> Pending:
        """Everything pending, clearing it."""
        pending = Pending(
            events=list(self._events),
            resync_id=self._resync_id,
            heartbeat=self._heartbeat,
            stats=self._stats,
            end=self._end,
        )
        self._events.clear()
        self._resync_id = None
        self._heartbeat = self._stats = False
        return pending

    async def wait(self) -> None:
        """Return once something is pending (at once if it already is)."""
        if self._has_pending():
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _has_pending(self) -> bool:
        return bool(
            self._events or self._resync_id is not None or self._heartbeat or self._stats
            or self._end is not None
        )

    def wake(self) -> None:
        """Let a waiting writer run (a no-op when it is busy or nothing is pending)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
