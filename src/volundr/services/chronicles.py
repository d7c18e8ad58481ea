"""Chronicles (API §8): one per run, drafted by the run's first timeline entry or report,
completed when the run ends, kept (detached) or deleted with their session.

The hooks run inside the transactions of the changes they follow (transitions, event
ingestion, session deletion), so a chronicle never disagrees with the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from volundr.domain.chronicles import (
    TRANSLATED_EVENTS,
    Aggregates,
    Chronicle,
    ChronicleReport,
    ChronicleStatus,
    TimelineEntry,
    aggregate,
    project_name,
    translate,
)
from volundr.domain.clock import new_id, utcnow
from volundr.domain.errors import DuplicateKey, NotFound
from volundr.domain.models import Broadcast, Principal, Session, SessionEvent, SessionStatus
from volundr.ports import Notifier, SessionStore, StoreTx
from volundr.services.access import ReportCaller, require_reporter, visible_session
from volundr.services.chronicle_views import chronicle_view, entry_event, entry_view

CLEANUP_CHRONICLES = "chronicles"
_RUN_ENDED = frozenset({SessionStatus.STOPPED, SessionStatus.FAILED})
_ATTEMPTS = 5


class ChronicleNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"No chronicle found for session: {session_id}")


class TimelineNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"No chronicle data for session: {session_id}")


class ChronicleService:
    def __init__(self, store: SessionStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    # ------------------------------------------------------------------ hooks

    async def on_transition(self, tx: StoreTx, session: Session, previous: SessionStatus) -> None:
        """Complete the run's chronicle when the run ends (→ stopped/failed); once the
        workspace is ready (→ running), record the branch it really checked out."""
        if session.status is SessionStatus.RUNNING:
            await self._resolve_branch(tx, session)
            return
        if session.status not in _RUN_ENDED or not previous.is_active:
            return
        chronicle, created = await self._run_chronicle(tx, session)
        chronicle.status = ChronicleStatus.COMPLETE
        chronicle.run_ended_at = session.updated_at
        chronicle.end_reason = session.error
        chronicle.updated_at = session.updated_at
        await self._save(tx, chronicle, created)

    async def _resolve_branch(self, tx: StoreTx, session: Session) -> None:
        """A draft made before the clone knew only the requested branch (`""` = default)."""
        chronicle = await tx.latest_chronicle(session.id)
        branch = session.source.branch
        run_start = session.run_started_at or session.created_at
        if chronicle is None or chronicle.run_started_at != run_start or chronicle.branch:
            return
        if branch:
            chronicle.branch = branch
            chronicle.config_snapshot = {**chronicle.config_snapshot, "branch": branch}
            chronicle.updated_at = session.updated_at
            await self._save(tx, chronicle, created=False)

    async def on_delete(self, tx: StoreTx, session: Session, cleanup: frozenset[str]) -> None:
        """With `chronicles` cleanup delete them (publishing `chronicle_deleted` each),
        else keep them with `session_id: null`."""
        if CLEANUP_CHRONICLES not in cleanup:
            await tx.detach_chronicles(session.id)
            return
        doomed = await tx.chronicles_of(session.id)
        await tx.delete_chronicles([c.id for c in doomed])
        for chronicle in doomed:
            await tx.append_broadcast(
                _broadcast(chronicle, "chronicle_deleted",
                           {"id": chronicle.id, "session_id": session.id})
            )  # fmt: skip

    async def on_events(
        self, tx: StoreTx, session: Session, events: Sequence[SessionEvent]
    ) -> bool:
        """Translate freshly ingested events into timeline entries of the current run;
        True when something was published (the caller wakes subscribers after commit)."""
        if not any(ev.event_type in TRANSLATED_EVENTS for ev in events):
            return False
        chronicle, created = await self._run_chronicle(tx, session)
        start = chronicle.run_started_at
        entries = [
            entry
            for ev in events
            if (entry := translate(ev.event_type, ev.data, ev.timestamp, start)) is not None
        ]
        if not entries:
            return False
        if created:
            await tx.insert_chronicle(chronicle)
        added = await tx.add_timeline_entries(chronicle.id, entries)
        await self._publish(tx, chronicle, created, added)
        return created or bool(added)

    def wake(self) -> None:
        """Tell live subscribers that chronicle broadcasts were committed."""
        self._notifier.notify()

    # ------------------------------------------------------------------ API

    async def get(self, principal: Principal, session_id: str) -> dict[str, Any]:
        """The session's most recent chronicle."""
        async with self._store.reader() as tx:
            visible_session(ReportCaller(principal), await tx.get_session(session_id), session_id)
            chronicle = await tx.latest_chronicle(session_id)
            if chronicle is None:
                raise ChronicleNotFound(session_id)
            return chronicle_view(chronicle, await self._aggregates(tx, chronicle))

    async def timeline(self, principal: Principal, session_id: str) -> dict[str, Any]:
        """Entries and aggregates of the session's most recent run."""
        async with self._store.reader() as tx:
            visible_session(ReportCaller(principal), await tx.get_session(session_id), session_id)
            chronicle = await tx.latest_chronicle(session_id)
            if chronicle is None:
                raise TimelineNotFound(session_id)
            entries = await tx.timeline_entries(chronicle.id)
            totals = await self._aggregates(tx, chronicle, entries)
        return {
            "events": [entry_view(e) for e in entries],
            "files": totals.files,
            "commits": totals.commits,
            "token_burn": totals.token_burn,
        }

    async def report(
        self, caller: ReportCaller, session_id: str, report: ChronicleReport
    ) -> dict[str, Any]:
        """Enrich the chronicle of the current (or last) run, creating it if needed.
        A repeat of the same report writes and publishes nothing."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._store.transaction() as tx:
                    session = visible_session(caller, await tx.get_session(session_id), session_id)
                    require_reporter(caller)
                    chronicle, created = await self._run_chronicle(tx, session)
                    changed = report.apply(chronicle)
                    if changed or created:
                        chronicle.updated_at = utcnow()
                        await self._save(tx, chronicle, created)
                    view = chronicle_view(chronicle, await self._aggregates(tx, chronicle))
            except DuplicateKey:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            if changed or created:
                self.wake()
            return view
        raise AssertionError("unreachable")

    async def add_entry(
        self, caller: ReportCaller, session_id: str, entry: TimelineEntry
    ) -> dict[str, Any]:
        """Add a posted timeline entry (a repeat is answered without being stored again)."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._store.transaction() as tx:
                    session = visible_session(caller, await tx.get_session(session_id), session_id)
                    require_reporter(caller)
                    chronicle, created = await self._run_chronicle(tx, session)
                    if created:
                        await tx.insert_chronicle(chronicle)
                    added = await tx.add_timeline_entries(chronicle.id, [entry])
                    await self._publish(tx, chronicle, created, added)
            except DuplicateKey:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            if created or added:
                self.wake()
            return entry_view(entry)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ internals

    async def _run_chronicle(self, tx: StoreTx, session: Session) -> tuple[Chronicle, bool]:
        """The chronicle of the session's current run, or of its last one when it is not
        active; a new draft (not yet stored) when that run has none. True = new."""
        latest = await tx.latest_chronicle(session.id)
        run_start = session.run_started_at or session.created_at
        if latest is not None and latest.run_started_at == run_start:
            return latest, False
        now = utcnow()
        source = session.source
        return (
            Chronicle(
                id=new_id(),
                session_id=session.id,
                origin_session_id=session.id,
                owner_id=session.owner_id,
                tenant_id=session.tenant_id,
                status=ChronicleStatus.DRAFT,
                project=project_name(source.repo, session.name),
                repo=source.repo,
                branch=source.branch,
                model=session.model,
                config_snapshot=_snapshot(session),
                run_started_at=run_start,
                created_at=now,
                updated_at=now,
                parent_chronicle_id=latest.id if latest is not None else None,
            ),
            True,
        )

    async def _save(self, tx: StoreTx, chronicle: Chronicle, created: bool) -> None:
        if created:
            await tx.insert_chronicle(chronicle)
        else:
            await tx.update_chronicle(chronicle)
        view = chronicle_view(chronicle, await self._aggregates(tx, chronicle))
        name = "chronicle_created" if created else "chronicle_updated"
        await tx.append_broadcast(_broadcast(chronicle, name, view))

    async def _publish(
        self, tx: StoreTx, chronicle: Chronicle, created: bool, added: list[TimelineEntry]
    ) -> None:
        """`chronicle_created` for a new draft, then one `chronicle_event` per new entry
        (each carrying the aggregates as they stand after all of them)."""
        if not created and not added:
            return
        totals = await self._aggregates(tx, chronicle)
        if created:
            await tx.append_broadcast(
                _broadcast(chronicle, "chronicle_created", chronicle_view(chronicle, totals))
            )
        for entry in added:
            payload = {
                "session_id": chronicle.session_id,
                "event": entry_event(entry),
                "files": totals.files,
                "commits": totals.commits,
                "token_burn": totals.token_burn,
            }
            await tx.append_broadcast(_broadcast(chronicle, "chronicle_event", payload))

    @staticmethod
    async def _aggregates(
        tx: StoreTx, chronicle: Chronicle, entries: list[TimelineEntry] | None = None
    ) -> Aggregates:
        if entries is None:
            entries = await tx.timeline_entries(chronicle.id)
        usage = await tx.run_usage(
            chronicle.origin_session_id, chronicle.run_started_at, chronicle.run_ended_at
        )
        return aggregate(entries, usage, chronicle.run_started_at)


def _snapshot(session: Session) -> dict[str, Any]:
    source = session.source
    return {"name": session.name, "model": session.model, "repo": source.repo,
            "branch": source.branch, "agent": session.agent}  # fmt: skip


def _broadcast(chronicle: Chronicle, name: str, payload: dict[str, Any]) -> Broadcast:
    return Broadcast(
        name=name,
        payload=payload,
        owner_id=chronicle.owner_id,
        tenant_id=chronicle.tenant_id,
        session_id=chronicle.origin_session_id,
    )
