"""Conversions between session rows and domain objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from volundr.domain.models import GitSource, LaunchOptions, Session, SessionStatus


def session_to_row(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "model": s.model,
        "agent": s.agent,
        "source": s.source.as_dict(),
        "status": s.status.value,
        "owner_id": s.owner_id,
        "tenant_id": s.tenant_id,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "last_active": s.last_active,
        "error": s.error,
        "chat_endpoint": s.chat_endpoint,
        "code_endpoint": s.code_endpoint,
        "pod_name": s.pod_name,
        "message_count": s.message_count,
        "tokens_used": s.tokens_used,
        "cost_micros": s.cost_micros,
        "tracker_issue_id": s.tracker_issue_id,
        "issue_tracker_url": s.issue_tracker_url,
        "preset_id": s.preset_id,
        "archived_at": s.archived_at,
        "activity_state": s.activity_state,
        "activity_metadata": s.activity_metadata,
        "launch": s.launch.as_dict(),
        "runtime_state": s.runtime_state,
        "token_hash": s.token_hash,
        "run_started_at": s.run_started_at,
        "version": s.version,
    }


def row_to_session(row: RowMapping) -> Session:
    src = row["source"] or {}
    return Session(
        id=row["id"],
        name=row["name"],
        model=row["model"],
        agent=row["agent"],
        source=GitSource(
            repo=src.get("repo", ""),
            branch=src.get("branch", ""),
            base_branch=src.get("base_branch", ""),
        ),
        status=SessionStatus(row["status"]),
        owner_id=row["owner_id"],
        tenant_id=row["tenant_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_active=row["last_active"],
        error=row["error"],
        chat_endpoint=row["chat_endpoint"],
        code_endpoint=row["code_endpoint"],
        pod_name=row["pod_name"],
        message_count=row["message_count"],
        tokens_used=row["tokens_used"],
        cost_micros=row["cost_micros"],
        tracker_issue_id=row["tracker_issue_id"],
        issue_tracker_url=row["issue_tracker_url"],
        preset_id=row["preset_id"],
        archived_at=row["archived_at"],
        activity_state=row["activity_state"],
        activity_metadata=row["activity_metadata"] or {},
        launch=LaunchOptions.from_dict(row["launch"] or {}),
        runtime_state=row["runtime_state"] or {},
        token_hash=row["token_hash"],
        run_started_at=row["run_started_at"],
        version=row["version"],
    )
