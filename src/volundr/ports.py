"""Ports: the contracts the services rely on. Adapters implement them; `app.py` wires them.

Docstrings are contracts: what a method returns, when it may be called, what it raises.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from volundr.domain.chronicles import Chronicle, RunUsage, TimelineEntry
from volundr.domain.diffs import DiffBase, DiffSummary, FileDiff, FullDiff
from volundr.domain.logs import LogPage, LogQuery
from volundr.domain.models import (
    AgentTemplate,
    Broadcast,
    Principal,
    Session,
    SessionEvent,
    SessionStatus,
)
from volundr.domain.usage import UsageRecord
from volundr.domain.workspaces import Workspace, WorkspaceStatus

# ---------------------------------------------------------------- store


@dataclass(frozen=True)
class SessionQuery:
    """A scoped list query. `statuses` empty = every status; `after` is a paging key."""

    principal: Principal
    statuses: frozenset[SessionStatus] = frozenset()
    limit: int | None = None
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class EventQuery:
    """A page of one session's events: optional type set and strict time bounds."""

    session_id: str
    types: frozenset[str] = frozenset()
    after: datetime | None = None
    before: datetime | None = None
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class TokenBucket:
    """Sums of the server's `token_usage` events whose timestamp falls in one bucket."""

    bucket: int
    """Unix seconds of the bucket start (epoch-aligned)."""
    tokens_in: int
    tokens_out: int
    cost_micros: int


@dataclass(frozen=True)
class SessionTotals:
    """Session records in a scope (API §7.4): all of them, and those `running`."""

    total: int = 0
    running: int = 0


@dataclass(frozen=True)
class UsageTotals:
    """Sums of usage records (API §7.4); `cost_micros` skips unpriced records."""

    tokens: int = 0
    local_tokens: int = 0
    cloud_tokens: int = 0
    cost_micros: int = 0


@dataclass(frozen=True)
class WorkspaceQuery:
    """Workspace records, newest first (`created_at` desc, `id` desc).

    `tenant_id` None = every tenant (background work only); `user_id` None = every user of
    the tenant; `statuses` empty = every status. `archived_before` keeps archived records
    archived before that time; `measured_before` keeps records whose size was measured
    before that time or never.
    """

    tenant_id: str | None
    user_id: str | None = None
    statuses: frozenset[WorkspaceStatus] = frozenset()
    archived_before: datetime | None = None
    measured_before: datetime | None = None


class WorkspaceTx(Protocol):
    """Workspace records (API §9), written in the same transaction as the session
    transitions that cause them."""

    async def live_workspace(self, session_id: str) -> Workspace | None:
        """The session's `active` or `archived` workspace (at most one exists), if any."""

    async def latest_workspace(self, session_id: str) -> Workspace | None:
        """The session's newest workspace record, `deleted` tombstones included."""

    async def insert_workspace(self, workspace: Workspace) -> None:
        """Insert a new record (the caller made sure no live one exists)."""

    async def update_workspace(
        self, workspace: Workspace, expected_status: WorkspaceStatus
    ) -> bool:
        """Write every mutable field if the stored status is `expected_status`.

        Compare-and-set on the status: False (nothing written) when it changed meanwhile.
        """

    async def set_workspace_size(
        self, workspace_id: str, size_bytes: int | None, measured_at: datetime
    ) -> None:
        """Record a measurement, unless the workspace was deleted meanwhile."""

    async def list_workspaces(self, query: WorkspaceQuery) -> list[Workspace]:
        """Records matching `query`, newest first."""

    async def workspace_usage(self, tenant_id: str, user_id: str) -> int:
        """Measured bytes of the user's live workspaces (unmeasured ones count 0)."""


class ChronicleTx(Protocol):
    """Chronicles (API §8), written in the transactions of the changes they record."""

    async def latest_chronicle(self, session_id: str) -> Chronicle | None:
        """The session's most recent chronicle (`created_at` desc, then `id` desc)."""

    async def chronicles_of(self, session_id: str) -> list[Chronicle]:
        """Every chronicle of the session, oldest first."""

    async def insert_chronicle(self, chronicle: Chronicle) -> None:
        """Insert a new chronicle; DuplicateKey when its run already has one (a concurrent
        writer drafted it first: retry, and find that one)."""

    async def update_chronicle(self, chronicle: Chronicle) -> None:
        """Write every field of an existing chronicle."""

    async def detach_chronicles(self, session_id: str) -> None:
        """Clear `session_id` on the session's chronicles (its record is being deleted)."""

    async def delete_chronicles(self, chronicle_ids: list[str]) -> None:
        """Delete these chronicles and their timeline entries."""

    async def timeline_entries(self, chronicle_id: str) -> list[TimelineEntry]:
        """The chronicle's entries ordered by `t`, then arrival."""

    async def add_timeline_entries(
        self, chronicle_id: str, entries: list[TimelineEntry]
    ) -> list[TimelineEntry]:
        """Append the entries not already present (same `identity()`); returns those added,
        in the given order. A concurrent writer adding the same entry raises DuplicateKey."""

    async def run_usage(
        self, session_id: str, since: datetime, until: datetime | None
    ) -> list[RunUsage]:
        """Usage records of the session recorded in `[since, until]` (`until` None = open)."""


