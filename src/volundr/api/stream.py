"""`GET /sessions/stream`: the live stream (API §5), one subscriber of the event hub.

The response is a raw ASGI response so that it can watch for the client going away
while it waits for events: a listener task awaits `http.disconnect` and ends the
subscription at once, well within a second. Like every stream it is registered in the
app's `sse.StreamRegistry`, which ends it (with a `reconnect` frame) at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from volundr.api import sse
from volundr.api.deps import Caller
from volundr.api.routing import StrictJsonRoute
from volundr.domain.errors import StoreUnavailable
from volundr.domain.models import Principal
from volundr.services.hub import EventHub, Resync, parse_last_event_id
from volundr.services.stats import StatsService
from volundr.services.subscription import EndReason, Subscription

router = APIRouter(route_class=StrictJsonRoute, prefix="/sessions", tags=["stream"])
log = logging.getLogger("volundr.stream")

WRITE_CHUNK = 64 * 1024
"""Replayed frames are sent in writes of about this many bytes."""


class LiveStream(Response):
    """One subscriber's endless `text/event-stream` response."""

    media_type = sse.MEDIA_TYPE

    def __init__(
        self, *, hub: EventHub, streams: sse.StreamRegistry, stats: StatsService,
        principal: Principal, last_event_id: str | None, retry_ms: int,
    ) -> None:
        # Response.__init__ would add `content-length: 0`; a stream has no length.
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.raw_headers = list(sse.HEADERS)
        self._hub = hub
        self._streams = streams
        self._stats = stats
        self._principal = principal
        self._last_event_id = last_event_id
        self._retry_ms = retry_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The writer runs as its own task: waking it for each event then resumes one
        # shallow coroutine, not the whole middleware stack this request task sits under.
        sub = self._hub.subscribe(self._principal)
        writer = sub.task = asyncio.create_task(self._write(send, sub), name="stream-writer")
        try:
            await sse.run_stream(
                writer, receive, self._streams,
                end=lambda: sub.end(EndReason.SHUTDOWN),
                gone=lambda: sub.end(EndReason.DISCONNECT),
            )  # fmt: skip
        finally:
            self._hub.unsubscribe(sub)

    async def _write(self, send: Send, sub: Subscription) -> None:
        send = _watched(send, sub)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await _body(send, sse.heartbeat_frame(self._retry_ms))
        try:
            floor = await self._replay(send, sub)
        except StoreUnavailable:
            log.warning("live stream: replay impossible, store unavailable")
            await _body(send, sse.reconnect_frame("store_unavailable"))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        while True:
            await sub.wait()
            pending = sub.take()
            parts: list[bytes] = []
            if pending.resync_id is not None:
                parts.append(sse.resync_frame("overflow", pending.resync_id))
                floor = max(floor, pending.resync_id)
            for event_id, frame in pending.events:
                if event_id > floor:
                    parts.append(frame)
                    floor = event_id
            if pending.heartbeat:
                parts.append(sse.heartbeat_frame())
            if pending.stats and pending.end is None:
                parts.extend(await self._stats_frame(sub.principal))
            if pending.end is not None and pending.end is not EndReason.DISCONNECT:
                parts.append(sse.reconnect_frame(pending.end.value))
            if parts:
                await _body(send, b"".join(parts))
            if pending.end is not None:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return

    async def _replay(self, send: Send, sub: Subscription) -> int:
        """Send what the client missed; returns the id below which live events are stale."""
        if self._last_event_id is None:
            return sub.live_after
        after = parse_last_event_id(self._last_event_id)
        floor = after if after is not None else 0
        chunk: list[bytes] = []
        size = 0
        async for item in self._hub.replay(sub, after):
            if isinstance(item, Resync):
                chunk.append(sse.resync_frame(item.reason, item.latest_id))
                floor = item.latest_id
                break
            chunk.append(item[1])
            size += len(item[1])
            if size >= WRITE_CHUNK:
                await _body(send, b"".join(chunk))
                chunk, size = [], 0
        if chunk:
            await _body(send, b"".join(chunk))
        return floor

    async def _stats_frame(self, principal: Principal) -> list[bytes]:
        try:
            return [sse.stats_frame(await self._stats.cached(principal))]
        except StoreUnavailable:
            log.warning("live stream: stats skipped, store unavailable")
            return []


def _watched(send: Send, sub: Subscription) -> Send:
    """`send`, noting in `sub.blocked_since` when a write started that has not returned."""
    loop = asyncio.get_running_loop()

    async def watched(message: Message) -> None:
        sub.blocked_since = loop.time()
        try:
            await send(message)
        finally:
            sub.blocked_since = None

    return watched


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


@router.get(
    "/stream",
    status_code=200,  # LiveStream's __init__ has no status_code default for OpenAPI to read
    response_class=LiveStream,
    responses={200: {"description": "Server-sent events (API §5)"}},
)
async def session_stream(
    request: Request,
    caller: Caller,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(description="Same as `Last-Event-ID`.")] = None,
) -> LiveStream:
    """Live events about the sessions the caller can see; resumes after `Last-Event-ID`."""
    state = request.app.state
    given = last_event_id_header if last_event_id_header is not None else last_event_id
    chosen = _resume_id(given)
    return LiveStream(
        hub=state.hub,
        streams=sse.streams_of(request.app),
        stats=state.stats,
        principal=caller,
        last_event_id=chosen or None,
        retry_ms=state.sse_retry_ms,
    )


def _resume_id(raw: str | None) -> str | None:
    """`Last-Event-ID` as given, except that an integer too long to be an event id becomes
    the largest one: past the newest id either way, so the client gets a resync (API §5.3),
    and no step has to read a number of thousands of digits."""
    digits = raw.strip() if raw is not None else ""
    if len(digits.lstrip("0")) > _ID_DIGITS and digits.isascii() and digits.isdigit():
        return str(INT64_MAX)
    return raw


INT64_MAX = 2**63 - 1
_ID_DIGITS = len(str(INT64_MAX))
