"""Migrations create exactly the schema of `volundr.store.tables`, and are idempotent."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from volundr.store import migrate
from volundr.store.sql import SqlStore
from volundr.store.tables import metadata

COMPARE_OPTS = {"compare_type": True, "compare_server_default": True}


async def schema_diff(engine: AsyncEngine, target: sa.MetaData = metadata) -> list[Any]:
    def run(sync_conn: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts=COMPARE_OPTS)
        return list(compare_metadata(context, target))

    async with engine.connect() as conn:
        return await conn.run_sync(run)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def revision(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        return [r[0] for r in rows]


def script_heads() -> list[str]:
    """The head revision(s) of the migration scripts."""
    from alembic.script import ScriptDirectory

    return sorted(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())


async def test_migrations_create_exactly_the_declared_schema(empty_db_url: str) -> None:
    store = SqlStore(empty_db_url)
    try:
        await migrate.upgrade(store.engine)
        assert await schema_diff(store.engine) == []
        assert await table_names(store.engine) == {*metadata.tables, "alembic_version"}
    finally:
        await store.close()


async def test_the_comparison_would_notice_a_drift(empty_db_url: str) -> None:
    drifted = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["sessions"].append_column(sa.Column("extra", sa.Text))
    sa.Index("ix_extra", drifted.tables["outbox"].c.name)
    store = SqlStore(empty_db_url)
    try:
        await migrate.upgrade(store.engine)
        kinds = {d[0] for d in await schema_diff(store.engine, drifted)}
        assert {"add_column", "add_index"} <= kinds
    finally:
        await store.close()


async def test_migrations_are_idempotent(empty_db_url: str) -> None:
    store = SqlStore(empty_db_url)
    try:
        await migrate.upgrade(store.engine)
        head = await revision(store.engine)
        await migrate.upgrade(store.engine)
        assert sorted(await revision(store.engine)) == sorted(head) == script_heads()
        assert await schema_diff(store.engine) == []
    finally:
        await store.close()


async def test_a_second_store_on_the_same_database_keeps_the_data(
    empty_db_url: str, make_session: Any
) -> None:
    first = SqlStore(empty_db_url)
    await migrate.upgrade(first.engine)
    session = make_session()
    async with first.transaction() as tx:
        await tx.insert_session(session)
    await first.close()

    second = SqlStore(empty_db_url)
    try:
        await migrate.upgrade(second.engine)
        async with second.reader() as tx:
            assert await tx.get_session(session.id) == session
    finally:
        await second.close()
