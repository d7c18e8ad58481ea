"""`UTCDateTime`: aware UTC in, aware UTC out; naive values are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from volundr.store.sql import SqlStore
from volundr.store.tables import sessions

PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE = timezone(timedelta(hours=-5, minutes=-30))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 4, 11, 10, 30, tzinfo=UTC),
        datetime(2026, 4, 11, 10, 30, 0, 123456, tzinfo=UTC),
        datetime(2026, 4, 11, 12, 30, 0, 1, tzinfo=PLUS_TWO),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=MINUS_FIVE),
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
async def test_aware_values_come_back_as_the_same_instant_in_utc(
    store: SqlStore, make_session: Any, value: datetime
) -> None:
    session = make_session(created_at=value, archived_at=value)
    async with store.transaction() as tx:
        await tx.insert_session(session)
    async with store.reader() as tx:
        loaded = await tx.get_session(session.id)
    assert loaded is not None
    for got in (loaded.created_at, loaded.archived_at):
        assert got == value
        assert got is not None and got.tzinfo is not None
        assert got.utcoffset() == timedelta(0)
        assert got.isoformat().endswith("+00:00")


async def test_naive_values_are_refused_and_nothing_is_written(
    store: SqlStore, make_session: Any
) -> None:
    session = make_session(created_at=datetime(2026, 4, 11, 10, 30))
    with pytest.raises(StatementError) as caught:
        async with store.transaction() as tx:
            await tx.insert_session(session)
    assert isinstance(caught.value.orig, ValueError)
    assert "naive" in str(caught.value.orig)
    async with store.reader() as tx:
        assert await tx.get_session(session.id) is None


async def test_utc_values_compare_in_sql_by_instant(store: SqlStore, make_session: Any) -> None:
    early = make_session(created_at=datetime(2026, 4, 11, 11, 0, tzinfo=PLUS_TWO))  # 09:00Z
    late = make_session(created_at=datetime(2026, 4, 11, 10, 0, tzinfo=UTC))
    async with store.transaction() as tx:
        await tx.insert_session(early)
        await tx.insert_session(late)
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(sessions.c.id).where(
                sessions.c.created_at < datetime(2026, 4, 11, 9, 30, tzinfo=UTC)
            )
        )
        assert [r[0] for r in rows] == [early.id]
