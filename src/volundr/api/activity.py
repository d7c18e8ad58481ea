"""Activity reports and messages to the agent (API §4.11, §4.14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from volundr.api.deps import Caller, SessionId
from volundr.api.event_schemas import ActivityIn, MessageAccepted, MessageIn
from volundr.api.reporting import Reporter
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.services.activity import ActivityService, MessageService

router = APIRouter(route_class=StrictJsonRoute, prefix="/sessions", tags=["sessions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session not found"},
    403: {"model": Detail, "description": "Role does not allow the action"},
    409: {"model": Detail, "description": "The session's status forbids it"},
}


@router.post("/{session_id}/activity", status_code=204, responses=ERRORS)
async def report_activity(
    session_id: SessionId, body: ActivityIn, request: Request, caller: Reporter
) -> Response:
    """Persist `active` / `idle` / `tool_executing` and publish `session_activity`."""
    service: ActivityService = request.app.state.activity
    await service.report(caller, str(session_id), body.state, body.metadata)
    return Response(status_code=204)


@router.post(
    "/{session_id}/messages", status_code=202, response_model=MessageAccepted, responses=ERRORS
)
async def send_message(
    session_id: SessionId, body: MessageIn, request: Request, caller: Caller
) -> Response:
    """Hand the agent its next user turn; what it does arrives as events and usage."""
    service: MessageService = request.app.state.messages
    turn = await service.send(caller, str(session_id), body.content)
    return JSONResponse({"session_id": str(session_id), "turn": turn}, status_code=202)
