"""Liveness and readiness probes (no prefix, no identity)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """200 while the process serves requests."""
    return {"status": "healthy"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """200 when the store answers a round trip within 2 s, else 503."""
    await request.app.state.store.ping()
    return JSONResponse({"status": "ready"})
