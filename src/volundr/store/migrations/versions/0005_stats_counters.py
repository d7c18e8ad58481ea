"""Stats counters: sessions per owner, usage per owner, UTC day and provider, and an index
of running sessions; both counter tables are filled from the existing rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_RUNNING = "status = 'running'"
_UTC_DAY = {
    "sqlite": "date(recorded_at)",  # naive UTC text
    "postgresql": "(recorded_at AT TIME ZONE 'UTC')::date",
}


def upgrade() -> None:
    op.create_index(
        "ix_sessions_running",
        "sessions",
        ["tenant_id", "owner_id"],
        sqlite_where=sa.text(_RUNNING),
        postgresql_where=sa.text(_RUNNING),
    )
    op.create_table(
        "session_counts",
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "owner_id", name="pk_session_counts"),
    )
    op.execute(
        "INSERT INTO session_counts (tenant_id, owner_id, count) "
        "SELECT tenant_id, owner_id, COUNT(*) FROM sessions GROUP BY tenant_id, owner_id"
    )
    op.create_table(
        "usage_daily",
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_micros", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", "owner_id", "provider", name="pk_usage_daily"),
    )
    day = _UTC_DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO usage_daily (tenant_id, day, owner_id, provider, tokens, cost_micros) "
        f"SELECT tenant_id, {day}, owner_id, provider, SUM(tokens), "
        "COALESCE(SUM(cost_micros), 0) FROM usage_records "
        f"GROUP BY tenant_id, {day}, owner_id, provider"
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
    op.drop_table("session_counts")
    op.drop_index("ix_sessions_running", table_name="sessions")
