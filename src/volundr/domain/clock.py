"""Time and identifiers: the only place the domain reads the clock or makes ids."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _now()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Make `utcnow` call `now` (which must return aware datetimes); None restores the
    system clock. For tests that need a given time of day."""
    global _now
    _now = now or _system_now


def utc_day(value: datetime) -> date:
    """The UTC calendar day of `value` (the day of "today" in stats and budgets)."""
    return as_utc(value).date()


def next_utc_midnight(value: datetime) -> datetime:
    """00:00 UTC of the day after `value`'s UTC day."""
    day = utc_day(value) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


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
    if value.tzinfo is UTC:  # the common case, 40× cheaper than astimezone
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """ISO-8601 in UTC with an explicit `+00:00`; the fraction is omitted when zero."""
    return as_utc(value).isoformat()
