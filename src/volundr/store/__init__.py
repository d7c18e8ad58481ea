"""Persistence: SQLAlchemy Core tables, the SQL store (SQLite and PostgreSQL), migrations."""
