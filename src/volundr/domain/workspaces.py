"""Workspaces (API §9): a session's working copy, its states and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from volundr.domain.errors import Conflict, NotFound

GIB = 1024**3


class WorkspaceStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


LIVE_WORKSPACE_STATUSES = frozenset({WorkspaceStatus.ACTIVE, WorkspaceStatus.ARCHIVED})
"""What `GET /workspaces` lists without a `status` filter; `deleted` is a tombstone."""


@dataclass
class Workspace:
    """A workspace record. At most one live (non-deleted) record exists per session id.

    `size_measured_at` is when `size_bytes` was last measured (None = never, or stale).
    """

    id: str
    session_id: str
    user_id: str
    tenant_id: str
    status: WorkspaceStatus
    created_at: datetime
    path: str | None = None
    size_bytes: int | None = None
    size_measured_at: datetime | None = None
    archived_at: datetime | None = None
    deleted_at: datetime | None = None
    session_name: str | None = None
    source_url: str | None = None
    source_ref: str | None = None

    @property
    def pvc_name(self) -> str:
        return pvc_name(self.session_id)

    @property
    def size_gb(self) -> int:
        """Measured size rounded up to whole GiB, at least 1."""
        if not self.size_bytes:
            return 1
        return max(1, -(-self.size_bytes // GIB))


def pvc_name(session_id: str) -> str:
    """The storage name of a session's workspace (the PVC name in Kubernetes)."""
    return f"volundr-session-{session_id}-workspace"


class WorkspaceNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Workspace not found for session {session_id}")
        self.session_id = session_id


class LogsNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Logs not found for session {session_id}")
        self.session_id = session_id


class WorkspaceNotReady(Conflict):
    """The session's first clone is still running (API §4.13)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"Workspace for session {session_id} is not ready yet")
        self.session_id = session_id


class WorkspaceBusy(Conflict):
    """A workspace of an active session cannot be deleted."""

    def __init__(self, session_id: str, session_status: str) -> None:
        super().__init__(
            f"Cannot delete workspace of session {session_id}: session is {session_status}"
        )
        self.session_id = session_id
        self.session_status = session_status


class InvalidWorkspaceTransition(Conflict):
    def __init__(self, session_id: str, operation: str, status: str) -> None:
        super().__init__(
            f"Cannot {operation} workspace of session {session_id}: current status is {status}"
        )
        self.session_id = session_id
        self.status = status


class QuotaExceeded(Conflict):
    """The user's workspaces use more disk than the configured quota; no new session."""

    def __init__(self, user_id: str, used_bytes: int, quota_bytes: int) -> None:
        super().__init__(
            f"Disk quota exceeded for user {user_id}: workspaces use {used_bytes} of "
            f"{quota_bytes} bytes; delete workspaces to create new sessions"
        )
        self.user_id = user_id
        self.used_bytes = used_bytes
        self.quota_bytes = quota_bytes
