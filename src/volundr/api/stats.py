"""`GET /stats` (API §7.4): counts over the caller's visible sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from volundr.api.deps import Caller
from volundr.api.routing import StrictJsonRoute
from volundr.services.stats import StatsService

router = APIRouter(route_class=StrictJsonRoute, tags=["stats"])


class StatsOut(BaseModel):
    active_sessions: int
    total_sessions: int
    tokens_today: int
    local_tokens: int
    cloud_tokens: int
    cost_today: float


@router.get("/stats", response_model=StatsOut)
async def stats(request: Request, caller: Caller) -> dict[str, object]:
    """Sessions running and in total (archived included) in the caller's scope, and the
    tokens and cost of today's usage reports (UTC day)."""
    service: StatsService = request.app.state.stats
    return await service.compute(caller)
