"""The outbox read side over the SQL store: what live streams replay and fan out.

Rows are written by `StoreTx.append_broadcast` in the transaction of the change they
report. Here they are read in id order and pruned from the old end.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from volundr.domain.clock import utcnow
from volundr.ports import OutboxEvent, OutboxPage
from volundr.store.sql import SqlStore
from volundr.store.tables import outbox

PRUNE_BATCH = 5000
"""Rows deleted per transaction, so pruning never holds SQLite's write lock for long."""


class SqlOutbox:
    """Implements `volundr.ports.Outbox` on the store's `outbox` table."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def read(self, after_id: int, *, limit: int, until_id: int | None = None) -> OutboxPage:
        async with self._store.reader() as tx:
            conn = tx.connection
            oldest, newest = (
                await conn.execute(select(func.min(outbox.c.id), func.max(outbox.c.id)))
            ).one()
            events: list[OutboxEvent] = []
            if limit > 0:
                stmt = select(outbox).where(outbox.c.id > after_id)
                if until_id is not None:
                    stmt = stmt.where(outbox.c.id <= until_id)
                rows = (await conn.execute(stmt.order_by(outbox.c.id).limit(limit))).mappings()
                events = [
                    OutboxEvent(
                        id=int(r["id"]),
                        name=r["name"],
                        payload=r["payload"],
                        owner_id=r["owner_id"],
                        tenant_id=r["tenant_id"],
                        session_id=r["session_id"],
                        created_at=r["created_at"],
                    )
                    for r in rows
                ]
        return OutboxPage(events=events, oldest_id=int(oldest or 0), newest_id=int(newest or 0))

    async def prune(self, *, keep_events: int, keep_age_s: float) -> int:
        cut = await self._cut(keep_events, keep_age_s)
        deleted = 0
        while cut is not None:
            async with self._store.transaction() as tx:
                conn = tx.connection
                oldest = (await conn.execute(select(func.min(outbox.c.id)))).scalar()
                if oldest is None or oldest > cut:
                    break
                upto = min(cut, int(oldest) + PRUNE_BATCH - 1)
                result = await conn.execute(delete(outbox).where(outbox.c.id <= upto))
                deleted += result.rowcount
            if upto == cut:
                break
        return deleted

    async def _cut(self, keep_events: int, keep_age_s: float) -> int | None:
        """The highest id that is outside both windows (None: nothing to delete)."""
        too_old = utcnow() - timedelta(seconds=keep_age_s)
        async with self._store.reader() as tx:
            conn = tx.connection
            newest = (await conn.execute(select(func.max(outbox.c.id)))).scalar()
            aged = (
                await conn.execute(
                    select(func.max(outbox.c.id)).where(outbox.c.created_at < too_old)
                )
            ).scalar()
        if newest is None or aged is None:
            return None
        cut = min(int(aged), int(newest) - max(keep_events, 1))
        return cut if cut > 0 else None
