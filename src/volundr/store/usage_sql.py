"""SQL for usage records and the counters `/stats` reads (mixed into SqlTx).

Every usage record is added to `usage_daily` (owner, UTC day, provider) and every session
insert or delete to `session_counts`, in the same transaction, so stats read a few rows
however many records exist. Costs stay integer micro-dollars: sums are exact.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from volundr.domain.clock import utc_day
from volundr.domain.errors import DuplicateKey
from volundr.domain.models import Principal
from volundr.domain.usage import UsageRecord
from volundr.ports import SessionTotals, UsageTotals
from volundr.store.tables import session_counts, sessions, usage_daily, usage_records

_RUNNING = text("sessions.status = 'running'")
"""A literal, not a bound parameter: only then may the planner use `ix_sessions_running`."""


class UsageSqlMixin:
    """The usage and counters part of `StoreTx` for SqlTx (which provides `_conn`)."""

    _conn: AsyncConnection

    # ------------------------------------------------------------------ usage records

    async def insert_usage(self, record: UsageRecord) -> None:
        values = {column.name: getattr(record, column.name) for column in usage_records.c}
        try:
            await self._conn.execute(insert(usage_records), values)
        except IntegrityError as exc:
            raise DuplicateKey() from exc
        t = usage_daily
        stmt = self._upsert(t)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.day, t.c.owner_id, t.c.provider],
                set_={
                    "tokens": t.c.tokens + stmt.excluded.tokens,
                    "cost_micros": t.c.cost_micros + stmt.excluded.cost_micros,
                },
            ),
            {
                "tenant_id": record.tenant_id,
                "day": utc_day(record.recorded_at),
                "owner_id": record.owner_id,
                "provider": record.provider,
                "tokens": record.tokens,
                "cost_micros": record.cost_micros or 0,
            },
        )

    async def usage_by_key(self, session_id: str, key: str) -> UsageRecord | None:
        t = usage_records
        stmt = select(t).where(t.c.session_id == session_id, t.c.idempotency_key == key)
        row = (await self._conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return UsageRecord(**{column.name: row[column.name] for column in t.c})

    async def usage_totals(self, principal: Principal, day: date) -> UsageTotals:
        t = usage_daily
        stmt = select(t.c.provider, func.sum(t.c.tokens), func.sum(t.c.cost_micros)).where(
            t.c.tenant_id == principal.tenant_id, t.c.day == day
        )
        if not principal.is_admin:
            stmt = stmt.where(t.c.owner_id == principal.user_id)
        rows = (await self._conn.execute(stmt.group_by(t.c.provider))).all()
        tokens = {str(provider): int(n) for provider, n, _cost in rows}
        return UsageTotals(
            tokens=sum(tokens.values()),
            local_tokens=tokens.get("local", 0),
            cloud_tokens=tokens.get("cloud", 0),
            cost_micros=sum(int(cost) for _p, _n, cost in rows),
        )

    # ------------------------------------------------------------------ session counts

    async def count_session(self, tenant_id: str, owner_id: str, delta: int) -> None:
        """Add `delta` to the owner's session count (called on insert and delete)."""
        t = session_counts
        stmt = self._upsert(t)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.owner_id],
                set_={"count": t.c.count + stmt.excluded.count},
            ),
            {"tenant_id": tenant_id, "owner_id": owner_id, "count": delta},
        )

    async def session_totals(self, principal: Principal) -> SessionTotals:
        counts = select(func.coalesce(func.sum(session_counts.c.count), 0)).where(
            session_counts.c.tenant_id == principal.tenant_id
        )
        running = select(func.count()).select_from(sessions).where(
            sessions.c.tenant_id == principal.tenant_id, _RUNNING
        )
        if not principal.is_admin:
            counts = counts.where(session_counts.c.owner_id == principal.user_id)
            running = running.where(sessions.c.owner_id == principal.user_id)
        stmt = select(counts.scalar_subquery(), running.scalar_subquery())
        total, live = (await self._conn.execute(stmt)).one()
        return SessionTotals(total=int(total), running=int(live))

    def _upsert(self, table: Any) -> Any:
        maker = pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        return maker(table)
