"""Usage reports (API §7.1): one record, the session's counters, one `token_usage` event and
the `session_updated` broadcast, all in one transaction.

An `Idempotency-Key` makes a retry count once: the stored record is returned (replayed)
before the state check, and the same key with a different body is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from volundr.domain.clock import new_id, utcnow
from volundr.domain.errors import Conflict, DuplicateKey, InvalidTransition
from volundr.domain.events import split_tokens
from volundr.domain.models import Session, SessionEvent
from volundr.domain.pricing import report_cost
from volundr.domain.usage import USAGE_STATUSES, UsageRecord, UsageReport
from volundr.ports import Notifier, SessionStore, StoreTx
from volundr.services.access import ReportCaller, require_reporter, visible_session
from volundr.services.models import ModelCatalogue
from volundr.services.transitions import updated_broadcast

_MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class Recorded:
    record: UsageRecord
    replayed: bool
    session: Session | None = None
    """The session as the report left it (None when replayed)."""


class _LostRace(Exception):
    """The session changed between read and write (PostgreSQL): try the whole report again."""


class UsageService:
    def __init__(
        self,
        store: SessionStore,
        notifier: Notifier,
        catalogue: ModelCatalogue,
        *,
        after_count: Callable[[Session], None] = lambda _session: None,
    ) -> None:
        """`after_count` is called with the session once a report's transaction committed
        (the session budget check); it must not block."""
        self._store = store
        self._notifier = notifier
        self._catalogue = catalogue
        self._after_count = after_count

    async def report(
        self, caller: ReportCaller, session_id: str, report: UsageReport, key: str | None = None
    ) -> Recorded:
        for _ in range(_MAX_ATTEMPTS):
            try:
                async with self._store.transaction() as tx:
                    outcome = await self._report_in(tx, caller, session_id, report, key)
            except (DuplicateKey, _LostRace):
                continue
            if outcome.session is not None:
                self._notifier.notify()
                self._after_count(outcome.session)
            return outcome
        raise RuntimeError(f"session {session_id}: usage report kept losing races")

    async def _report_in(
        self,
        tx: StoreTx,
        caller: ReportCaller,
        session_id: str,
        report: UsageReport,
        key: str | None,
    ) -> Recorded:
        session = visible_session(caller, await tx.get_session(session_id), session_id)
        require_reporter(caller)
        fingerprint = report.fingerprint()
        if key is not None:
            existing = await tx.usage_by_key(session_id, key)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise Conflict(
                        f"Idempotency-Key {key} was already used with a different request"
                    )
                return Recorded(existing, replayed=True)
        if session.status.value not in USAGE_STATUSES:
            raise InvalidTransition(session_id, "report usage for", session.status.value)
        report.check_split()
        record = self._record(session, report, key, fingerprint)
        await tx.insert_usage(record)
        await self._count(tx, session, record)
        return Recorded(record, replayed=False, session=session)

    def _record(
        self, session: Session, report: UsageReport, key: str | None, fingerprint: str
    ) -> UsageRecord:
        cost = report_cost(
            tokens=report.tokens,
            tokens_out=report.tokens_out,
            provider=report.provider,
            model=self._catalogue.get(report.model),
            given=report.cost,
        )
        return UsageRecord(
            id=new_id(),
            session_id=session.id,
            owner_id=session.owner_id,
            tenant_id=session.tenant_id,
            recorded_at=utcnow(),
            tokens=report.tokens,
            provider=report.provider,
            model=report.model,
            message_count=report.message_count,
            cost_micros=cost,
            tokens_in=report.tokens_in,
            tokens_out=report.tokens_out,
            cache_read_tokens=report.cache_read_tokens,
            cache_write_tokens=report.cache_write_tokens,
            idempotency_key=key,
            fingerprint=fingerprint,
        )

    @staticmethod
    async def _count(tx: StoreTx, session: Session, record: UsageRecord) -> None:
        """Add the record to the session's counters, log its event, queue the broadcast."""
        expected = session.version
        session.tokens_used += record.tokens
        session.message_count += record.message_count
        session.cost_micros += record.cost_micros or 0
        session.last_active = session.updated_at = record.recorded_at
        if not await tx.update_session(session, expected):
            raise _LostRace()
        tokens_in, tokens_out = split_tokens(record.tokens, record.tokens_out)
        await tx.insert_events(
            [
                SessionEvent(
                    id=new_id(),
                    session_id=session.id,
                    event_type="token_usage",
                    timestamp=record.recorded_at,
                    data={"usage_id": record.id, "provider": record.provider},
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    cost_micros=record.cost_micros,
                    model=record.model,
                    usage_id=record.id,
                )
            ]
        )
        await tx.append_broadcast(updated_broadcast(session))
