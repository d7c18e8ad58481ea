"""Cost budgets (off by default): a session's `max_cost_usd` and a user's daily cost.

- A usage report that brings a session's cost to its maximum gets the session stopped,
  in the background once the report committed (the report itself still succeeds).
- A restart of a session whose cost already reached its maximum is refused with a 409.
- A start (a create's first start included) of a user whose usage cost of the current UTC
  day reached the daily budget is refused with a 409, inside the start's transaction, so
  nothing is written.
"""

from __future__ import annotations

from volundr.domain.budgets import (
    DailyBudgetExhausted,
    SessionBudgetExhausted,
    session_over_budget,
)
from volundr.domain.clock import next_utc_midnight, utc_day, utcnow
from volundr.domain.models import Principal, Session, SessionStatus
from volundr.ports import StoreTx
from volundr.services.autostop import AutoStop

_BILLED = frozenset({SessionStatus.PROVISIONING, SessionStatus.RUNNING})
"""Statuses a budget stops from (a report during `stopping` needs no stop)."""


class SessionBudget:
    """Checks each counted usage report against the session's `max_cost_micros`."""

    def __init__(self, autostop: AutoStop) -> None:
        self._autostop = autostop

    def after_usage(self, session: Session) -> None:
        reason = session_over_budget(session.cost_micros, session.launch.max_cost_micros)
        if reason is None or session.status not in _BILLED:
            return
        run = session.run_started_at

        def same_run(current: Session) -> bool:
            return current.run_started_at == run

        self._autostop.request(session.id, reason, same_run)

    @staticmethod
    async def on_transition(tx: StoreTx, session: Session, previous: SessionStatus) -> None:
        """Refuse a restart of a session that already spent its whole budget (the run
        would be stopped at its first usage report)."""
        limit = session.launch.max_cost_micros
        starting = session.status is SessionStatus.STARTING
        if starting and limit is not None and session.cost_micros >= limit:
            raise SessionBudgetExhausted(session.id, session.cost_micros, limit)


class DailyBudget:
    """A transition hook refusing starts of users who spent `limit_micros` today (UTC)."""

    def __init__(self, limit_micros: int) -> None:
        self._limit = limit_micros

    async def on_transition(self, tx: StoreTx, session: Session, previous: SessionStatus) -> None:
        if session.status is not SessionStatus.STARTING:
            return
        now = utcnow()
        owner = Principal(user_id=session.owner_id, tenant_id=session.tenant_id)
        spent = (await tx.usage_totals(owner, utc_day(now))).cost_micros
        if spent >= self._limit:
            raise DailyBudgetExhausted(spent, self._limit, next_utc_midnight(now))
