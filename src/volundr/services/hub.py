"""The live-event hub: one outbox reader per process fanning events out to subscribers.

Publishing is the write of an outbox row (in the transaction of the change) followed by
`Notifier.notify()`. The hub's single reader task then reads the new rows once, encodes
each once, and offers it to the mailbox of every subscriber allowed to see it, without
ever awaiting a subscriber: a slow one only overflows its own mailbox. A ticker task
flags heartbeats, stats and connection lifetimes; a pruner keeps the replay window.

Replay (`Last-Event-ID`) reads the outbox directly, up to the id the reader had reached
when the subscriber registered (`live_after`); everything newer arrives in its mailbox,
so the hand-over has neither gap nor duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from volundr.domain.errors import StoreUnavailable
from volundr.domain.models import Principal
from volundr.ports import Notifier, Outbox, OutboxEvent
from volundr.services.subscription import EndReason, Subscription

log = logging.getLogger("volundr.stream")

READ_PAGE = 500
"""Outbox rows read per query, by the live reader and by a replay."""

WAKE_SLICE = 64
"""Subscriber writers woken per event-loop turn (see `_wake`)."""


@dataclass(frozen=True)
class HubConfig:
    """Stream timers and windows (API §5, `sse.*`), in seconds unless named otherwise."""

    heartbeat_s: float = 15
    stats_interval_s: float = 30
    queue_size: int = 1000
    max_connection_s: float = 3600
    replay_events: int = 10_000
    replay_age_s: float = 900
    poll_s: float = 1.0
    """Outbox read period without notifications: a safety net for lost wake-ups."""
    prune_every_s: float = 60

    @property
    def stall_limit_s(self) -> float:
        """A subscriber whose write has been blocked this long is dropped as gone.

        A peer that vanished without closing its connection (or never reads) would
        otherwise hold its connection until TCP gives up, many minutes later.
        """
        return 2 * self.heartbeat_s

    @property
    def tick_s(self) -> float:
        """Ticker period: fine enough for the shortest timer, never above 0.5 s."""
        shortest = min(self.heartbeat_s, self.stats_interval_s, self.max_connection_s)
        return max(0.01, min(0.5, shortest / 4))


@dataclass(frozen=True)
class Resync:
    """The replay could not be served: the client must refetch (API §5.3)."""

    reason: str
    latest_id: int


_MAX_ID = 2**62
"""Above any real id; bigger client ids are clamped to it before reaching SQL."""

Replayed = tuple[int, bytes] | Resync
Encoder = Callable[[OutboxEvent], bytes]


def parse_last_event_id(raw: str) -> int | None:
    """The id a client resumes from; None when it is not a non-negative integer."""
    value = raw.strip()
    return int(value) if value.isascii() and value.isdigit() else None


class EventHub:
    """Owns every live subscription of this process. Start once, close once."""

    def __init__(
        self, *, outbox: Outbox, notifier: Notifier, encode: Encoder, config: HubConfig
    ) -> None:
        self.config = config
        self.last_id = 0
        """Newest outbox id fanned out; every subscriber got each event up to it."""
        self._outbox = outbox
        self._notifier = notifier
        self._encode = encode
        self._subs: dict[Subscription, None] = {}
        """Insertion-ordered set of live subscriptions."""
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._empty = asyncio.Event()
        self._empty.set()

    @property
    def open_streams(self) -> int:
        """Gauge: live subscriptions right now."""
        return len(self._subs)

    async def start(self) -> None:
        """Begin at the newest committed event (live subscribers never get older ones)."""
        self.last_id = (await self._outbox.read(0, limit=0)).newest_id
        self._spawn(self._read_loop(), "stream-reader")
        self._spawn(self._tick_loop(), "stream-ticker")
        self._spawn(self._prune_loop(), "outbox-pruner")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, principal: Principal) -> Subscription:
        """Register a stream; it gets every event newer than `live_after` in its mailbox."""
        loop = asyncio.get_running_loop()
        cfg = self.config
        sub = Subscription(
            principal, capacity=cfg.queue_size, started=loop.time(), live_after=self.last_id,
            heartbeat_s=cfg.heartbeat_s, stats_interval_s=cfg.stats_interval_s,
            max_connection_s=cfg.max_connection_s,
        )
        if self._closing:
            sub.end(EndReason.SHUTDOWN)
        self._subs[sub] = None
        self._empty.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget `sub`, releasing its mailbox. Safe to call twice."""
        self._subs.pop(sub, None)
        if not self._subs:
            self._empty.set()

    async def replay(self, sub: Subscription, after_id: int | None) -> AsyncIterator[Replayed]:
        """Events newer than `after_id` that `sub` may see, up to `sub.live_after`.

        Yields a single Resync instead when `after_id` is None (not an integer), newer than
        the newest event, or older than the retained window.
        """
        if after_id is None:
            page = await self._outbox.read(0, limit=0)
            yield Resync("unknown_id", max(page.newest_id, self.last_id))
            return
        cursor = after_id
        while True:
            page = await self._outbox.read(
                min(cursor, _MAX_ID), limit=READ_PAGE, until_id=sub.live_after
            )
            newest = max(page.newest_id, self.last_id)
            if cursor > newest:
                yield Resync("unknown_id", newest)
                return
            if page.oldest_id > cursor + 1:
                yield Resync("too_old", newest)
                return
            for event in page.events:
                if sub.principal.can_see(event.owner_id, event.tenant_id):
                    yield event.id, self._encode(event)
            if len(page.events) < READ_PAGE:
                return
            cursor = page.events[-1].id

    # ------------------------------------------------------------------ shutdown

    async def end_streams(self, grace_s: float = 1.0) -> None:
        """End every stream with a `reconnect` frame; streams that cannot write it within
        `grace_s` (a client that stopped reading) are cancelled. New streams end at once.
        """
        self._closing = True
        for sub in self._subs:
            sub.end(EndReason.SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._empty.wait()
        for sub in self._subs:
            if sub.task is not None:
                sub.task.cancel()

    async def close(self) -> None:
        """End the streams and stop the background tasks. Safe to call twice."""
        await self.end_streams()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # ------------------------------------------------------------------ background tasks

    async def _read_loop(self) -> None:
        while True:
            seen = self._notifier.generation
            try:
                await self._read_new()
            except StoreUnavailable:
                log.warning("live stream: store unavailable, retrying")
            except Exception:
                log.exception("live stream: reading the outbox failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll_s):
                    await self._notifier.wait(seen)

    async def _read_new(self) -> None:
        if not self._subs:  # nobody to fan out to: just move past what is committed
            page = await self._outbox.read(0, limit=0)
            if not self._subs:  # (one that subscribed meanwhile must get what follows)
                self.last_id = max(self.last_id, page.newest_id)
                return
        while True:
            page = await self._outbox.read(self.last_id, limit=READ_PAGE)
            touched: dict[Subscription, None] = {}
            for event in page.events:
                self._fan_out(event, touched)
            await _wake(touched)
            if len(page.events) < READ_PAGE:
                return

    def _fan_out(self, event: OutboxEvent, touched: dict[Subscription, None]) -> None:
        """Queue one event for every subscriber that may see it. Never awaits."""
        self.last_id = event.id
        try:
            frame = self._encode(event)
        except (TypeError, ValueError):
            log.exception("live stream: event %d (%s) cannot be encoded", event.id, event.name)
            return
        for sub in self._subs:
            if sub.principal.can_see(event.owner_id, event.tenant_id):
                sub.offer(event.id, frame)
                touched[sub] = None

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.tick_s)
            now = loop.time()
            due: dict[Subscription, None] = {}
            for sub in self._subs:
                if now >= sub.deadline:
                    sub.end(EndReason.MAX_LIFETIME)
                blocked = sub.blocked_since
                if blocked is not None and now - blocked > cfg.stall_limit_s:
                    _drop(sub, now - blocked)
                if now >= sub.next_heartbeat:
                    sub.next_heartbeat = now + cfg.heartbeat_s
                    sub.mark_heartbeat()
                    due[sub] = None
                if now >= sub.next_stats:
                    sub.next_stats = now + cfg.stats_interval_s
                    sub.mark_stats()
                    due[sub] = None
            await _wake(due)

    async def _prune_loop(self) -> None:
        cfg = self.config
        while True:
            try:
                deleted = await self._outbox.prune(
                    keep_events=cfg.replay_events, keep_age_s=cfg.replay_age_s
                )
                if deleted:
                    log.debug("outbox: pruned %d events", deleted)
            except StoreUnavailable:
                log.warning("outbox pruning: store unavailable, retrying later")
            except Exception:
                log.exception("outbox pruning failed")
            await asyncio.sleep(cfg.prune_every_s)


async def _wake(subs: dict[Subscription, None]) -> None:
    """Wake the writers of `subs`, `WAKE_SLICE` per event-loop turn.

    Their events are already queued; only the writers' turns are spread, so that one
    fan-out to 1,000 subscribers does not hold the loop for a single long turn while the
    database callbacks of requests in flight (publishing the next events) wait behind it.
    """
    for count, sub in enumerate(subs):
        if count and count % WAKE_SLICE == 0:
            await asyncio.sleep(0)
        sub.wake()


def _drop(sub: Subscription, blocked_s: float) -> None:
    """End a subscriber that has not accepted a write for `blocked_s` seconds."""
    if sub.ended is not EndReason.DISCONNECT:
        log.info("live stream: dropping %s, not reading for %.0f s", sub.principal.user_id,
                 blocked_s)
    sub.end(EndReason.DISCONNECT)
    if sub.task is not None:
        sub.task.cancel()
