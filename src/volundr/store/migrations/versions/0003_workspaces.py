"""Workspace records (API §9).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from volundr.store.types import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("size_measured_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("archived_at", UTCDateTime),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("session_name", sa.String(63)),
        sa.Column("source_url", sa.String(500)),
        sa.Column("source_ref", sa.String(255)),
    )
    op.create_index("ix_workspaces_session", "workspaces", ["session_id", "created_at"])
    op.create_index(
        "ix_workspaces_scope_created", "workspaces", ["tenant_id", "user_id", "created_at", "id"]
    )
    op.create_index("ix_workspaces_status", "workspaces", ["status"])


def downgrade() -> None:
    op.drop_table("workspaces")
