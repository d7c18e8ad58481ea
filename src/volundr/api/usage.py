"""Usage reports and the model catalogue (API §7.1–7.3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from volundr.api.deps import SessionId
from volundr.api.event_schemas import ModelOut, UsageIn, UsageOut
from volundr.api.reporting import Reporter
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.domain.usage import UsageReport
from volundr.services.event_views import usage_view
from volundr.services.models import ModelCatalogue
from volundr.services.usage import UsageService

router = APIRouter(route_class=StrictJsonRoute, tags=["usage"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session not found"},
    403: {"model": Detail, "description": "Role does not allow the action"},
    409: {"model": Detail, "description": "Status forbids it, or the key was reused"},
}


@router.post(
    "/sessions/{session_id}/usage", status_code=201, response_model=UsageOut, responses=ERRORS
)
async def report_usage(
    session_id: SessionId,
    body: UsageIn,
    request: Request,
    caller: Reporter,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> Response:
    """Record tokens and cost; a retry with the same `Idempotency-Key` counts once."""
    service: UsageService = request.app.state.usage
    report = UsageReport(
        tokens=body.tokens,
        provider=body.provider,
        model=body.model,
        message_count=body.message_count,
        cost=None if body.cost is None else Decimal(repr(body.cost)),
        tokens_in=body.tokens_in,
        tokens_out=body.tokens_out,
        cache_read_tokens=body.cache_read_tokens,
        cache_write_tokens=body.cache_write_tokens,
    )
    outcome = await service.report(caller, str(session_id), report, idempotency_key)
    response = JSONResponse(usage_view(outcome.record), status_code=201)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get("/models", response_model=list[ModelOut])
async def list_models(request: Request) -> Response:
    """The model catalogue, in configuration order."""
    catalogue: ModelCatalogue = request.app.state.models
    return JSONResponse(catalogue.views())
