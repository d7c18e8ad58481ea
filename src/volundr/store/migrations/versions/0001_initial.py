"""Initial schema: sessions, session events, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from volundr.store.types import BigId, JsonDoc, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("source", JsonDoc, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("last_active", UTCDateTime, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("chat_endpoint", sa.Text),
        sa.Column("code_endpoint", sa.Text),
        sa.Column("pod_name", sa.String(255)),
        sa.Column("message_count", sa.BigInteger, nullable=False),
        sa.Column("tokens_used", sa.BigInteger, nullable=False),
        sa.Column("cost_micros", sa.BigInteger, nullable=False),
        sa.Column("tracker_issue_id", sa.String(255)),
        sa.Column("issue_tracker_url", sa.String(2048)),
        sa.Column("preset_id", sa.String(36)),
        sa.Column("archived_at", UTCDateTime),
        sa.Column("activity_state", sa.String(32)),
        sa.Column("activity_metadata", JsonDoc, nullable=False),
        sa.Column("launch", JsonDoc, nullable=False),
        sa.Column("runtime_state", JsonDoc, nullable=False),
        sa.Column("token_hash", sa.String(64)),
        sa.Column("run_started_at", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_sessions_scope_created", "sessions", ["tenant_id", "owner_id", "created_at", "id"]
    )
    op.create_index("ix_sessions_tenant_created", "sessions", ["tenant_id", "created_at", "id"])
    op.create_index("ix_sessions_status", "sessions", ["status"])

    op.create_table(
        "session_events",
        sa.Column("server_seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(200)),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("timestamp", UTCDateTime, nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("tokens_in", sa.BigInteger),
        sa.Column("tokens_out", sa.BigInteger),
        sa.Column("duration_ms", sa.BigInteger),
        sa.Column("cost_micros", sa.BigInteger),
        sa.Column("model", sa.String(100)),
        sa.UniqueConstraint("session_id", "event_id", name="uq_session_events_client_id"),
    )
    op.create_index(
        "ix_session_events_session_time",
        "session_events",
        ["session_id", "timestamp", "server_seq"],
    )

    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("session_id", sa.String(36)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_outbox_created", "outbox", ["created_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("session_events")
    op.drop_table("sessions")
