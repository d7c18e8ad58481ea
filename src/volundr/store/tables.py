"""The schema, defined once. Alembic migrations create it; a test checks they agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from volundr.store.types import BigId, JsonDoc, UTCDateTime

metadata = MetaData()

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(63), nullable=False),
    Column("model", String(100), nullable=False),
    Column("agent", String(100), nullable=False),
    Column("source", JsonDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("tenant_id", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_active", UTCDateTime, nullable=False),
    Column("error", Text),
    Column("chat_endpoint", Text),
    Column("code_endpoint", Text),
    Column("pod_name", String(255)),
    Column("message_count", BigInteger, nullable=False),
    Column("tokens_used", BigInteger, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    Column("tracker_issue_id", String(255)),
    Column("issue_tracker_url", String(2048)),
    Column("preset_id", String(36)),
    Column("archived_at", UTCDateTime),
    Column("activity_state", String(32)),
    Column("activity_metadata", JsonDoc, nullable=False),
    Column("launch", JsonDoc, nullable=False),
    Column("runtime_state", JsonDoc, nullable=False),
    Column("token_hash", String(64)),
    Column("run_started_at", UTCDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_sessions_scope_created", "tenant_id", "owner_id", "created_at", "id"),
    Index("ix_sessions_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_sessions_status", "status"),
    Index(
        "ix_sessions_running",
        "tenant_id",
        "owner_id",
        sqlite_where=text("status = 'running'"),
        postgresql_where=text("status = 'running'"),
    ),
)
"""`ix_sessions_running` holds only running sessions: `/stats` counts them without reading
the others."""

session_counts = Table(
    "session_counts",
    metadata,
    Column("tenant_id", String(255), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "owner_id", name="pk_session_counts"),
)
"""Session records per owner, kept in step by every insert and delete of a session, so
`total_sessions` reads one row per owner however many sessions exist."""

session_events = Table(
    "session_events",
    metadata,
    Column("server_seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("session_id", String(36), nullable=False),
    Column("event_id", String(200)),
    Column("event_type", String(32), nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("data", JsonDoc, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("tokens_in", BigInteger),
    Column("tokens_out", BigInteger),
    Column("duration_ms", BigInteger),
    Column("cost_micros", BigInteger),
    Column("model", String(100)),
    Column("usage_id", String(36)),
    Column("epoch_s", BigInteger),
    UniqueConstraint("session_id", "event_id", name="uq_session_events_client_id"),
    Index("ix_session_events_session_time", "session_id", "timestamp", "server_seq"),
    Index(
        "ix_session_events_server_usage",
        "session_id",
        "epoch_s",
        "tokens_in",
        "tokens_out",
        "cost_micros",
        "usage_id",
        sqlite_where=text("usage_id IS NOT NULL"),
        postgresql_where=text("usage_id IS NOT NULL"),
    ),
)
"""`usage_id` marks the server's own `token_usage` events; `epoch_s` is `timestamp` in whole
Unix seconds (set at insertion). The partial covering index makes the token timeline read
only the server's usage events, and bucket them with integer arithmetic, however many
other events the session has."""

session_event_counts = Table(
    "session_event_counts",
    metadata,
    Column("session_id", String(36), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("session_id", "event_type", name="pk_session_event_counts"),
)
"""Events per session and type, kept in step by every insert and delete of events."""

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("tenant_id", String(255), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("provider", String(16), nullable=False),
    Column("model", String(100), nullable=False),
    Column("message_count", BigInteger, nullable=False),
    Column("cost_micros", BigInteger),
    Column("tokens_in", BigInteger),
    Column("tokens_out", BigInteger),
    Column("cache_read_tokens", BigInteger),
    Column("cache_write_tokens", BigInteger),
    Column("idempotency_key", String(200)),
    Column("fingerprint", String(64), nullable=False),
    UniqueConstraint("session_id", "idempotency_key", name="uq_usage_records_key"),
    Index("ix_usage_records_tenant_time", "tenant_id", "recorded_at"),
    Index("ix_usage_records_owner_time", "tenant_id", "owner_id", "recorded_at"),
)
"""No foreign key to `sessions`: usage outlives its session (spend stays in `/stats`)."""

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("tenant_id", String(255), nullable=False),
    Column("day", Date, nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day", "owner_id", "provider", name="pk_usage_daily"),
)
"""Usage records summed per owner, UTC calendar day and provider, updated in the transaction
that inserts each record (`cost_micros` skips unpriced records). Today's stats and daily
budgets read a few rows of it instead of the day's records."""

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("tenant_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("path", Text),
    Column("size_bytes", BigInteger),
    Column("size_measured_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    Column("session_name", String(63)),
    Column("source_url", String(500)),
    Column("source_ref", String(255)),
    Index("ix_workspaces_session", "session_id", "created_at"),
    Index("ix_workspaces_scope_created", "tenant_id", "user_id", "created_at", "id"),
    Index("ix_workspaces_status", "status"),
)
"""No foreign key to `sessions`: a workspace outlives its session (API §9)."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("tenant_id", String(255), nullable=False),
    Column("session_id", String(36)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_outbox_created", "created_at"),
)

chronicles = Table(
    "chronicles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36)),
    Column("origin_session_id", String(36), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("tenant_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("project", String(500), nullable=False),
    Column("repo", String(500), nullable=False),
    Column("branch", String(255), nullable=False),
    Column("model", String(100), nullable=False),
    Column("config_snapshot", JsonDoc, nullable=False),
    Column("summary", Text),
    Column("key_changes", JsonDoc, nullable=False),
    Column("unfinished_work", Text),
    Column("duration_seconds", BigInteger),
    Column("run_started_at", UTCDateTime, nullable=False),
    Column("run_ended_at", UTCDateTime),
    Column("end_reason", Text),
    Column("parent_chronicle_id", String(36)),
    Column("tags", JsonDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("origin_session_id", "run_started_at", name="uq_chronicles_run"),
    Index("ix_chronicles_session_created", "session_id", "created_at", "id"),
)
"""One row per run. No foreign key to `sessions`: a chronicle outlives its session
(`session_id` is cleared then; `origin_session_id` finds the run's usage records).
`uq_chronicles_run` keeps concurrent writers from drafting two chronicles of one run."""

chronicle_entries = Table(
    "chronicle_entries",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("chronicle_id", String(36), nullable=False),
    Column("t", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("label", String(1000), nullable=False),
    Column("tokens", BigInteger),
    Column("action", String(16)),
    Column("insertions", BigInteger),
    Column("deletions", BigInteger),
    Column("hash", String(40)),
    Column("exit_code", BigInteger),
    Column("identity", String(64), nullable=False),
    UniqueConstraint("chronicle_id", "identity", name="uq_chronicle_entries_identity"),
    Index("ix_chronicle_entries_order", "chronicle_id", "t", "seq"),
)
"""Timeline entries of a run (API §8.4), posted or translated from ingested events;
`identity` (a hash of t, type, label, action, hash) makes a repeated entry a no-op."""
