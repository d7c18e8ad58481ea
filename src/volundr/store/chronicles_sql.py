"""The chronicle part of `StoreTx` (API §8) for SqlTx."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from volundr.domain.chronicles import Chronicle, ChronicleStatus, RunUsage, TimelineEntry
from volundr.domain.errors import DuplicateKey
from volundr.store.tables import chronicle_entries, chronicles, usage_records

_CHRONICLE_FIELDS = tuple(c.name for c in chronicles.columns)


class ChronicleSqlMixin:
    """Chronicles, their timeline entries and the usage of a run, for SqlTx."""

    _conn: AsyncConnection

    async def latest_chronicle(self, session_id: str) -> Chronicle | None:
        row = (
            await self._conn.execute(
                select(chronicles)
                .where(chronicles.c.session_id == session_id)
                .order_by(chronicles.c.created_at.desc(), chronicles.c.id.desc())
                .limit(1)
            )
        ).mappings().first()
        return _to_chronicle(row) if row else None

    async def chronicles_of(self, session_id: str) -> list[Chronicle]:
        rows = (
            await self._conn.execute(
                select(chronicles)
                .where(chronicles.c.session_id == session_id)
                .order_by(chronicles.c.created_at, chronicles.c.id)
            )
        ).mappings()
        return [_to_chronicle(row) for row in rows]

    async def insert_chronicle(self, chronicle: Chronicle) -> None:
        try:
            await self._conn.execute(insert(chronicles), _to_row(chronicle))
        except IntegrityError as exc:  # another writer drafted this run's chronicle
            raise DuplicateKey() from exc

    async def update_chronicle(self, chronicle: Chronicle) -> None:
        values = _to_row(chronicle)
        values["match_id"] = values.pop("id")
        await self._conn.execute(
            update(chronicles).where(chronicles.c.id == bindparam("match_id")), values
        )

    async def detach_chronicles(self, session_id: str) -> None:
        await self._conn.execute(
            update(chronicles).where(chronicles.c.session_id == session_id).values(session_id=None)
        )

    async def delete_chronicles(self, chronicle_ids: list[str]) -> None:
        if not chronicle_ids:
            return
        await self._conn.execute(
            delete(chronicle_entries).where(chronicle_entries.c.chronicle_id.in_(chronicle_ids))
        )
        await self._conn.execute(delete(chronicles).where(chronicles.c.id.in_(chronicle_ids)))

    async def timeline_entries(self, chronicle_id: str) -> list[TimelineEntry]:
        rows = (
            await self._conn.execute(
                select(chronicle_entries)
                .where(chronicle_entries.c.chronicle_id == chronicle_id)
                .order_by(chronicle_entries.c.t, chronicle_entries.c.seq)
            )
        ).mappings()
        return [_to_entry(row) for row in rows]

    async def add_timeline_entries(
        self, chronicle_id: str, entries: list[TimelineEntry]
    ) -> list[TimelineEntry]:
        fresh: dict[str, TimelineEntry] = {}
        for entry in entries:
            fresh.setdefault(entry.identity(), entry)
        if not fresh:
            return []
        existing = set(
            (
                await self._conn.execute(
                    select(chronicle_entries.c.identity).where(
                        chronicle_entries.c.chronicle_id == chronicle_id,
                        chronicle_entries.c.identity.in_(list(fresh)),
                    )
                )
            ).scalars()
        )
        added = [entry for key, entry in fresh.items() if key not in existing]
        if not added:
            return []
        try:
            await self._conn.execute(
                insert(chronicle_entries), [_entry_row(chronicle_id, e) for e in added]
            )
        except IntegrityError as exc:
            raise DuplicateKey() from exc
        return added

    async def run_usage(
        self, session_id: str, since: datetime, until: datetime | None
    ) -> list[RunUsage]:
        stmt = select(
            usage_records.c.recorded_at, usage_records.c.tokens, usage_records.c.cost_micros
        ).where(usage_records.c.session_id == session_id, usage_records.c.recorded_at >= since)
        if until is not None:
            stmt = stmt.where(usage_records.c.recorded_at <= until)
        rows = (await self._conn.execute(stmt)).all()
        return [RunUsage(recorded_at=r[0], tokens=r[1], cost_micros=r[2]) for r in rows]


def _to_row(c: Chronicle) -> dict[str, Any]:
    fields = vars(c)
    row = {name: fields[name] for name in _CHRONICLE_FIELDS}
    row["status"] = c.status.value
    return row


def _to_chronicle(row: RowMapping) -> Chronicle:
    values = {name: row[name] for name in _CHRONICLE_FIELDS}
    values["status"] = ChronicleStatus(row["status"])
    values["key_changes"] = list(row["key_changes"] or [])
    values["tags"] = list(row["tags"] or [])
    values["config_snapshot"] = dict(row["config_snapshot"] or {})
    return Chronicle(**values)


def _entry_row(chronicle_id: str, e: TimelineEntry) -> dict[str, Any]:
    return {
        "chronicle_id": chronicle_id, "t": e.t, "type": e.type, "label": e.label,
        "tokens": e.tokens, "action": e.action, "insertions": e.ins, "deletions": e.dels,
        "hash": e.hash, "exit_code": e.exit, "identity": e.identity(),
    }  # fmt: skip


def _to_entry(row: RowMapping) -> TimelineEntry:
    return TimelineEntry(
        t=row["t"], type=row["type"], label=row["label"], tokens=row["tokens"],
        action=row["action"], ins=row["insertions"], dels=row["deletions"], hash=row["hash"],
        exit=row["exit_code"],
    )  # fmt: skip
