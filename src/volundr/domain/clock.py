"""Time and identifiers: the only place the domain reads the clock or makes ids."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new lower-case hyphenated UUID4 string."""
    return str(uuid.uuid4())


def new_ids(count: int) -> list[str]:
    """`count` new UUID4 strings from one read of the system's random source (`uuid4`
    reads it once per id, which dominates when ids are made by the hundred)."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[i * 16 : i * 16 + 16], version=4)) for i in range(count)]


def as_utc(value: datetime) -> datetime:
    """Read a naive datetime as UTC and convert an aware one to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """ISO-8601 in UTC with an explicit `+00:00`; the fraction is omitted when zero."""
    return as_utc(value).isoformat()
