"""The schema, defined once. Alembic migrations create it; a test checks they agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
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
)

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
