"""Session, principal and the values they carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class SessionStatus(StrEnum):
    CREATED = "created"
    STARTING = "starting"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    ARCHIVED = "archived"

    @property
    def is_active(self) -> bool:
        """Active = a runtime may exist (starting, provisioning, running, stopping)."""
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset(
    {
        SessionStatus.STARTING,
        SessionStatus.PROVISIONING,
        SessionStatus.RUNNING,
        SessionStatus.STOPPING,
    }
)


class Role(StrEnum):
    ADMIN = "volundr:admin"
    DEVELOPER = "volundr:developer"
    VIEWER = "volundr:viewer"


@dataclass(frozen=True)
class Principal:
    """Who is calling. Every service call takes one and scopes its queries by it."""

    user_id: str
    tenant_id: str
    email: str | None = None
    roles: tuple[Role, ...] = (Role.DEVELOPER,)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def can_mutate(self) -> bool:
        return self.is_admin or Role.DEVELOPER in self.roles

    def can_see(self, owner_id: str, tenant_id: str) -> bool:
        """Visibility rule: owners see their own, admins see their whole tenant."""
        if tenant_id != self.tenant_id:
            return False
        return self.is_admin or owner_id == self.user_id


LOCAL_ADMIN = Principal(
    user_id="local", tenant_id="default", email="local@localhost", roles=(Role.ADMIN,)
)


@dataclass(frozen=True)
class GitSource:
    repo: str = ""
    branch: str = ""
    base_branch: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"type": "git", "repo": self.repo, "branch": self.branch,
                "base_branch": self.base_branch}


@dataclass
class LaunchOptions:
    """Create-time options kept for every later start; never returned by the API, except
    `max_cost_micros` (the session's `max_cost_usd`; None = no limit).

    `env` may hold secrets (agent API keys): it is stored, passed to the runtime by
    environment, and never serialized into a response or log.
    """

    env: dict[str, str] = field(default_factory=dict)
    initial_prompt: str = ""
    system_prompt: str = ""
    initial_prompt_sent: bool = False
    """Set when a run reached `running` (its agent started with `initial_prompt`)."""
    terminal_restricted: bool = False
    credential_names: list[str] = field(default_factory=list)
    integration_ids: list[str] = field(default_factory=list)
    resource_config: dict[str, str] = field(default_factory=dict)
    template_name: str | None = None
    profile_name: str | None = None
    workspace_id: str | None = None
    max_cost_micros: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": dict(self.env),
            "initial_prompt": self.initial_prompt,
            "system_prompt": self.system_prompt,
            "initial_prompt_sent": self.initial_prompt_sent,
            "terminal_restricted": self.terminal_restricted,
            "credential_names": list(self.credential_names),
            "integration_ids": list(self.integration_ids),
            "resource_config": dict(self.resource_config),
            "template_name": self.template_name,
            "profile_name": self.profile_name,
            "workspace_id": self.workspace_id,
            "max_cost_micros": self.max_cost_micros,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LaunchOptions:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Session:
    """A session record. `version` increases on every write (optimistic concurrency)."""

    id: str
    name: str
    model: str
    agent: str
    source: GitSource
    status: SessionStatus
    owner_id: str
    tenant_id: str
    created_at: datetime
    updated_at: datetime
    last_active: datetime
    error: str | None = None
    chat_endpoint: str | None = None
    code_endpoint: str | None = None
    pod_name: str | None = None
    message_count: int = 0
    tokens_used: int = 0
    cost_micros: int = 0
    tracker_issue_id: str | None = None
    issue_tracker_url: str | None = None
    preset_id: str | None = None
    archived_at: datetime | None = None
    activity_state: str | None = None
    activity_metadata: dict[str, Any] = field(default_factory=dict)
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    runtime_state: dict[str, Any] = field(default_factory=dict)
    token_hash: str | None = None
    run_started_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class SessionEvent:
    """A row of a session's event log (§6 of the API contract)."""

    id: str
    session_id: str
    event_type: str
    timestamp: datetime
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    sequence: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    duration_ms: int | None = None
    cost_micros: int | None = None
    model: str | None = None
    usage_id: str | None = None
    """Set on the server's own `token_usage` events: the usage record they stand for."""
    server_seq: int | None = None
    """Assigned by the store at insertion."""


@dataclass(frozen=True)
class Broadcast:
    """An event for live subscribers: its SSE name, JSON payload and who may see it."""

    name: str
    payload: dict[str, Any]
    owner_id: str
    tenant_id: str
    session_id: str | None = None


@dataclass(frozen=True)
class AgentTemplate:
    """How to run an agent: `kind` picks the adapter, `command` is its argv (prefix).

    `idle_timeout_s`: a running session of this agent whose activity has been `idle` this
    long is stopped (None = never).
    """

    name: str
    kind: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    stop_on_exit: bool = False
    model: str = ""
    idle_timeout_s: float | None = None
