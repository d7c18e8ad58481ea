"""Bounds of the numbers and times a request may carry (schema errors, API §0.1).

The store keeps integers in 64 bits (SQLite INTEGER, PostgreSQL BIGINT), so an unbounded
field lets one request fail at insert, or poison a counter it is added to. Each bound is far
beyond any real value, and small enough that the sums the server keeps stay inside 64 bits:
a session's `tokens_used` needs 9.2 billion reports of the largest size to overflow, its
`message_count` 9.2 trillion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from volundr.domain.clock import as_utc

MAX_SAFE_INT = 2**53 - 1
"""The largest integer every JSON client reads exactly (JavaScript's MAX_SAFE_INTEGER)."""
MAX_TOKENS = 1_000_000_000
"""Tokens of one usage report, one event or one timeline entry (API §7.1 `tokens`)."""
MAX_MESSAGES = 1_000_000
"""`message_count` of one usage report."""
MAX_LINES = 1_000_000_000
"""Inserted or deleted lines of one timeline entry."""
TEN_YEARS_S = 315_576_000
"""Ten Julian years in seconds: the longest duration or run offset accepted."""
MAX_DURATION_MS = TEN_YEARS_S * 1000
MAX_COST_USD = 1_000_000
"""Cost of one report or event (API §7.1 `cost`)."""
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""Range of a process exit status, as any platform reports it."""

Offset = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
EventSequence = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
Tokens = Annotated[int, Field(ge=0, le=MAX_TOKENS)]
Lines = Annotated[int, Field(ge=0, le=MAX_LINES)]
Seconds = Annotated[int, Field(ge=0, le=TEN_YEARS_S)]
DurationMs = Annotated[int, Field(ge=0, le=MAX_DURATION_MS)]
ExitCode = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
Cost = Annotated[float, Field(ge=0, le=MAX_COST_USD)]


def _utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError:
        raise ValueError("Datetime is out of range once converted to UTC") from None


class RequestBody(BaseModel):
    """Base of every JSON request body: values must have their declared JSON type (API
    §0.1) — `true` or `"5"` is no integer, `1` no boolean. Only ids and times, which JSON
    can only carry as strings, are read from strings (`Uuid`, `UtcTime`)."""

    model_config = ConfigDict(strict=True)


Uuid = Annotated[UUID, Field(strict=False)]
"""A UUID given as a string (any case)."""

UtcTime = Annotated[datetime, Field(strict=False), AfterValidator(_utc)]
"""A datetime read as UTC (naive) or converted to it; an offset that moves it outside
years 1–9999 is a schema error, not an overflow later on."""
