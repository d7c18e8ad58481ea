"""Usage reports and records (API §7.1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from volundr.domain.errors import InvalidRequest

USAGE_STATUSES = frozenset({"provisioning", "running", "stopping"})
"""Statuses in which a usage report is accepted (API §3.3)."""


@dataclass(frozen=True)
class UsageReport:
    """A validated `POST /sessions/{id}/usage` body; `cost` is USD as given, or None."""

    tokens: int
    provider: str
    model: str
    message_count: int = 1
    cost: Decimal | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    def check_split(self) -> None:
        """The split fields, where given, must not add up to more than `tokens`."""
        parts = (self.tokens_in, self.tokens_out, self.cache_read_tokens, self.cache_write_tokens)
        if sum(p for p in parts if p is not None) > self.tokens:
            raise InvalidRequest("Token split exceeds tokens")

    def fingerprint(self) -> str:
        """A digest of the request, to tell a retry from a different use of the same key."""
        body = {
            "tokens": self.tokens,
            "provider": self.provider,
            "model": self.model,
            "message_count": self.message_count,
            "cost": None if self.cost is None else str(self.cost.normalize()),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class UsageRecord:
    """A stored report. Kept after its session is deleted (stats still count it)."""

    id: str
    session_id: str
    owner_id: str
    tenant_id: str
    recorded_at: datetime
    tokens: int
    provider: str
    model: str
    message_count: int
    cost_micros: int | None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""
