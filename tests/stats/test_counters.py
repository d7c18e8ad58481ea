"""The counters behind `/stats` (SQLite and PostgreSQL): kept in step by inserts and
deletes, exact in micro-dollars, keyed by UTC day, and filled by migration 0005."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa

from volundr.domain.clock import new_id
from volundr.domain.models import Principal, Role, Session, SessionStatus
from volundr.domain.usage import UsageRecord
from volundr.ports import SessionTotals, UsageTotals
from volundr.store import migrate
from volundr.store.mapping import session_to_row
from volundr.store.sql import SqlStore
from volundr.store.tables import sessions, usage_records

ALICE = Principal("alice", "default")
ADMIN = Principal("root", "default", roles=(Role.ADMIN,))
DAY = date(2026, 12, 4)


def usage(owner: str, at: datetime, tokens: int, cost: int | None, provider: str = "cloud",
          tenant: str = "default") -> UsageRecord:  # fmt: skip
    return UsageRecord(
        id=new_id(), session_id=new_id(), owner_id=owner, tenant_id=tenant, recorded_at=at,
        tokens=tokens, provider=provider, model="m", message_count=1, cost_micros=cost,
    )  # fmt: skip


async def test_session_totals_follow_inserts_deletes_and_status(
    store: SqlStore, make_session: Callable[..., Session]
) -> None:
    rows = [
        make_session(owner_id="alice", status=SessionStatus.RUNNING),
        make_session(owner_id="alice", status=SessionStatus.ARCHIVED),
        make_session(owner_id="bob", status=SessionStatus.RUNNING),
        make_session(owner_id="alice", tenant_id="other", status=SessionStatus.RUNNING),
    ]
    async with store.transaction() as tx:
        for row in rows:
            await tx.insert_session(row)
    async with store.reader() as tx:
        assert await tx.session_totals(ALICE) == SessionTotals(total=2, running=1)
        assert await tx.session_totals(ADMIN) == SessionTotals(total=3, running=2)
    async with store.transaction() as tx:
        stopped = rows[0]
        expected, stopped.status = stopped.version, SessionStatus.STOPPED
        assert await tx.update_session(stopped, expected)
        await tx.delete_session(rows[2].id)
        await tx.delete_session(new_id())  # unknown: counts nothing
    async with store.reader() as tx:
        assert await tx.session_totals(ALICE) == SessionTotals(total=2, running=0)
        assert await tx.session_totals(ADMIN) == SessionTotals(total=2, running=0)


async def test_usage_totals_sum_one_utc_day_exactly(store: SqlStore) -> None:
    midnight = datetime(2026, 12, 4, tzinfo=UTC)
    plus14 = timezone(timedelta(hours=14))
    records = [
        usage("alice", midnight - timedelta(microseconds=1), 1000, 1),  # the day before
        usage("alice", midnight, 100, 100_001),
        usage("alice", datetime(2026, 12, 5, 13, 59, 59, tzinfo=plus14), 10, 200_002),
        usage("alice", midnight + timedelta(hours=3), 5, None, "local"),
        usage("bob", midnight + timedelta(hours=4), 7, 3),
        usage("alice", midnight + timedelta(hours=5), 9, 9, tenant="other"),
        usage("alice", midnight + timedelta(days=1), 1, 1),  # the day after
    ]
    async with store.transaction() as tx:
        for record in records:
            await tx.insert_usage(record)
    async with store.reader() as tx:
        assert await tx.usage_totals(ALICE, DAY) == UsageTotals(115, 5, 110, 300_003)
        assert await tx.usage_totals(ADMIN, DAY) == UsageTotals(122, 5, 117, 300_006)
        before = DAY - timedelta(days=1)
        assert await tx.usage_totals(ALICE, before) == UsageTotals(1000, 0, 1000, 1)
        assert await tx.usage_totals(ADMIN, date(2026, 1, 1)) == UsageTotals()


async def test_migration_0005_counts_the_rows_already_stored(
    empty_db_url: str, make_session: Callable[..., Session]
) -> None:
    store = SqlStore(empty_db_url)
    try:
        await migrate.upgrade(store.engine, "0004")
        at = datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=UTC)
        old = [usage("alice", at, 40, 400), usage("alice", at, 2, None, "local"),
               usage("alice", at + timedelta(microseconds=1), 1, 1)]  # fmt: skip
        async with store.engine.begin() as conn:
            for status in (SessionStatus.RUNNING, SessionStatus.STOPPED):
                row = session_to_row(make_session(owner_id="alice", status=status))
                await conn.execute(sa.insert(sessions).values(**row))
            for record in old:
                values = {c.name: getattr(record, c.name) for c in usage_records.c}
                await conn.execute(sa.insert(usage_records).values(**values))
        await migrate.upgrade(store.engine)
        async with store.reader() as tx:
            assert await tx.session_totals(ALICE) == SessionTotals(total=2, running=1)
            assert await tx.usage_totals(ALICE, DAY) == UsageTotals(42, 2, 40, 400)
            assert await tx.usage_totals(ALICE, date(2026, 12, 5)) == UsageTotals(1, 0, 1, 1)
    finally:
        await store.close()
