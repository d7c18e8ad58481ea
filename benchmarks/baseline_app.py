"""The baseline of DESIGN §8: a bare FastAPI endpoint returning a session-sized JSON body."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()

_BODY = {
    "id": "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e", "name": "fix-auth-bug",
    "model": "claude-sonnet-4-6", "agent": "claude-code",
    "source": {"type": "git", "repo": "https://github.com/acme/backend.git", "branch": "main",
               "base_branch": ""},
    "repo": "https://github.com/acme/backend.git", "branch": "main", "status": "running",
    "error": None, "pod_name": "local-48213",
    "chat_endpoint": "ws://127.0.0.1:8080/s/0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e/session",
    "code_endpoint": "file:///var/lib/volundr/sessions/0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e/x",
    "created_at": "2026-04-11T10:30:00+00:00", "updated_at": "2026-04-11T10:31:02.512301+00:00",
    "last_active": "2026-04-11T10:31:02.512301+00:00", "message_count": 3, "tokens_used": 48210,
    "cost": 0.14463, "tracker_issue_id": None, "issue_tracker_url": None, "preset_id": None,
    "archived_at": None, "owner_id": "local", "tenant_id": "default", "activity_state": "idle",
    "activity_metadata": {"turn_count": 3}, "task_type": None,
}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.get("/session")
async def session() -> dict[str, object]:
    return _BODY


@app.post("/session")
async def create() -> dict[str, object]:
    return _BODY
