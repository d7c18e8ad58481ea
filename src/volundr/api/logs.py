"""`GET /sessions/{id}/logs` (API §4.12): a snapshot, or with `follow=true` an SSE stream
(an `sse.EventStream`, so a shutdown ends it with a `reconnect` frame)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from volundr.api import sse
from volundr.api.bounds import MAX_SAFE_INT, UtcTime
from volundr.api.deps import Caller, SessionId
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.domain.clock import as_utc
from volundr.domain.logs import LogQuery, parse_level
from volundr.services.logs import FollowItem, FollowTimers, Heartbeat, LogEnd, LogService

router = APIRouter(route_class=StrictJsonRoute, prefix="/sessions", tags=["logs"])

LineCount = Annotated[int | None, Query(ge=1, le=2000)]


def log_service(request: Request) -> LogService:
    service: LogService = request.app.state.logs
    return service


Logs = Annotated[LogService, Depends(log_service)]


class LogLineOut(BaseModel):
    seq: int
    time: str
    timestamp: float
    level: str
    logger: str
    message: str


class LogsOut(BaseModel):
    session_id: str
    session_status: str
    total: int
    returned: int
    lines: list[LogLineOut]


@router.get(
    "/{session_id}/logs",
    response_model=LogsOut,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
              "description": "JSON snapshot, or server-sent `log` events with `follow=true`"},
        404: {"model": Detail, "description": "Session or logs not found"},
    },
)  # fmt: skip
async def get_logs(
    session_id: SessionId,
    caller: Caller,
    logs: Logs,
    request: Request,
    lines: Annotated[LineCount, Query(description="The last N matching lines (1–2000).")] = None,
    limit: Annotated[LineCount, Query(description="Alias of `lines` (`lines` wins).")] = None,
    level: Annotated[str | None, Query(description="Minimum level, case-insensitive.")] = None,
    since: Annotated[UtcTime | None, Query(description="Only lines at or after this.")] = None,
    follow: bool = False,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The session's log lines, oldest first (or a live stream of them)."""
    sid = str(session_id)
    session = await logs.open(caller, sid)
    query = LogQuery(
        lines=lines or limit or 100,
        min_level=parse_level(level) if level is not None else 10,
        since=as_utc(since).timestamp() if since is not None else None,
    )
    if follow:
        timers = FollowTimers(heartbeat_s=request.app.state.sse_heartbeat_s)
        resume = _seq(last_event_id)
        items = logs.follow(sid, query, resume_after=resume, timers=timers)
        return sse.EventStream(_frames(items), streams=sse.streams_of(request.app))
    page = await logs.read(sid, query)
    return JSONResponse({
        "session_id": sid,
        "session_status": session.status.value,
        "total": page.total,
        "returned": len(page.lines),
        "lines": page.lines,
    })  # fmt: skip


async def _frames(items: AsyncGenerator[FollowItem, None]) -> AsyncGenerator[bytes, None]:
    async with contextlib.aclosing(items):
        async for item in items:
            if isinstance(item, Heartbeat):
                yield sse.heartbeat_frame()
            elif isinstance(item, LogEnd):
                yield sse.frame("end", {"session_status": item.session_status})
            else:
                yield b"".join(sse.frame("log", line, event_id=line["seq"]) for line in item)


def _seq(value: str | None) -> int | None:
    """A `Last-Event-ID` naming a log line (ASCII digits, at most 2^53 - 1); anything else
    starts from the snapshot."""
    digits = (value or "").strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 16:
        return None
    seq = int(digits)
    return seq if seq <= MAX_SAFE_INT else None
