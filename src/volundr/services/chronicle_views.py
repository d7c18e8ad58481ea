"""JSON views of chronicles and timeline entries (API §8.1, §8.4)."""

from __future__ import annotations

from typing import Any

from volundr.domain.chronicles import Aggregates, Chronicle, TimelineEntry
from volundr.domain.clock import iso
from volundr.services.views import usd


def chronicle_view(c: Chronicle, totals: Aggregates) -> dict[str, Any]:
    """The chronicle object; `end_reason` (why the run ended, beyond the contract) is the
    session's `error` at the end of the run, null for a plain stop."""
    return {
        "id": c.id,
        "session_id": c.session_id,
        "status": c.status.value,
        "project": c.project,
        "repo": c.repo,
        "branch": c.branch,
        "model": c.model,
        "config_snapshot": c.config_snapshot,
        "summary": c.summary,
        "key_changes": list(c.key_changes),
        "unfinished_work": c.unfinished_work,
        "token_usage": totals.token_usage,
        "cost": None if totals.cost_micros is None else usd(totals.cost_micros),
        "duration_seconds": c.run_duration(),
        "files": totals.files,
        "commits": totals.commits,
        "token_burn": totals.token_burn,
        "tags": list(c.tags),
        "parent_chronicle_id": c.parent_chronicle_id,
        "end_reason": c.end_reason,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def entry_view(e: TimelineEntry) -> dict[str, Any]:
    """A timeline entry with all nine keys, nulls included."""
    return {
        "t": e.t, "type": e.type, "label": e.label, "tokens": e.tokens, "action": e.action,
        "ins": e.ins, "del": e.dels, "hash": e.hash, "exit": e.exit,
    }  # fmt: skip


def entry_event(e: TimelineEntry) -> dict[str, Any]:
    """The entry inside a `chronicle_event` payload: optional keys only when not null."""
    return {k: v for k, v in entry_view(e).items() if v is not None or k in ("t", "type", "label")}
