"""Ports: the contracts the services rely on. Adapters implement them; `app.py` wires them.

Docstrings are contracts: what a method returns, when it may be called, what it raises.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from volundr.domain.models import (
    AgentTemplate,
    Broadcast,
    Principal,
    Session,
    SessionEvent,
    SessionStatus,
)

# ---------------------------------------------------------------- store


@dataclass(frozen=True)
class SessionQuery:
    """A scoped list query. `statuses` empty = every status; `after` is a paging key."""

    principal: Principal
    statuses: frozenset[SessionStatus] = frozenset()
    limit: int | None = None
    after: tuple[datetime, str] | None = None


class StoreTx(Protocol):
    """One atomic unit of work. Everything written inside commits together or not at all."""

    async def get_session(self, session_id: str) -> Session | None:
        """The session with this id, unscoped (the service applies visibility)."""

    async def insert_session(self, session: Session) -> None:
        """Insert a new record (its `version` must be 0)."""

    async def update_session(self, session: Session, expected_version: int) -> bool:
        """Write every mutable field if the stored version is `expected_version`.

        Compare-and-set: returns False (writing nothing) when another writer got there
        first; on success the stored version becomes `expected_version + 1` and
        `session.version` is updated to match.
        """

    async def delete_session(self, session_id: str) -> None:
        """Remove the record and its events; usage records are kept."""

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        """Visible sessions newest first (`created_at` desc, `id` desc)."""

    async def sessions_in(self, statuses: frozenset[SessionStatus]) -> list[Session]:
        """Every session (all tenants) in one of `statuses`; used by recovery."""

    async def append_event(self, event: SessionEvent) -> None:
        """Append to the session's event log."""

    async def append_broadcast(self, broadcast: Broadcast) -> int:
        """Append to the outbox; returns its id, strictly increasing per store."""

    async def count_sessions(self, principal: Principal) -> dict[SessionStatus, int]:
        """How many sessions `principal` can see, per status (absent status = 0)."""


class SessionStore(Protocol):
    """Durable state. Adapters: SQLite (embedded) and PostgreSQL, chosen by URL."""

    def transaction(self) -> AbstractAsyncContextManager[StoreTx]:
        """A write transaction; commits on normal exit, rolls back on an exception.

        Raises StoreUnavailable when the database cannot be reached.
        """

    def reader(self) -> AbstractAsyncContextManager[StoreTx]:
        """A read-only view (writes through it are a programming error)."""

    async def ping(self) -> None:
        """A round trip to the database; raises StoreUnavailable on failure."""

    async def close(self) -> None:
        """Release connections. Safe to call twice."""


# ---------------------------------------------------------------- runtime


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a session host needs to prepare the workspace and run the agent."""

    session_id: str
    repo: str
    branch: str
    base_branch: str
    model: str
    agent: AgentTemplate
    prompt: str
    system_prompt: str
    env: dict[str, str]
    token: str
    callback_url: str
    allow_local_repos: bool
    allowed_http_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Launched:
    """What `Runtime.start` returns: the state to persist and the names to show."""

    state: dict[str, Any]
    pod_name: str
    code_endpoint: str | None


class Phase(StrEnum):
    """What a runtime is doing, as seen by `Runtime.poll`."""

    PROVISIONING = "provisioning"
    READY = "ready"
    FAILED = "failed"
    GONE = "gone"


@dataclass(frozen=True)
class RuntimeStatus:
    """A snapshot of a runtime. `error` says why it failed or went away.

    `branch` is the branch the workspace really checked out (once known);
    `agent_exit_code` is set once the agent process has exited.
    """

    phase: Phase
    error: str | None = None
    branch: str | None = None
    agent_exit_code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime(Protocol):
    """Starts, watches and stops session hosts (JupyterHub's Spawner, reduced).

    State lives in the session row (`runtime_state`), never in a side file, so a restarted
    server re-attaches by calling `poll` with the stored state.
    """

    name: str

    async def start(self, spec: LaunchSpec) -> Launched:
        """Launch the host for `spec.session_id`; returns once it is launched (not ready).

        Raises RuntimeFailure with a user-actionable reason when it cannot be launched.
        """

    async def poll(self, state: dict[str, Any]) -> RuntimeStatus:
        """Tell whether the runtime described by `state` lives and how far it got.

        Never raises for a vanished runtime: that is `Phase.GONE` with `error` set.
        """

    async def stop(self, state: dict[str, Any], *, grace_s: float) -> None:
        """Ask the host to exit, wait `grace_s`, then kill everything the session started.

        Idempotent: stopping a runtime that is already gone succeeds. Raises
        RuntimeFailure only when processes of the session survive a kill.
        """

    async def remove_workspace(self, session_id: str) -> None:
        """Delete the session's workspace and logs from storage. Idempotent."""


# ---------------------------------------------------------------- bus


class Notifier(Protocol):
    """Wakes live subscribers after outbox rows were committed (in-process or LISTEN/NOTIFY).

    `generation` counts notifications; a reader notes it, reads the outbox, then calls
    `wait(noted)`, so a notification that lands between its read and its wait is not lost.
    """

    generation: int

    def notify(self) -> None:
        """Signal that new outbox rows are committed. Never blocks."""

    async def wait(self, seen: int) -> int:
        """Return once `generation` differs from `seen` (at once if it already does).

        Returns the current generation. Unbounded: callers wrap it in `asyncio.timeout`.
        """


@dataclass(frozen=True)
class OutboxEvent:
    """A committed broadcast: its stream id (the SSE `id:`) and who may see it."""

    id: int
    name: str
    payload: dict[str, Any]
    owner_id: str
    tenant_id: str
    session_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class OutboxPage:
    """Some outbox events plus the ids of the oldest and newest retained rows (0 when empty).

    Bounds and events are read in one snapshot, so `oldest_id` says whether anything
    between a client's last id and the first returned event was pruned.
    """

    events: list[OutboxEvent]
    oldest_id: int
    newest_id: int


class Outbox(Protocol):
    """Read side of the outbox table (the write side is `StoreTx.append_broadcast`)."""

    async def read(self, after_id: int, *, limit: int, until_id: int | None = None) -> OutboxPage:
        """Committed events with `after_id < id <= until_id`, in id order, at most `limit`.

        `limit=0` reads only the bounds. Raises StoreUnavailable when unreachable.
        """

    async def prune(self, *, keep_events: int, keep_age_s: float) -> int:
        """Delete the oldest rows that are outside BOTH windows; returns how many.

        A row is kept while it is among the newest `keep_events` or younger than
        `keep_age_s` seconds. Only a prefix (by id) is ever deleted, and never the newest
        row, so ids keep increasing and retained ids form one contiguous range of the log.
        """

