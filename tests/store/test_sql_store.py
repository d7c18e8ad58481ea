"""The SQL store: compare-and-set, ordering, scoping, atomicity, events, outbox."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.app_fixtures import join_new_threads
from volundr.domain.clock import new_id
from volundr.domain.errors import StoreUnavailable
from volundr.domain.models import Broadcast, Principal, Role, SessionEvent, SessionStatus
from volundr.ports import SessionQuery
from volundr.store.sql import SqlStore
from volundr.store.tables import outbox, session_events, sessions

T0 = datetime(2026, 4, 11, 10, 0, tzinfo=UTC)
ADMIN = Principal("root", "default", roles=(Role.ADMIN,))


async def count(store: SqlStore, table: sa.Table) -> int:
    async with store.engine.connect() as conn:
        result = await conn.execute(sa.select(sa.func.count()).select_from(table))
        return int(result.scalar_one())


async def test_insert_then_get_round_trips_every_field(store: SqlStore, make_session: Any) -> None:
    session = make_session(
        error="boom",
        pod_name="local-1",
        cost_micros=1234,
        activity_metadata={"k": [1, "x"]},
        runtime_state={"pid": 42},
        tracker_issue_id="NIU-1",
    )
    async with store.transaction() as tx:
        await tx.insert_session(session)
    async with store.reader() as tx:
        assert await tx.get_session(session.id) == session
        assert await tx.get_session(new_id()) is None


async def test_update_with_the_current_version_wins_and_bumps_it(
    store: SqlStore, make_session: Any
) -> None:
    session = make_session()
    async with store.transaction() as tx:
        await tx.insert_session(session)
    session.name = "renamed"
    async with store.transaction() as tx:
        assert await tx.update_session(session, 0) is True
    assert session.version == 1
    async with store.reader() as tx:
        stored = await tx.get_session(session.id)
    assert stored is not None and (stored.name, stored.version) == ("renamed", 1)


async def test_update_with_a_stale_version_returns_false_and_writes_nothing(
    store: SqlStore, make_session: Any
) -> None:
    session = make_session()
    async with store.transaction() as tx:
        await tx.insert_session(session)
    winner = replace(session, name="winner")
    loser = replace(session, name="loser", status=SessionStatus.FAILED, error="x")
    async with store.transaction() as tx:
        assert await tx.update_session(winner, 0) is True
    async with store.transaction() as tx:
        assert await tx.update_session(loser, 0) is False
    assert loser.version == 0
    async with store.reader() as tx:
        stored = await tx.get_session(session.id)
    assert stored == winner
    assert stored is not None and stored.version == 1


async def test_read_check_writes_in_concurrent_transactions_queue_and_all_win(
    store: SqlStore, make_session: Any
) -> None:
    """A write transaction's read locks the row: concurrent increments never lose."""
    session = make_session(message_count=0)
    async with store.transaction() as tx:
        await tx.insert_session(session)

    async def increment() -> bool:
        async with store.transaction() as tx:
            current = await tx.get_session(session.id)
            assert current is not None
            expected = current.version
            await asyncio.sleep(0.01)  # widen the window between read and write
            current.message_count += 1
            return await tx.update_session(current, expected)

    results = await asyncio.gather(*(increment() for _ in range(12)))
    assert results == [True] * 12
    async with store.reader() as tx:
        stored = await tx.get_session(session.id)
    assert stored is not None and (stored.message_count, stored.version) == (12, 12)


async def test_update_of_a_missing_session_returns_false(
    store: SqlStore, make_session: Any
) -> None:
    async with store.transaction() as tx:
        assert await tx.update_session(make_session(), 0) is False
    assert await count(store, sessions) == 0


async def test_a_transaction_that_raises_writes_nothing(store: SqlStore, make_session: Any) -> None:
    kept = make_session()
    async with store.transaction() as tx:
        await tx.insert_session(kept)
    doomed = make_session()
    with pytest.raises(RuntimeError, match="abort"):
        async with store.transaction() as tx:
            await tx.insert_session(doomed)
            await tx.append_event(_event(doomed.id))
            await tx.append_broadcast(_broadcast(doomed.id))
            kept.name = "changed"
            assert await tx.update_session(kept, 0)
            raise RuntimeError("abort")
    async with store.reader() as tx:
        assert await tx.get_session(doomed.id) is None
        stored = await tx.get_session(kept.id)
    assert stored is not None and (stored.name, stored.version) == ("s", 0)
    assert await count(store, session_events) == 0
    assert await count(store, outbox) == 0
    # and the store is still usable afterwards
    async with store.transaction() as tx:
        await tx.insert_session(make_session())
    assert await count(store, sessions) == 2


