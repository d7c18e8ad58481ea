"""Request and response schemas of session events, usage, activity, messages and models."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from volundr.api.bounds import (
    INT32_MAX,
    INT32_MIN,
    MAX_LINES,
    MAX_MESSAGES,
    TEN_YEARS_S,
    Cost,
    DurationMs,
    EventSequence,
    RequestBody,
    Tokens,
    UtcTime,
    Uuid,
)
from volundr.domain.chronicles import TRANSLATED_EVENTS
from volundr.domain.clock import utcnow
from volundr.domain.events import MAX_BATCH, MAX_DATA_BYTES
from volundr.services.events import NewEvent


def _event_data(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """`data` ≤ 64 KiB serialized, and within bounds where a timeline entry is read from it.

    The size check is skipped when the caller tells (validation context `body_bytes`) that
    the whole request body is smaller than that: batches of small events are the common
    case and serializing each one costs ~10% of ingestion. Either way the value came from
    the strict JSON loader, so it can be written back out.
    """
    small_body = isinstance(info.context, dict) and info.context.get("body_bytes", 1 << 30) <= (
        MAX_DATA_BYTES
    )
    if not small_body and _serialized_size(value, "data") > MAX_DATA_BYTES:
        raise ValueError(f"data must be at most {MAX_DATA_BYTES} bytes serialized")
    if info.data.get("event_type") in TRANSLATED_EVENTS:
        _check_entry_fields(value)
    return value


_ENTRY_FIELDS = (
    (("t",), 0, TEN_YEARS_S),
    (("insertions", "ins", "deletions", "del"), 0, MAX_LINES),
    (("exit_code", "exit"), INT32_MIN, INT32_MAX),
)
"""The integers of `data` that become a timeline entry (API §8.4), with the bounds the
same entry has when posted to `/chronicles/{id}/timeline`."""


def _check_entry_fields(data: dict[str, Any]) -> None:
    """Negative `t` and line counts are allowed: the timeline ignores them (API §8.4)."""
    for names, low, high in _ENTRY_FIELDS:
        for name in names:
            value = data.get(name)
            if type(value) is not int:
                continue
            if value > high:
                raise ValueError(f"data.{name} must be at most {high}")
            if value < low < 0:
                raise ValueError(f"data.{name} must be at least {low}")


def _not_far_ahead(value: datetime) -> datetime:
    """A run's timeline is dense up to its latest entry, so an event dated centuries ahead
    would make every later read of it enormous."""
    if value > utcnow() + timedelta(seconds=TEN_YEARS_S):
        raise ValueError("timestamp must be at most ten years ahead of the server clock")
    return value


def _metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    if _serialized_size(value, "metadata") > 16 * 1024:
        raise ValueError("metadata must be at most 16384 bytes serialized")
    return value


def _serialized_size(value: dict[str, Any], name: str) -> int:
    """Bytes of `value` as compact JSON; ValueError when it is not strict JSON."""
    try:
        return len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
    except (ValueError, TypeError, RecursionError):
        raise ValueError(f"{name} must be a JSON object") from None


MessageCount = Annotated[int, Field(ge=1, le=MAX_MESSAGES)]


class EventIn(RequestBody):
    """One event to ingest (API §6.3). Unknown fields are ignored."""

    session_id: Uuid | None = None
    event_type: str
    timestamp: Annotated[UtcTime, AfterValidator(_not_far_ahead)] | None = None
    data: Annotated[dict[str, Any], AfterValidator(_event_data)] = Field(default_factory=dict)
    sequence: EventSequence = 0
    tokens_in: Tokens | None = None
    tokens_out: Tokens | None = None
    duration_ms: DurationMs | None = None
    cost: Cost | None = None
    model: Annotated[str, Field(max_length=100)] | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    def new_event(self) -> NewEvent:
        return NewEvent(
            event_type=self.event_type,
            session_id=str(self.session_id) if self.session_id else None,
            timestamp=self.timestamp,
            data=self.data,
            sequence=self.sequence,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            duration_ms=self.duration_ms,
            cost=self.cost,
            model=self.model,
            event_id=self.event_id,
        )


class EventWithSessionIn(EventIn):
    """An event for `/events` and `/events/batch`: `session_id` is required."""

    session_id: Uuid


class EventBatchIn(RequestBody):
    events: Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]


class EventsBatchIn(RequestBody):
    events: Annotated[list[EventWithSessionIn], Field(min_length=1, max_length=MAX_BATCH)]


class EventOut(BaseModel):
    """A stored event (API §6.2). Documentation only: responses are built directly."""

    model_config = ConfigDict(title="SessionEvent")

    id: UUID
    event_id: str | None
    session_id: UUID
    event_type: str
    timestamp: str
    data: dict[str, Any]
    sequence: int
    server_seq: int
    tokens_in: int | None
    tokens_out: int | None
    duration_ms: int | None
    cost: float | None
    model: str | None


class TokenBucketOut(BaseModel):
    bucket: int
    bucket_start: str
    tokens_in: int
    tokens_out: int
    cost: float


class UsageIn(RequestBody):
    """Body of `POST /sessions/{id}/usage` (API §7.1)."""

    tokens: Annotated[int, Field(ge=1, le=1_000_000_000)]
    provider: Literal["cloud", "local"]
    model: Annotated[str, Field(min_length=1, max_length=100)]
    message_count: MessageCount = 1
    cost: Cost | None = None
    tokens_in: Tokens | None = None
    tokens_out: Tokens | None = None
    cache_read_tokens: Tokens | None = None
    cache_write_tokens: Tokens | None = None


class UsageOut(BaseModel):
    model_config = ConfigDict(title="UsageRecord")

    id: UUID
    session_id: UUID
    recorded_at: str
    tokens: int
    provider: str
    model: str
    message_count: int
    cost: float | None
    tokens_in: int | None
    tokens_out: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None


class ActivityIn(RequestBody):
    """Body of `POST /sessions/{id}/activity`; the state is checked after the session."""

    state: str
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_size)] = Field(
        default_factory=dict
    )


class MessageIn(RequestBody):
    content: Annotated[str, Field(min_length=1, max_length=100_000)]


class MessageAccepted(BaseModel):
    session_id: UUID
    turn: int


class ModelOut(BaseModel):
    model_config = ConfigDict(title="Model")

    id: str
    name: str
    description: str
    provider: Literal["cloud", "local"]
    tier: Literal["frontier", "balanced", "execution", "reasoning"]
    color: str
    cost_per_million_tokens: float | None
    input_cost_per_million: float | None
    output_cost_per_million: float | None
    vram_required: str | None
