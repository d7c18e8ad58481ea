"""The outbox read side and its pruning, on the real store (SQLite, or PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from volundr.bus.outbox import SqlOutbox
from volundr.domain.clock import utcnow
from volundr.domain.models import Broadcast, Principal, Role, Session, SessionStatus
from volundr.store.sql import SqlStore
from volundr.store.tables import outbox


async def _publish(store: SqlStore, count: int, owner: str = "local") -> list[int]:
    ids = []
    async with store.transaction() as tx:
        for i in range(count):
            ids.append(
                await tx.append_broadcast(
                    Broadcast("session_updated", {"n": i}, owner, "default", None)
                )
            )
    return ids


async def _age(store: SqlStore, upto_id: int, seconds: float) -> None:
    """Pretend rows up to `upto_id` were published `seconds` ago."""
    async with store.transaction() as tx:
        await tx.connection.execute(
            sa.update(outbox)
            .where(outbox.c.id <= upto_id)
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )


async def test_read_returns_events_in_id_order_with_the_bounds(store: SqlStore) -> None:
    box = SqlOutbox(store)
    assert await box.read(0, limit=10) == (await box.read(0, limit=0))
    assert (await box.read(0, limit=0)).newest_id == 0
    ids = await _publish(store, 5)
    assert ids == sorted(ids) and len(set(ids)) == 5
    page = await box.read(ids[1], limit=2)
    assert [e.id for e in page.events] == ids[2:4]
    assert [e.payload for e in page.events] == [{"n": 2}, {"n": 3}]
    assert (page.oldest_id, page.newest_id) == (ids[0], ids[-1])
    capped = await box.read(ids[0], limit=10, until_id=ids[2])
    assert [e.id for e in capped.events] == ids[1:3]


async def test_prune_deletes_only_what_is_outside_both_windows(store: SqlStore) -> None:
    box = SqlOutbox(store)
    ids = await _publish(store, 10)
    # Old by age, but all within the newest 10: kept.
    await _age(store, ids[-1], 3600)
    assert await box.prune(keep_events=10, keep_age_s=60) == 0
    # Newest 4 by count; the 3 youngest by age: rows outside both are the 6 oldest.
    await _age(store, ids[6], 3600)
    async with store.transaction() as tx:
        await tx.connection.execute(
            sa.update(outbox).where(outbox.c.id > ids[6]).values(created_at=utcnow())
        )
    assert await box.prune(keep_events=4, keep_age_s=60) == 6
    page = await box.read(0, limit=100)
    assert [e.id for e in page.events] == ids[6:]
    assert page.oldest_id == ids[6]


async def test_prune_never_deletes_the_newest_row_so_ids_keep_increasing(
    store: SqlStore,
) -> None:
    box = SqlOutbox(store)
    ids = await _publish(store, 3)
    await _age(store, ids[-1], 3600)
    assert await box.prune(keep_events=1, keep_age_s=1) == 2
    assert (await box.read(0, limit=0)).oldest_id == ids[-1]
    (after,) = await _publish(store, 1)
    assert after > ids[-1]


async def test_count_sessions_is_scoped_like_the_session_list(
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
    alice = Principal("alice", "default")
    admin = Principal("root", "default", roles=(Role.ADMIN,))
    async with store.reader() as tx:
        assert await tx.count_sessions(alice) == {
            SessionStatus.RUNNING: 1, SessionStatus.ARCHIVED: 1
        }
        assert await tx.count_sessions(admin) == {
            SessionStatus.RUNNING: 2, SessionStatus.ARCHIVED: 1
        }