async def test_list_is_newest_first_with_id_as_the_tiebreak(
    store: SqlStore, make_session: Any
) -> None:
    tied_ids = sorted(new_id() for _ in range(4))
    rows = [make_session(id=i, created_at=T0) for i in tied_ids]
    rows.append(make_session(created_at=T0 + timedelta(seconds=1)))
    rows.append(make_session(created_at=T0 - timedelta(microseconds=1)))
    async with store.transaction() as tx:
        for row in reversed(rows):
            await tx.insert_session(row)
    async with store.reader() as tx:
        listed = await tx.list_sessions(SessionQuery(principal=ADMIN))
    assert [s.id for s in listed] == [rows[4].id, *reversed(tied_ids), rows[5].id]


async def test_list_pages_by_key_never_repeat_or_skip(store: SqlStore, make_session: Any) -> None:
    rows = [make_session(created_at=T0 + timedelta(seconds=i % 3)) for i in range(10)]
    async with store.transaction() as tx:
        for row in rows:
            await tx.insert_session(row)
    async with store.reader() as tx:
        everything = await tx.list_sessions(SessionQuery(principal=ADMIN))
        seen: list[str] = []
        after = None
        while True:
            page = await tx.list_sessions(SessionQuery(principal=ADMIN, limit=3, after=after))
            seen += [s.id for s in page]
            if len(page) < 3:
                break
            after = (page[-1].created_at, page[-1].id)
    assert seen == [s.id for s in everything]
    assert len(set(seen)) == 10


async def test_list_is_scoped_by_tenant_owner_and_status(
    store: SqlStore, make_session: Any
) -> None:
    mine = make_session(owner_id="alice")
    mine_failed = make_session(owner_id="alice", status=SessionStatus.FAILED)
    bobs = make_session(owner_id="bob")
    other_tenant = make_session(owner_id="alice", tenant_id="acme")
    async with store.transaction() as tx:
        for row in (mine, mine_failed, bobs, other_tenant):
            await tx.insert_session(row)
    alice = Principal("alice", "default")
    admin = Principal("carol", "default", roles=(Role.ADMIN,))
    async with store.reader() as tx:
        assert {s.id for s in await tx.list_sessions(SessionQuery(alice))} == {
            mine.id,
            mine_failed.id,
        }
        assert {s.id for s in await tx.list_sessions(SessionQuery(admin))} == {
            mine.id,
            mine_failed.id,
            bobs.id,
        }
        failed = SessionQuery(alice, statuses=frozenset({SessionStatus.FAILED}))
        assert [s.id for s in await tx.list_sessions(failed)] == [mine_failed.id]
        active = await tx.sessions_in(frozenset({SessionStatus.CREATED}))
        assert {s.id for s in active} == {mine.id, bobs.id, other_tenant.id}


async def test_delete_removes_the_session_and_its_events_only(
    store: SqlStore, make_session: Any
) -> None:
    gone, kept = make_session(), make_session()
    async with store.transaction() as tx:
        for row in (gone, kept):
            await tx.insert_session(row)
            await tx.append_event(_event(row.id))
    async with store.transaction() as tx:
        await tx.delete_session(gone.id)
    async with store.reader() as tx:
        assert await tx.get_session(gone.id) is None
        assert await tx.get_session(kept.id) is not None
    async with store.engine.connect() as conn:
        left = await conn.execute(sa.select(session_events.c.session_id))
        assert [r[0] for r in left] == [kept.id]


async def test_outbox_ids_strictly_increase(store: SqlStore) -> None:
    ids = []
    for _ in range(5):
        async with store.transaction() as tx:
            ids.append(await tx.append_broadcast(_broadcast(new_id())))
    assert ids == sorted(set(ids))


async def test_events_round_trip_their_data(store: SqlStore, make_session: Any) -> None:
    session = make_session()
    event = _event(session.id, data={"from": None, "to": "created", "error": None})
    async with store.transaction() as tx:
        await tx.insert_session(session)
        await tx.append_event(event)
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(session_events))).mappings().one()
    assert row["data"] == {"from": None, "to": "created", "error": None}
    assert row["timestamp"] == event.timestamp


async def test_ping_succeeds_on_a_live_database(store: SqlStore) -> None:
    await store.ping()


async def test_an_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    threads = set(threading.enumerate())
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            async with store.reader() as tx:
                await tx.get_session(new_id())
        with pytest.raises(StoreUnavailable):
            async with store.transaction() as tx:
                await tx.get_session(new_id())
    finally:
        await store.close()
        await store.close()  # safe to call twice
        await join_new_threads(threads)


def _event(session_id: str, data: dict[str, Any] | None = None) -> SessionEvent:
    return SessionEvent(
        id=new_id(),
        session_id=session_id,
        event_type="session_status",
        timestamp=T0,
        data=data or {},
    )


def _broadcast(session_id: str) -> Broadcast:
    return Broadcast(
        name="session_updated",
        payload={"id": session_id},
        owner_id="u",
        tenant_id="default",
        session_id=session_id,
    )
