"""Chronicle storage on SQLite and PostgreSQL: entries once, runs once, detach, run usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from volundr.domain.chronicles import Chronicle, ChronicleStatus, RunUsage, TimelineEntry
from volundr.domain.clock import new_id
from volundr.domain.errors import DuplicateKey
from volundr.domain.usage import UsageRecord
from volundr.store.sql import SqlStore

T0 = datetime(2026, 4, 11, 10, 0, tzinfo=UTC)


def chronicle(session_id: str, run_started_at: datetime = T0, **fields: object) -> Chronicle:
    values: dict[str, object] = {
        "id": new_id(), "session_id": session_id, "origin_session_id": session_id,
        "owner_id": "local", "tenant_id": "default", "status": ChronicleStatus.DRAFT,
        "project": "p", "repo": "r", "branch": "main", "model": "m",
        "config_snapshot": {"name": "s"}, "run_started_at": run_started_at,
        "created_at": run_started_at, "updated_at": run_started_at,
    }  # fmt: skip
    values.update(fields)
    return Chronicle(**values)  # type: ignore[arg-type]


def usage(session_id: str, at: datetime, tokens: int, cost: int | None) -> UsageRecord:
    return UsageRecord(
        id=new_id(), session_id=session_id, owner_id="local", tenant_id="default",
        recorded_at=at, tokens=tokens, provider="cloud", model="m", message_count=1,
        cost_micros=cost, fingerprint="f",
    )  # fmt: skip


async def test_a_chronicle_round_trips_and_the_latest_run_wins(store: SqlStore) -> None:
    sid = new_id()
    first = chronicle(sid, key_changes=["a"], summary="s", end_reason="why")
    second = chronicle(sid, T0 + timedelta(hours=1), parent_chronicle_id=first.id)
    async with store.transaction() as tx:
        await tx.insert_chronicle(first)
        await tx.insert_chronicle(second)
    async with store.reader() as tx:
        assert await tx.latest_chronicle(sid) == second
        assert await tx.chronicles_of(sid) == [first, second]
        assert await tx.latest_chronicle(new_id()) is None


async def test_one_run_has_one_chronicle(store: SqlStore) -> None:
    sid = new_id()
    async with store.transaction() as tx:
        await tx.insert_chronicle(chronicle(sid))
    with pytest.raises(DuplicateKey):
        async with store.transaction() as tx:
            await tx.insert_chronicle(chronicle(sid))
    async with store.reader() as tx:
        assert len(await tx.chronicles_of(sid)) == 1


async def test_timeline_entries_are_stored_once_in_t_then_arrival_order(
    store: SqlStore,
) -> None:
    sid = new_id()
    c = chronicle(sid)
    late = TimelineEntry(t=50, type="git", label="commit", hash="abc")
    early = TimelineEntry(t=10, type="file", label="a.py", action="created", ins=1, dels=0)
    same_t = TimelineEntry(t=10, type="terminal", label="ls", exit=0)
    async with store.transaction() as tx:
        await tx.insert_chronicle(c)
        assert await tx.add_timeline_entries(c.id, [late, early, late]) == [late, early]
        assert await tx.add_timeline_entries(c.id, [early, same_t]) == [same_t]
        assert await tx.add_timeline_entries(c.id, []) == []
    async with store.reader() as tx:
        assert await tx.timeline_entries(c.id) == [early, same_t, late]


async def test_detach_keeps_chronicles_and_delete_removes_them_with_entries(
    store: SqlStore,
) -> None:
    kept, dropped = new_id(), new_id()
    a, b = chronicle(kept), chronicle(dropped)
    async with store.transaction() as tx:
        for c in (a, b):
            await tx.insert_chronicle(c)
            await tx.add_timeline_entries(c.id, [TimelineEntry(t=1, type="error", label="x")])
        await tx.detach_chronicles(kept)
        await tx.delete_chronicles([b.id])
    async with store.reader() as tx:
        assert await tx.latest_chronicle(kept) is None, "detached: no longer the session's"
        assert await tx.chronicles_of(dropped) == []
        assert await tx.timeline_entries(b.id) == []
        assert len(await tx.timeline_entries(a.id)) == 1


async def test_run_usage_is_the_sessions_records_inside_the_run(store: SqlStore) -> None:
    sid, other = new_id(), new_id()
    async with store.transaction() as tx:
        for rec in (usage(sid, T0 - timedelta(seconds=1), 1, 1), usage(sid, T0, 2, None),
                    usage(sid, T0 + timedelta(minutes=9), 4, 7),
                    usage(sid, T0 + timedelta(hours=2), 8, 1), usage(other, T0, 16, 1)):
            await tx.insert_usage(rec)  # fmt: skip
    async with store.reader() as tx:
        found = await tx.run_usage(sid, T0, T0 + timedelta(hours=1))
        assert sorted(found, key=lambda u: u.recorded_at) == [
            RunUsage(T0, 2, None), RunUsage(T0 + timedelta(minutes=9), 4, 7),
        ]  # fmt: skip
        assert len(await tx.run_usage(sid, T0, None)) == 3
