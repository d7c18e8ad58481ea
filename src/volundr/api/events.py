"""Session events endpoints (API §6): ingestion, list, counts and the token timeline."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from volundr.api import strict_json
from volundr.api.bounds import MAX_SAFE_INT, UtcTime
from volundr.api.deps import Caller, SessionId
from volundr.api.event_schemas import (
    EventBatchIn,
    EventIn,
    EventOut,
    EventsBatchIn,
    EventWithSessionIn,
    TokenBucketOut,
)
from volundr.api.reporting import Reporter
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.services.event_views import bucket_view, event_view
from volundr.services.events import EventService

router = APIRouter(route_class=StrictJsonRoute, tags=["events"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session not found"},
    403: {"model": Detail, "description": "Role does not allow the action"},
}


def _service(request: Request) -> EventService:
    service: EventService = request.app.state.events
    return service


def _one_or_batch_schema() -> dict[str, Any]:
    item = EventIn.model_json_schema()
    batch = {
        "type": "object",
        "title": "EventBatch",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": item, "minItems": 1, "maxItems": 500}},
    }
    return {"anyOf": [item, batch]}


async def _body(request: Request, model: type[BaseModel]) -> Any:
    """The JSON body validated against `model`, with errors located under `body`."""
    data = await request.body()
    try:
        raw = strict_json.loads(data)
    except json.JSONDecodeError as exc:
        raise strict_json.validation_error(exc) from None
    if isinstance(raw, dict) and "events" in raw and model is EventIn:
        model = EventBatchIn
    try:
        return model.model_validate(raw, context={"body_bytes": len(data)})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


@router.post(
    "/sessions/{session_id}/events",
    status_code=201,
    response_model=EventOut | list[EventOut],
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _one_or_batch_schema()}},
        }
    },
)
async def post_session_events(
    session_id: SessionId, request: Request, caller: Reporter
) -> Response:
    """Ingest one event, or `{"events": [...]}` (1–500, all or nothing)."""
    body = await _body(request, EventIn)
    sid = str(session_id)
    if isinstance(body, EventBatchIn):
        stored = await _service(request).ingest(caller, [e.new_event() for e in body.events], sid)
        return JSONResponse([event_view(e) for e in stored], status_code=201)
    (one,) = await _service(request).ingest(caller, [body.new_event()], sid)
    return JSONResponse(event_view(one), status_code=201)


@router.post("/events", status_code=201, response_model=EventOut, responses=ERRORS)
async def post_event(body: EventWithSessionIn, request: Request, caller: Reporter) -> Response:
    """Ingest one event of the session named in the body."""
    (one,) = await _service(request).ingest(caller, [body.new_event()])
    return JSONResponse(event_view(one), status_code=201)


@router.post("/events/batch", status_code=201, response_model=list[EventOut], responses=ERRORS)
async def post_event_batch(body: EventsBatchIn, request: Request, caller: Reporter) -> Response:
    """Ingest 1–500 events of any sessions, all or nothing; answers in request order."""
    stored = await _service(request).ingest(caller, [e.new_event() for e in body.events])
    return JSONResponse([event_view(e) for e in stored], status_code=201)


@router.get(
    "/sessions/{session_id}/events", response_model=list[EventOut], responses={404: ERRORS[404]}
)
async def list_session_events(
    session_id: SessionId,
    request: Request,
    caller: Caller,
    event_type: str | None = None,
    after: UtcTime | None = None,
    before: UtcTime | None = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_SAFE_INT)] = 0,
) -> Response:
    """Events ordered by `timestamp`, then `server_seq`."""
    events = await _service(request).list_events(
        caller, str(session_id), event_type=event_type, after=after, before=before,
        limit=limit, offset=offset,
    )  # fmt: skip
    return JSONResponse([event_view(e) for e in events])


@router.get(
    "/sessions/{session_id}/events/counts",
    response_model=dict[str, int],
    responses={404: ERRORS[404]},
)
async def count_session_events(session_id: SessionId, request: Request, caller: Caller) -> Response:
    """Events per type, for the types that occur."""
    return JSONResponse(await _service(request).counts(caller, str(session_id)))


@router.get(
    "/sessions/{session_id}/events/tokens",
    response_model=list[TokenBucketOut],
    responses={404: ERRORS[404]},
)
async def session_token_timeline(
    session_id: SessionId,
    request: Request,
    caller: Caller,
    bucket_seconds: Annotated[int, Query(ge=60, le=3600)] = 300,
) -> Response:
    """Tokens and cost of accepted usage reports per epoch-aligned bucket (sparse)."""
    buckets = await _service(request).tokens(caller, str(session_id), bucket_seconds)
    return JSONResponse([bucket_view(b) for b in buckets])
