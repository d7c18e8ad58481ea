"""Session events (API §6): idempotent batch ingestion and the read side.

A batch is one transaction: every session is resolved and every item checked before
anything is written, so one bad item rejects the whole batch. An item whose client
`event_id` is already stored for its session (or appeared earlier in the same batch) is
answered with the stored original and not stored again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from volundr.domain import events as rules
from volundr.domain.clock import as_utc, new_ids, utcnow
from volundr.domain.errors import DuplicateKey, InvalidRequest, SessionNotFound
from volundr.domain.models import Principal, Session, SessionEvent
from volundr.domain.pricing import micros_of_float
from volundr.ports import EventQuery, SessionStore, StoreTx, TokenBucket
from volundr.services.access import ReportCaller, require_reporter, visible_session
from volundr.services.chronicles import ChronicleService

_DUPLICATE_RETRIES = 3
TIMELINE_CACHE_SIZE = 256
"""Token timelines kept (least recently used dropped first)."""
_Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class NewEvent:
    """One ingested item, schema-checked; `session_id` None = the path's session."""

    event_type: str
    session_id: str | None = None
    timestamp: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    duration_ms: int | None = None
    cost: float | None = None
    model: str | None = None
    event_id: str | None = None


class EventService:
    def __init__(self, store: SessionStore, chronicles: ChronicleService) -> None:
        self._store = store
        self._chronicles = chronicles
        self._timelines: OrderedDict[tuple[str, int], tuple[_Stamp, list[TokenBucket]]] = (
            OrderedDict()
        )

    async def ingest(
        self, caller: ReportCaller, items: list[NewEvent], path_session: str | None = None
    ) -> list[SessionEvent]:
        """Store `items` (all or nothing); returns the stored events in request order."""
        for attempt in range(_DUPLICATE_RETRIES):
            try:
                async with self._store.transaction() as tx:
                    stored, published = await self._ingest_in(tx, caller, items, path_session)
            except DuplicateKey:
                if attempt == _DUPLICATE_RETRIES - 1:
                    raise
                continue
            if published:
                self._chronicles.wake()
            return stored
        raise AssertionError("unreachable")

    async def _ingest_in(
        self, tx: StoreTx, caller: ReportCaller, items: list[NewEvent], path_session: str | None
    ) -> tuple[list[SessionEvent], bool]:
        """The stored events in request order, and whether timeline entries they became
        were published."""
        targets = [path_session or item.session_id or "" for item in items]
        sessions: dict[str, Session] = {}
        for session_id in dict.fromkeys([path_session] if path_session else targets):
            sessions[session_id or ""] = visible_session(
                caller, await tx.get_session(session_id or ""), session_id or ""
            )
        require_reporter(caller)
        for item in items:
            if path_session and item.session_id and item.session_id != path_session:
                raise InvalidRequest("session_id does not match the path")
            rules.check_submitted_type(item.event_type)
        originals: dict[tuple[str, str], SessionEvent] = {}
        for session_id in dict.fromkeys(targets):
            ids = [i.event_id for i, t in zip(items, targets, strict=True) if t == session_id]
            found = await tx.find_events(session_id, [e for e in ids if e])
            originals.update({(session_id, k): v for k, v in found.items()})
        now = utcnow()
        fresh_ids = iter(new_ids(len(items)))
        fresh: list[SessionEvent] = []
        slots: list[SessionEvent | tuple[str, str] | int] = []
        claimed: set[tuple[str, str]] = set()
        for item, session_id in zip(items, targets, strict=True):
            key = (session_id, item.event_id) if item.event_id else None
            if key is not None and (key in originals or key in claimed):
                slots.append(originals.get(key) or key)
                continue
            if key is not None:
                claimed.add(key)
            slots.append(len(fresh))
            fresh.append(_event(item, session_id, now, next(fresh_ids)))
        stored = await tx.insert_events(fresh)
        published = False
        for session_id, session in sessions.items():
            mine = [e for e in stored if e.session_id == session_id]
            published = await self._chronicles.on_events(tx, session, mine) or published
        by_key = {(e.session_id, e.event_id): e for e in stored if e.event_id}
        return [
            stored[s] if isinstance(s, int) else by_key[s] if isinstance(s, tuple) else s
            for s in slots
        ], published

    # ------------------------------------------------------------------ reads

    async def list_events(
        self,
        principal: Principal,
        session_id: str,
        *,
        event_type: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[SessionEvent]:
        """Events by `timestamp` then `server_seq`; `event_type` is one type or a comma list
        (checked after the session: an unknown type is a 422 with a string detail)."""
        async with self._store.reader() as tx:
            await self._check_visible(tx, principal, session_id)
            types = rules.check_filter_types(event_type) if event_type else frozenset()
            query = EventQuery(
                session_id=session_id,
                types=types,
                after=as_utc(after) if after else None,
                before=as_utc(before) if before else None,
                limit=limit,
                offset=offset,
            )
            return await tx.list_events(query)

    async def counts(self, principal: Principal, session_id: str) -> dict[str, int]:
        async with self._store.reader() as tx:
            await self._check_visible(tx, principal, session_id)
            return await tx.count_events(session_id)

    async def tokens(
        self, principal: Principal, session_id: str, bucket_seconds: int
    ) -> list[TokenBucket]:
        """The token timeline. Cached per (session, bucket size) and keyed by the session's
        usage counters read in the same snapshot: every accepted usage report raises
        `tokens_used`, so a cached timeline is served only while it is still exact (also
        with several replicas, each keeping its own cache)."""
        async with self._store.reader() as tx:
            session = await self._check_visible(tx, principal, session_id)
            stamp = (session.tokens_used, session.message_count, session.cost_micros)
            key = (session_id, bucket_seconds)
            hit = self._timelines.get(key)
            if hit is not None and hit[0] == stamp:
                self._timelines.move_to_end(key)
                return hit[1]
            buckets = await tx.token_buckets(session_id, bucket_seconds)
        self._timelines[key] = (stamp, buckets)
        while len(self._timelines) > TIMELINE_CACHE_SIZE:
            self._timelines.popitem(last=False)
        return buckets

    @staticmethod
    async def _check_visible(tx: StoreTx, principal: Principal, session_id: str) -> Session:
        session = await tx.get_session(session_id)
        if session is None or not principal.can_see(session.owner_id, session.tenant_id):
            raise SessionNotFound(session_id)
        return session


def _event(item: NewEvent, session_id: str, now: datetime, event_id: str) -> SessionEvent:
    return SessionEvent(
        id=event_id,
        session_id=session_id,
        event_type=item.event_type,
        timestamp=as_utc(item.timestamp) if item.timestamp else now,
        data=item.data,
        event_id=item.event_id,
        sequence=item.sequence,
        tokens_in=item.tokens_in,
        tokens_out=item.tokens_out,
        duration_ms=item.duration_ms,
        cost_micros=None if item.cost is None else micros_of_float(item.cost),
        model=item.model,
    )
