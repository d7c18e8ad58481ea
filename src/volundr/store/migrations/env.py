"""Alembic environment: runs on the connection handed over by `volundr.store.migrate`."""

from __future__ import annotations

from alembic import context

from volundr.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through volundr.store.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
