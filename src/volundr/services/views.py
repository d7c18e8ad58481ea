"""The one serializer of a session, shared by REST responses and live-stream payloads."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from volundr.domain.clock import iso
from volundr.domain.models import Session

_MICRO = Decimal(1) / Decimal(1_000_000)


def usd(micros: int) -> float:
    """Integer micro-dollars as a float rounded half-even to 6 decimal places."""
    return float((Decimal(micros) * _MICRO).quantize(_MICRO, rounding=ROUND_HALF_EVEN))


def session_view(s: Session) -> dict[str, Any]:
    """The session object of the API contract (§2.1), every field always present, plus
    `max_cost_usd` (the session's budget, null when none)."""
    max_cost = s.launch.max_cost_micros
    return {
        "id": s.id,
        "name": s.name,
        "model": s.model,
        "agent": s.agent,
        "source": s.source.as_dict(),
        "repo": s.source.repo,
        "branch": s.source.branch,
        "status": s.status.value,
        "error": s.error,
        "pod_name": s.pod_name,
        "chat_endpoint": s.chat_endpoint,
        "code_endpoint": s.code_endpoint,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "last_active": iso(s.last_active),
        "message_count": s.message_count,
        "tokens_used": s.tokens_used,
        "cost": usd(s.cost_micros),
        "tracker_issue_id": s.tracker_issue_id,
        "issue_tracker_url": s.issue_tracker_url,
        "preset_id": s.preset_id,
        "archived_at": iso(s.archived_at) if s.archived_at else None,
        "owner_id": s.owner_id,
        "tenant_id": s.tenant_id,
        "activity_state": s.activity_state,
        "activity_metadata": s.activity_metadata,
        "task_type": None,
        "max_cost_usd": None if max_cost is None else usd(max_cost),
    }
