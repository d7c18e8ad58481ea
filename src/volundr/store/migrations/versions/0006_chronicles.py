"""Chronicles and their timeline entries (API §8).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from volundr.store.types import BigId, JsonDoc, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chronicles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36)),
        sa.Column("origin_session_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("project", sa.String(500), nullable=False),
        sa.Column("repo", sa.String(500), nullable=False),
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("config_snapshot", JsonDoc, nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("key_changes", JsonDoc, nullable=False),
        sa.Column("unfinished_work", sa.Text),
        sa.Column("duration_seconds", sa.BigInteger),
        sa.Column("run_started_at", UTCDateTime, nullable=False),
        sa.Column("run_ended_at", UTCDateTime),
        sa.Column("end_reason", sa.Text),
        sa.Column("parent_chronicle_id", sa.String(36)),
        sa.Column("tags", JsonDoc, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("origin_session_id", "run_started_at", name="uq_chronicles_run"),
    )
    op.create_index(
        "ix_chronicles_session_created", "chronicles", ["session_id", "created_at", "id"]
    )
    op.create_table(
        "chronicle_entries",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("chronicle_id", sa.String(36), nullable=False),
        sa.Column("t", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("label", sa.String(1000), nullable=False),
        sa.Column("tokens", sa.BigInteger),
        sa.Column("action", sa.String(16)),
        sa.Column("insertions", sa.BigInteger),
        sa.Column("deletions", sa.BigInteger),
        sa.Column("hash", sa.String(40)),
        sa.Column("exit_code", sa.BigInteger),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.UniqueConstraint("chronicle_id", "identity", name="uq_chronicle_entries_identity"),
    )
    op.create_index(
        "ix_chronicle_entries_order", "chronicle_entries", ["chronicle_id", "t", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_chronicle_entries_order", table_name="chronicle_entries")
    op.drop_table("chronicle_entries")
    op.drop_index("ix_chronicles_session_created", table_name="chronicles")
    op.drop_table("chronicles")
