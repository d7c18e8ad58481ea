"""The SQL store: one implementation of the SessionStore port for SQLite and PostgreSQL.

SQLite (embedded) is configured for one writer: WAL journal, a busy timeout, and
write transactions opened with `BEGIN IMMEDIATE` behind an in-process lock, so a
read-then-write never fails half-way with a busy snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import and_, bindparam, delete, event, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from volundr import jsoncodec
from volundr.domain.clock import utcnow
from volundr.domain.errors import StoreUnavailable
from volundr.domain.models import Broadcast, Principal, Session, SessionEvent, SessionStatus
from volundr.ports import SessionQuery
from volundr.store.chronicles_sql import ChronicleSqlMixin
from volundr.store.events_sql import EventsSqlMixin
from volundr.store.mapping import row_to_session, session_to_row
from volundr.store.tables import outbox, sessions
from volundr.store.usage_sql import UsageSqlMixin
from volundr.store.workspaces_sql import WorkspaceSqlMixin

SQLITE_BUSY_TIMEOUT_MS = 5000
OUTBOX_LOCK = 0x766F6C756E6472  # "volundr": the advisory lock key of outbox appends

# The hottest statements are built once and given their values at execution: a statement
# built per call (`.values(**row)`, `.where(col == value)`) is re-keyed and re-coerced
# every time, which cost ~10 ms of CPU per create-and-start (four transitions).
_INSERT_SESSION = insert(sessions)
_UPDATE_SESSION = update(sessions).where(
    sessions.c.id == bindparam("match_id"), sessions.c.version == bindparam("match_version")
)
_INSERT_OUTBOX = insert(outbox).returning(outbox.c.id)
_GET_SESSION = select(sessions).where(sessions.c.id == bindparam("match_id"))
_GET_SESSION_FOR_UPDATE = _GET_SESSION.with_for_update()


class SqlTx(EventsSqlMixin, UsageSqlMixin, WorkspaceSqlMixin, ChronicleSqlMixin):
    """StoreTx over one SQLAlchemy connection inside an open transaction."""

    def __init__(self, conn: AsyncConnection, *, writes: bool = False) -> None:
        self._conn = conn
        # SQLite writers are already serialized (BEGIN IMMEDIATE); PostgreSQL needs the
        # row lock so that concurrent read-check-write transactions queue, not collide.
        self._lock_rows = writes and conn.dialect.name == "postgresql"

    @property
    def connection(self) -> AsyncConnection:
        """The underlying connection, for other SQL adapters sharing this transaction."""
        return self._conn

    async def get_session(self, session_id: str) -> Session | None:
        stmt = _GET_SESSION_FOR_UPDATE if self._lock_rows else _GET_SESSION
        row = (await self._conn.execute(stmt, {"match_id": session_id})).mappings().first()
        return row_to_session(row) if row else None

    async def insert_session(self, session: Session) -> None:
        await self._conn.execute(_INSERT_SESSION, session_to_row(session))
        await self.count_session(session.tenant_id, session.owner_id, 1)

    async def update_session(self, session: Session, expected_version: int) -> bool:
        values = session_to_row(session)
        del values["id"]
        values["version"] = expected_version + 1
        values["match_id"], values["match_version"] = session.id, expected_version
        result = await self._conn.execute(_UPDATE_SESSION, values)
        if result.rowcount != 1:
            return False
        session.version = expected_version + 1
        return True

    async def delete_session(self, session_id: str) -> None:
        await self.delete_events_of(session_id)
        deleted = await self._conn.execute(
            delete(sessions)
            .where(sessions.c.id == session_id)
            .returning(sessions.c.tenant_id, sessions.c.owner_id)
        )
        for tenant_id, owner_id in deleted.all():
            await self.count_session(tenant_id, owner_id, -1)

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        p = query.principal
        stmt = select(sessions).where(sessions.c.tenant_id == p.tenant_id)
        if not p.is_admin:
            stmt = stmt.where(sessions.c.owner_id == p.user_id)
        if query.statuses:
            stmt = stmt.where(sessions.c.status.in_([s.value for s in query.statuses]))
        if query.after is not None:
            created, sid = query.after
            stmt = stmt.where(
                or_(
                    sessions.c.created_at < created,
                    and_(sessions.c.created_at == created, sessions.c.id < sid),
                )
            )
        stmt = stmt.order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        rows = (await self._conn.execute(stmt)).mappings().all()
        return [row_to_session(r) for r in rows]

    async def sessions_in(self, statuses: frozenset[SessionStatus]) -> list[Session]:
        stmt = select(sessions).where(sessions.c.status.in_([s.value for s in statuses]))
        rows = (await self._conn.execute(stmt.order_by(sessions.c.created_at))).mappings().all()
        return [row_to_session(r) for r in rows]

    async def append_event(self, ev: SessionEvent) -> None:
        await self.insert_events([ev])

    async def append_broadcast(self, broadcast: Broadcast) -> int:
        """Append to the outbox. Ids become visible in id order.

        On PostgreSQL a transaction-scoped advisory lock serializes outbox writers until
        commit, so a reader that saw id N never later finds a committed id below N
        (SQLite already has a single writer).
        """
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK}
            )
        result = await self._conn.execute(
            _INSERT_OUTBOX,
            {
                "name": broadcast.name,
                "payload": broadcast.payload,
                "owner_id": broadcast.owner_id,
                "tenant_id": broadcast.tenant_id,
                "session_id": broadcast.session_id,
                "created_at": utcnow(),
            },
        )
        return int(result.scalar_one())

    async def count_sessions(self, principal: Principal) -> dict[SessionStatus, int]:
        stmt = select(sessions.c.status, func.count()).where(
            sessions.c.tenant_id == principal.tenant_id
        )
        if not principal.is_admin:
            stmt = stmt.where(sessions.c.owner_id == principal.user_id)
        rows = (await self._conn.execute(stmt.group_by(sessions.c.status))).all()
        return {SessionStatus(status): int(count) for status, count in rows}


class SqlStore:
    """SessionStore over an async SQLAlchemy engine (`sqlite+aiosqlite` or `postgresql+asyncpg`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url, **_engine_options(self.is_sqlite))
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        if self.is_sqlite:
            async with self._write_lock, self._connect("BEGIN IMMEDIATE", writes=True) as tx:
                yield tx
        else:
            async with self._connect(writes=True) as tx:
                yield tx

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[SqlTx]:
        async with self._connect(begin="BEGIN" if self.is_sqlite else None) as tx:
            yield tx

    @asynccontextmanager
    async def _connect(
        self, begin: str | None = None, *, writes: bool = False
    ) -> AsyncIterator[SqlTx]:
        try:
            async with self.engine.connect() as conn:
                if begin and self.is_sqlite:
                    # BEGIN/COMMIT go straight to the driver: one round trip to its thread
                    # each, where a statement through SQLAlchemy costs three or four (a
                    # one-row read went from 11 round trips to 7).
                    driver: Any = (await conn.get_raw_connection()).driver_connection
                    await driver.execute(begin)
                    tx = SqlTx(conn, writes=writes)
                    try:
                        yield tx
                    except BaseException:
                        # A cancellation inside a statement leaves the connection needing a
                        # rollback SQLAlchemy refuses; the original exception must win (a
                        # swallowed CancelledError keeps a background loop from stopping).
                        try:
                            await driver.execute("ROLLBACK")
                        except Exception:  # never back in the pool mid-transaction
                            with contextlib.suppress(Exception):
                                await conn.invalidate()
                        raise
                    await driver.execute("COMMIT")
                else:
                    async with conn.begin():
                        yield SqlTx(conn, writes=writes)
        except (OperationalError, DBAPIError, OSError, sqlite3.OperationalError) as exc:
            if isinstance(exc, DBAPIError) and not _is_connectivity_error(exc):
                raise
            raise StoreUnavailable() from exc

    def restrict_access(self) -> None:
        """Make a SQLite database file (and its WAL and shared-memory files) readable by
        this user only: sessions' `env` may hold agent API keys."""
        database = self.engine.url.database if self.is_sqlite else None
        if not database or database == ":memory:":
            return
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(database + suffix, 0o600)

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(2):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except (TimeoutError, OperationalError, DBAPIError, OSError) as exc:
            raise StoreUnavailable() from exc

    async def close(self) -> None:
        await self.engine.dispose()


def _engine_options(is_sqlite: bool) -> dict[str, Any]:
    options = _engine_options_of(is_sqlite)
    options["json_deserializer"] = jsoncodec.loads_stored  # ~half of a list's read
    return options


def _engine_options_of(is_sqlite: bool) -> dict[str, Any]:
    if is_sqlite:
        # Every use of a connection ends its own transaction (COMMIT or ROLLBACK, else the
        # connection is invalidated), so the pool's rollback on return is a wasted round trip.
        return {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            "pool_reset_on_return": None,
        }
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, busy timeout and foreign keys on every new connection; transactions by hand."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _is_connectivity_error(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