class StoreTx(WorkspaceTx, ChronicleTx, Protocol):
    """One atomic unit of work. Everything written inside commits together or not at all."""

    async def get_session(self, session_id: str) -> Session | None:
        """The session with this id, unscoped (the service applies visibility).

        In a write transaction (`SessionStore.transaction`) the row is locked until commit:
        no other writer changes it between this read and this transaction's update, so a
        read-check-write inside one transaction never loses its compare-and-set.
        """

    async def insert_session(self, session: Session) -> None:
        """Insert a new record (its `version` must be 0) and count it for its owner."""

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

    async def session_totals(self, principal: Principal) -> SessionTotals:
        """How many sessions `principal` can see, and how many of them run; reads
        maintained counters and an index of running sessions, never every record."""

    async def insert_events(self, events: list[SessionEvent]) -> list[SessionEvent]:
        """Append events (ids set by the caller); returns them with `server_seq`, in order.

        Keeps the per-session type counts in step. An `(session_id, event_id)` pair that
        already exists raises DuplicateKey (the caller looks originals up first).
        """

    async def find_events(self, session_id: str, event_ids: list[str]) -> dict[str, SessionEvent]:
        """Stored events of `session_id` by client `event_id` (absent ids are left out)."""

    async def list_events(self, query: EventQuery) -> list[SessionEvent]:
        """Events ordered by `timestamp`, then `server_seq`."""

    async def count_events(self, session_id: str) -> dict[str, int]:
        """Event count per type for the types that occur; O(number of types)."""

    async def token_buckets(self, session_id: str, bucket_seconds: int) -> list[TokenBucket]:
        """Server `token_usage` events (those with a `usage_id`) summed per bucket, ascending."""

    async def insert_usage(self, record: UsageRecord) -> None:
        """Store a usage record and add it to its owner's counters of its UTC day; a
        repeated `(session_id, idempotency_key)` raises DuplicateKey."""

    async def usage_by_key(self, session_id: str, key: str) -> UsageRecord | None:
        """The record stored under an idempotency key, if any."""

    async def usage_totals(self, principal: Principal, day: date) -> UsageTotals:
        """Sums of the records recorded on the UTC calendar day `day` that `principal` may
        see (deleted sessions included: records carry their owner and tenant). Reads the
        per-day counters `insert_usage` keeps, a few rows whatever the number of records."""


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

    async def find_launched(self, session_id: str) -> list[Launched]:
        """Every live runtime of `session_id`, found without any stored state, each as
        `start` would have returned it (so `poll` and `stop` take its `state`).

        For recovery: a server that died after `start` launched a runtime but before its
        state was saved leaves one the database does not know. Empty when there is none
        (a runtime that is exiting may or may not be listed). Read-only: stops nothing.
        Raises RuntimeFailure only when the runtime cannot be searched.
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

    # Workspace reads (API §4.12, §4.13). They work while the session runs and after it
    # stopped, as long as its workspace exists; none of them modifies the workspace.

    async def read_logs(self, session_id: str, query: LogQuery) -> LogPage:
        """The lines of the session's log that `query` asks for.

        An empty page when nothing was captured (or the log was removed). Costs about the
        size of the answer, never a read of the whole log.
        """

    async def workspace_ready(self, session_id: str) -> bool:
        """Whether the workspace was prepared (cloned, checked out) at least once; False
        while a first clone runs."""

    async def diff_files(self, session_id: str, base: DiffBase) -> DiffSummary:
        """Every file of the working tree (staged, unstaged, untracked; ignored files
        excluded) that differs from `base`, sorted by path.

        Raises CheckoutMissing when the workspace holds no checkout, NoDefaultBranch,
        UnknownBranch.
        """

    async def diff(self, session_id: str, base: DiffBase, *, max_bytes: int) -> FullDiff:
        """The file list and the unified diff of all changes against `base` (the same base
        for both), the text cut at a line boundary within `max_bytes`. Raises as
        `diff_files`."""

    async def file_diff(
        self, session_id: str, base: DiffBase, path: str, *, max_bytes: int
    ) -> FileDiff:
        """One file's unified diff against `base` (a renamed file's diff shows the rename,
        so it agrees with `diff_files`). Raises InvalidPath when `path` leaves the workspace
        (`..`, absolute, or through a symlink), else as `diff_files`."""

    async def workspace_size(self, session_id: str) -> int | None:
        """Disk use of the session's workspace and logs in bytes; None when unknown."""

    def workspace_path(self, session_id: str) -> str | None:
        """The workspace directory when it is on this machine, None otherwise."""

    async def send_message(self, state: dict[str, Any], content: str) -> int:
        """Hand `content` to the session's agent as its next user turn; returns the turn
        number (1-based count of turns sent, this one included).

        `state` is the stored runtime state plus `session_id` and `control_key` (the
        hash of the run's token, which the host checks). Raises AgentBusy while a turn
        runs, InvalidRequest when the agent takes no messages, RuntimeFailure when the
        host cannot be reached.
        """


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

