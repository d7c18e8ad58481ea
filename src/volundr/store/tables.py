"""The schema, defined once. Alembic migrations create it; a test checks they agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    UniqueConstraint("session_id", "event_id", name="uq_session_events_client_id"),
    Index("ix_session_events_session_time", "session_id", "timestamp", "server_seq"),
)

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
