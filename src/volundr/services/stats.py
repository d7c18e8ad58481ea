"""Stats (API §7.4) over the caller's visible scope.

The usage-based fields (`tokens_today`, `local_tokens`, `cloud_tokens`, `cost_today`) sum
the usage records of the current UTC calendar day, deleted sessions included. Everything
is read from counters the store maintains (sessions per owner, usage per owner and UTC
day) and an index of running sessions: the cost does not grow with the history.
"""

from __future__ import annotations

import asyncio
from typing import Any

from volundr.domain.clock import utc_day, utcnow
from volundr.domain.models import Principal
from volundr.ports import SessionStore
from volundr.services.views import usd

ScopeKey = tuple[str, str | None]

_MAX_SCOPES = 4096
"""Above this many cached scopes, stale ones are dropped."""


def scope_key(principal: Principal) -> ScopeKey:
    """Principals with the same key see the same sessions: an admin sees the tenant."""
    return (principal.tenant_id, None if principal.is_admin else principal.user_id)


class StatsService:
    """Computes stats; `cached` shares one computation per scope for `max_age_s` seconds.

    Live streams ask for stats on a timer, one request per connection; with many
    connections in one scope (the local admin, a tenant's admins) the cache turns those
    into one query per scope per `max_age_s`.
    """

    def __init__(self, store: SessionStore, *, max_age_s: float = 1.0) -> None:
        self._store = store
        self._max_age_s = max_age_s
        self._cache: dict[ScopeKey, tuple[float, dict[str, Any]]] = {}
        self._locks: dict[ScopeKey, asyncio.Lock] = {}

    async def compute(self, principal: Principal) -> dict[str, Any]:
        """The `GET /stats` body for `principal`, read now."""
        today = utc_day(utcnow())
        async with self._store.reader() as tx:
            sessions = await tx.session_totals(principal)
            usage = await tx.usage_totals(principal, today)
        return {
            "active_sessions": sessions.running,
            "total_sessions": sessions.total,
            "tokens_today": usage.tokens,
            "local_tokens": usage.local_tokens,
            "cloud_tokens": usage.cloud_tokens,
            "cost_today": usd(usage.cost_micros),
        }

    async def cached(self, principal: Principal) -> dict[str, Any]:
        """Like `compute`, but at most `max_age_s` old; concurrent misses share one read."""
        loop = asyncio.get_running_loop()
        key = scope_key(principal)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._cache.get(key)
            if hit is None or loop.time() - hit[0] > self._max_age_s:
                hit = (loop.time(), await self.compute(principal))
                self._cache[key] = hit
        if len(self._cache) > _MAX_SCOPES:
            self._forget_stale(loop.time())
        return dict(hit[1])

    def _forget_stale(self, now: float) -> None:
        for key, (at, _stats) in list(self._cache.items()):
            lock = self._locks.get(key)
            if now - at > self._max_age_s and (lock is None or not lock.locked()):
                del self._cache[key]
                self._locks.pop(key, None)
