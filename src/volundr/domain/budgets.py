"""Limits the server enforces on its own (off by default): a session's maximum cost, a
user's daily cost, and the idle timeout of running sessions. Amounts are micro-dollars."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from volundr.domain.clock import iso
from volundr.domain.errors import Conflict

_MICROS_PER_USD = Decimal(1_000_000)


def dollars(micros: int) -> str:
    """`$0.512000`: micro-dollars with all six decimals."""
    return f"${Decimal(micros) / _MICROS_PER_USD:.6f}"


def session_over_budget(cost_micros: int, max_cost_micros: int | None) -> str | None:
    """The stop reason once a session's cost reached its maximum, else None."""
    if max_cost_micros is None or cost_micros < max_cost_micros:
        return None
    return (
        f"Budget exceeded: cost {dollars(cost_micros)} reached max_cost_usd "
        f"{dollars(max_cost_micros)}"
    )


def idle_reason(timeout_s: float) -> str:
    """The stop reason of a session idle for `timeout_s` seconds."""
    shown = str(int(timeout_s)) if float(timeout_s).is_integer() else str(timeout_s)
    return f"Idle timeout: no activity for {shown} s"


class DailyBudgetExhausted(Conflict):
    """The user's cost today (UTC) reached the daily budget: no session starts (409)."""

    def __init__(self, spent_micros: int, limit_micros: int, resets_at: datetime) -> None:
        super().__init__(
            f"Daily budget exhausted: spent {dollars(spent_micros)} of {dollars(limit_micros)} "
            f"today; resets at {iso(resets_at)}"
        )
        self.spent_micros = spent_micros
        self.limit_micros = limit_micros
        self.resets_at = resets_at


class SessionBudgetExhausted(Conflict):
    """A session whose cost already reached its `max_cost_usd` cannot start again (409)."""

    def __init__(self, session_id: str, cost_micros: int, max_cost_micros: int) -> None:
        super().__init__(
            f"Cannot start session {session_id}: its cost {dollars(cost_micros)} reached "
            f"max_cost_usd {dollars(max_cost_micros)}"
        )
        self.session_id = session_id
