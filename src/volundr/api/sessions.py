"""Sessions endpoints (API §4). Routes translate HTTP ↔ service calls, nothing more."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response

from volundr.api.deps import Caller, SessionId, Sessions
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import (
    CreateSession,
    DeleteSession,
    Detail,
    RuntimeReportIn,
    SessionOut,
    StartSession,
    UpdateSession,
)
from volundr.domain.errors import SessionNotFound
from volundr.domain.models import GitSource, LaunchOptions, Session, SessionStatus
from volundr.domain.pricing import micros_of_float
from volundr.services.sessions import NewSession, RuntimeReport, SessionChanges
from volundr.services.views import session_view

router = APIRouter(route_class=StrictJsonRoute, prefix="/sessions", tags=["sessions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session not found"},
    403: {"model": Detail, "description": "Role does not allow the action"},
}
STATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": Detail, "description": "The session's status forbids it"},
}


def _micros(usd: float | None) -> int | None:
    """A positive budget in micro-dollars; never 0, which would stop at the first report."""
    return None if usd is None else max(1, micros_of_float(usd))


def _one(session: Session, status_code: int = 200) -> JSONResponse:
    return JSONResponse(session_view(session), status_code=status_code)


@router.get("", response_model=list[SessionOut])
async def list_sessions(
    caller: Caller,
    sessions: Sessions,
    status: SessionStatus | None = None,
    include_archived: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: str | None = None,
) -> Response:
    """Visible sessions, newest first. `limit`/`cursor` turn on paging (`X-Next-Cursor`)."""
    page = await sessions.list_page(
        caller, status=status, include_archived=include_archived, limit=limit, cursor=cursor
    )
    response = JSONResponse([session_view(s) for s in page.sessions])
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return response


@router.post(
    "",
    status_code=201,
    response_model=SessionOut,
    responses={
        403: ERRORS[403],
        409: {"model": Detail, "description": "Quota or daily budget exhausted"},
        422: {"description": "Invalid request"},
    },
)
async def create_session(body: CreateSession, caller: Caller, sessions: Sessions) -> Response:
    """Create a session and start it; answers `starting` at once."""
    new = NewSession(
        name=body.name,
        model=body.model,
        agent=body.agent,
        source=GitSource(body.source.repo, body.source.branch, body.source.base_branch),
        preset_id=str(body.preset_id) if body.preset_id else None,
        issue_id=body.issue_id,
        issue_url=body.issue_url,
        options=LaunchOptions(
            env=dict(body.env),
            initial_prompt=body.initial_prompt,
            system_prompt=body.system_prompt,
            terminal_restricted=body.terminal_restricted,
            integration_ids=list(body.integration_ids),
            resource_config=body.resource_config.model_dump(exclude_none=True),
            workspace_id=str(body.workspace_id) if body.workspace_id else None,
            template_name=body.template_name,
            profile_name=body.profile_name,
            credential_names=list(body.credential_names),
            max_cost_micros=_micros(body.max_cost_usd),
        ),
        local_mount=body.source.type == "local_mount",
    )
    return _one(await sessions.create(caller, new), 201)


@router.post("/archive-stopped", response_model=list[str], responses={403: ERRORS[403]})
async def archive_stopped(caller: Caller, sessions: Sessions) -> list[str]:
    """Archive every stopped session the caller may change; returns their ids."""
    return await sessions.archive_stopped(caller)


@router.get("/{session_id}", response_model=SessionOut, responses={404: ERRORS[404]})
async def get_session(session_id: SessionId, caller: Caller, sessions: Sessions) -> Response:
    return _one(await sessions.get(caller, str(session_id)))


@router.put("/{session_id}", response_model=SessionOut, responses=ERRORS)
async def update_session(
    session_id: SessionId, body: UpdateSession, caller: Caller, sessions: Sessions
) -> Response:
    """Partial update of name, model, branch or tracker issue (null = unchanged)."""
    changes = SessionChanges(
        name=body.name, model=body.model, branch=body.branch,
        tracker_issue_id=body.tracker_issue_id, max_cost_micros=_micros(body.max_cost_usd),
    )
    return _one(await sessions.update(caller, str(session_id), changes))


@router.delete("/{session_id}", status_code=204, responses=ERRORS)
async def delete_session(
    session_id: SessionId,
    caller: Caller,
    sessions: Sessions,
    body: Annotated[DeleteSession | None, Body()] = None,
) -> Response:
    """Stop if active, clean up as asked, remove the record."""
    cleanup = frozenset(body.cleanup) if body else frozenset()
    await sessions.delete(caller, str(session_id), cleanup)
    return Response(status_code=204)


@router.post("/{session_id}/start", response_model=SessionOut, responses=STATE_ERRORS)
async def start_session(
    session_id: SessionId,
    caller: Caller,
    sessions: Sessions,
    body: Annotated[StartSession | None, Body()] = None,
) -> Response:
    profile = body.profile_name if body is not None else None
    return _one(await sessions.start(caller, str(session_id), profile_name=profile))


@router.post(
    "/{session_id}/stop",
    response_model=SessionOut,
    responses={**STATE_ERRORS, 502: {"model": Detail, "description": "Runtime failed"}},
)
async def stop_session(session_id: SessionId, caller: Caller, sessions: Sessions) -> Response:
    """Synchronous: returns once the session is `stopped`."""
    return _one(await sessions.stop(caller, str(session_id)))


@router.patch("/{session_id}/archive", response_model=SessionOut, responses=STATE_ERRORS)
@router.post("/{session_id}/archive", response_model=SessionOut, responses=STATE_ERRORS)
async def archive_session(session_id: SessionId, caller: Caller, sessions: Sessions) -> Response:
    """Archive (stopping first when active)."""
    return _one(await sessions.archive(caller, str(session_id)))


@router.patch("/{session_id}/restore", response_model=SessionOut, responses=STATE_ERRORS)
@router.post("/{session_id}/restore", response_model=SessionOut, responses=STATE_ERRORS)
async def restore_session(session_id: SessionId, caller: Caller, sessions: Sessions) -> Response:
    return _one(await sessions.restore(caller, str(session_id)))


@router.post("/{session_id}/runtime/report", status_code=204, include_in_schema=False)
async def runtime_report(
    session_id: SessionId,
    body: RuntimeReportIn,
    sessions: Sessions,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Callback of a session host, authenticated by the run's session token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise SessionNotFound(str(session_id))
    report = RuntimeReport(
        phase=body.phase, error=body.error, branch=body.branch, exit_code=body.exit_code
    )
    await sessions.runtime_report(str(session_id), token, report)
    return Response(status_code=204)
