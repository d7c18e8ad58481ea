"""Events and usage: server token_usage marker and epoch seconds, per-type event counts,
usage records.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from volundr.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SERVER_USAGE = "usage_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.add_column(sa.Column("usage_id", sa.String(36)))
        batch.add_column(sa.Column("epoch_s", sa.BigInteger))
    op.create_index(
        "ix_session_events_server_usage",
        "session_events",
        ["session_id", "epoch_s", "tokens_in", "tokens_out", "cost_micros", "usage_id"],
        sqlite_where=sa.text(_SERVER_USAGE),
        postgresql_where=sa.text(_SERVER_USAGE),
    )
    op.create_table(
        "session_event_counts",
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "event_type", name="pk_session_event_counts"),
    )
    op.execute(
        "INSERT INTO session_event_counts (session_id, event_type, count) "
        "SELECT session_id, event_type, COUNT(*) FROM session_events "
        "GROUP BY session_id, event_type"
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("message_count", sa.BigInteger, nullable=False),
        sa.Column("cost_micros", sa.BigInteger),
        sa.Column("tokens_in", sa.BigInteger),
        sa.Column("tokens_out", sa.BigInteger),
        sa.Column("cache_read_tokens", sa.BigInteger),
        sa.Column("cache_write_tokens", sa.BigInteger),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.UniqueConstraint("session_id", "idempotency_key", name="uq_usage_records_key"),
    )
    op.create_index("ix_usage_records_tenant_time", "usage_records", ["tenant_id", "recorded_at"])
    op.create_index(
        "ix_usage_records_owner_time", "usage_records", ["tenant_id", "owner_id", "recorded_at"]
    )


def downgrade() -> None:
    op.drop_table("usage_records")
    op.drop_table("session_event_counts")
    op.drop_index("ix_session_events_server_usage", table_name="session_events")
    with op.batch_alter_table("session_events") as batch:
        batch.drop_column("epoch_s")
        batch.drop_column("usage_id")
