"""JSON views of session events, token buckets and usage records (API §6.2, §6.6, §7.1)."""

from __future__ import annotations

import time
from typing import Any

from volundr.domain.clock import iso
from volundr.domain.models import SessionEvent
from volundr.domain.usage import UsageRecord
from volundr.ports import TokenBucket
from volundr.services.views import usd


def _usd(micros: int) -> float:
    """Same value as `usd` (int / int true division is correctly rounded, so this is the
    double nearest to the exact 6-place decimal), without Decimal: timelines have
    thousands of buckets."""
    return micros / 1_000_000


def event_view(ev: SessionEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "event_id": ev.event_id,
        "session_id": ev.session_id,
        "event_type": ev.event_type,
        "timestamp": iso(ev.timestamp),
        "data": ev.data,
        "sequence": ev.sequence,
        "server_seq": ev.server_seq,
        "tokens_in": ev.tokens_in,
        "tokens_out": ev.tokens_out,
        "duration_ms": ev.duration_ms,
        "cost": None if ev.cost_micros is None else usd(ev.cost_micros),
        "model": ev.model,
    }


def bucket_view(b: TokenBucket) -> dict[str, Any]:
    return {
        "bucket": b.bucket,
        "bucket_start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(b.bucket)),
        "tokens_in": b.tokens_in,
        "tokens_out": b.tokens_out,
        "cost": _usd(b.cost_micros),
    }


def usage_view(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "session_id": r.session_id,
        "recorded_at": iso(r.recorded_at),
        "tokens": r.tokens,
        "provider": r.provider,
        "model": r.model,
        "message_count": r.message_count,
        "cost": None if r.cost_micros is None else usd(r.cost_micros),
        "tokens_in": r.tokens_in,
        "tokens_out": r.tokens_out,
        "cache_read_tokens": r.cache_read_tokens,
        "cache_write_tokens": r.cache_write_tokens,
    }
