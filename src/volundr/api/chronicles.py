"""Chronicles and their timelines (API §8.3, §8.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from volundr.api.bounds import MAX_LINES, ExitCode, Lines, RequestBody, Seconds, Tokens
from volundr.api.deps import Caller, SessionId
from volundr.api.reporting import Reporter
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.domain.chronicles import MAX_HASH, MAX_LABEL, ChronicleReport, TimelineEntry
from volundr.services.chronicles import ChronicleService

router = APIRouter(route_class=StrictJsonRoute, tags=["chronicles"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session (or its chronicle) not found"}
}
REPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"model": Detail, "description": "Role does not allow the action"},
}

Text = Annotated[str, Field(max_length=100_000)]
KeyChanges = Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=500)]


class ChronicleReportIn(RequestBody):
    """The runtime's report; every non-null field overwrites the chronicle's."""

    summary: Text | None = None
    key_changes: KeyChanges | None = None
    unfinished_work: Text | None = None
    duration_seconds: Seconds | None = None


class TimelineEntryIn(RequestBody):
    model_config = ConfigDict(populate_by_name=True)

    t: Seconds
    type: Literal["session", "message", "file", "git", "terminal", "error"]
    label: Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]
    tokens: Tokens | None = None
    action: Literal["created", "modified", "deleted"] | None = None
    ins: Lines | None = None
    dels: Annotated[int | None, Field(alias="del", ge=0, le=MAX_LINES)] = None
    hash: Annotated[str, Field(max_length=MAX_HASH)] | None = None
    exit: ExitCode | None = None


class TimelineEntryOut(BaseModel):
    t: int
    type: str
    label: str
    tokens: int | None
    action: str | None
    ins: int | None
    dels: int | None = Field(alias="del")
    hash: str | None
    exit: int | None


class FileOut(BaseModel):
    path: str
    status: Literal["new", "mod", "del"]
    ins: int
    dels: int = Field(alias="del")


class CommitOut(BaseModel):
    hash: str
    msg: str
    time: str


class ChronicleOut(BaseModel):
    id: str
    session_id: str | None
    status: Literal["draft", "complete"]
    project: str
    repo: str
    branch: str
    model: str
    config_snapshot: dict[str, Any]
    summary: str | None
    key_changes: list[str]
    unfinished_work: str | None
    token_usage: int
    cost: float | None
    duration_seconds: int | None
    files: list[FileOut]
    commits: list[CommitOut]
    token_burn: list[int]
    tags: list[str]
    parent_chronicle_id: str | None
    end_reason: str | None = Field(description="Why the run ended (the session's error), "
                                   "null for a plain stop; beyond the contract.")  # fmt: skip
    created_at: str
    updated_at: str


class TimelineOut(BaseModel):
    events: list[TimelineEntryOut]
    files: list[FileOut]
    commits: list[CommitOut]
    token_burn: list[int]


def _service(request: Request) -> ChronicleService:
    service: ChronicleService = request.app.state.chronicles
    return service


@router.get(
    "/sessions/{session_id}/chronicle", response_model=ChronicleOut, responses=NOT_FOUND
)
async def get_chronicle(session_id: SessionId, request: Request, caller: Caller) -> Response:
    """The session's most recent chronicle (a draft while its run goes on)."""
    return JSONResponse(await _service(request).get(caller, str(session_id)))


@router.post(
    "/sessions/{session_id}/chronicle",
    status_code=201,
    response_model=ChronicleOut,
    responses=REPORT_ERRORS,
)
async def report_chronicle(
    session_id: SessionId, body: ChronicleReportIn, request: Request, caller: Reporter
) -> Response:
    """Enrich the chronicle of the current (or last) run; repeating a report is a no-op."""
    report = ChronicleReport(
        summary=body.summary,
        key_changes=body.key_changes,
        unfinished_work=body.unfinished_work,
        duration_seconds=body.duration_seconds,
    )
    view = await _service(request).report(caller, str(session_id), report)
    return JSONResponse(view, status_code=201)


@router.post(
    "/chronicles/{session_id}/timeline",
    status_code=201,
    response_model=TimelineEntryOut,
    responses=REPORT_ERRORS,
)
async def add_timeline_entry(
    session_id: SessionId, body: TimelineEntryIn, request: Request, caller: Reporter
) -> Response:
    """Add an entry to the timeline of the session's current run (once: a repeat of the
    same `t`, `type`, `label`, `action` and `hash` is not added again)."""
    entry = TimelineEntry(
        t=body.t, type=body.type, label=body.label, tokens=body.tokens, action=body.action,
        ins=body.ins, dels=body.dels, hash=body.hash, exit=body.exit,
    )  # fmt: skip
    return JSONResponse(await _service(request).add_entry(caller, str(session_id), entry),
                        status_code=201)  # fmt: skip


@router.get(
    "/chronicles/{session_id}/timeline", response_model=TimelineOut, responses=NOT_FOUND
)
async def get_timeline(session_id: SessionId, request: Request, caller: Caller) -> Response:
    """Entries and aggregates (files, commits, token burn) of the most recent run."""
    return JSONResponse(await _service(request).timeline(caller, str(session_id)))
