"""Server-sent events: the wire format (API §5.2) and the lifetime of stream responses.

A frame is `<field>: <value>` lines joined by LF (never CR), in the order `retry`, `id`,
`event`, `data`, ended by an empty line. `data` is one line of compact JSON: `json.dumps`
escapes every control character inside strings, so no raw LF or CR can appear.

Every long-lived response registers in the app's `StreamRegistry` while it is open
(`run_stream`), so that a server shutting down ends them all, each with a `reconnect`
frame, instead of waiting for them forever. `EventStream` is such a response for any
async generator of frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from volundr.ports import OutboxEvent

MEDIA_TYPE = "text/event-stream; charset=utf-8"
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", MEDIA_TYPE.encode()),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]


def dumps(data: Any) -> str:
    """Compact one-line JSON, UTF-8 kept as is."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def frame(
    event: str, data: Any, *, event_id: int | None = None, retry_ms: int | None = None
) -> bytes:
    """One SSE frame. `event` is one of our fixed names (never user text)."""
    head = ""
    if retry_ms is not None:
        head += f"retry: {retry_ms}\n"
    if event_id is not None:
        head += f"id: {event_id}\n"
    return f"{head}event: {event}\ndata: {dumps(data)}\n\n".encode()


def event_frame(event: OutboxEvent) -> bytes:
    """A published event: `id`, `event`, `data` (its stored payload)."""
    return frame(event.name, event.payload, event_id=event.id)


def heartbeat_frame(retry_ms: int | None = None) -> bytes:
    return frame("heartbeat", {}, retry_ms=retry_ms)


def resync_frame(reason: str, latest_id: int) -> bytes:
    return frame("resync", {"reason": reason, "latest_id": latest_id}, event_id=latest_id)


def stats_frame(stats: dict[str, Any]) -> bytes:
    return frame("stats_updated", stats)


def reconnect_frame(reason: str) -> bytes:
    """Sent last when the server ends a stream; clients reconnect with their last id."""
    return frame("reconnect", {"reason": reason})


# ---------------------------------------------------------------------- stream lifetimes


@dataclass(eq=False)
class OpenStream:
    """One registered stream: how to ask it to end, and the task writing it."""

    end: Callable[[], object]
    writer: asyncio.Task[None]


class StreamRegistry:
    """Every open long-lived response of one app, so that a shutdown can end them all.

    uvicorn waits for every open response before it shuts down, and a stream never ends
    on its own; `volundr.serving.Server` calls `end_all` first. One loop, not thread-safe.
    """

    def __init__(self) -> None:
        self._open: dict[OpenStream, None] = {}
        """Insertion-ordered set."""
        self._closing = False
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        """Gauge: streams open right now."""
        return len(self._open)

    def add(self, end: Callable[[], object], writer: asyncio.Task[None]) -> OpenStream:
        """Register a stream until `remove`. `end` must make its writer send a `reconnect`
        frame and finish; it is called at once when the registry is already closing."""
        entry = OpenStream(end, writer)
        self._open[entry] = None
        self._empty.clear()
        if self._closing:
            end()
        return entry

    def remove(self, entry: OpenStream) -> None:
        """Forget `entry`. Safe to call twice."""
        self._open.pop(entry, None)
        if not self._open:
            self._empty.set()

    async def end_all(self, grace_s: float) -> None:
        """Ask every stream to end, wait up to `grace_s` for them to finish, then cancel the
        writers still running (clients that stopped reading). Streams added later end at
        once. Safe to call twice."""
        self._closing = True
        for entry in list(self._open):
            entry.end()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._empty.wait()
        for entry in list(self._open):
            entry.writer.cancel()


def streams_of(app: Any) -> StreamRegistry:
    """The registry of `app` (`app.state.streams`, made by `create_app`)."""
    registry: StreamRegistry = app.state.streams
    return registry


async def run_stream(
    writer: asyncio.Task[None], receive: Receive, streams: StreamRegistry, *,
    end: Callable[[], object], gone: Callable[[], object],
) -> None:
    """Serve one stream: await `writer`, the task writing it, while it is registered in
    `streams` (`end` asks it to finish at shutdown) and while a listener calls `gone` as
    soon as the client disconnects.

    The writer runs as its own task so that the registry can cancel it alone: a writer
    cancelled that way, or failing with OSError (the client went away mid-write), ends
    the response quietly; uvicorn closes the connection.
    """
    entry = streams.add(end, writer)
    listener = asyncio.create_task(_listen(receive, gone), name="stream-disconnect")
    try:
        await writer
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            writer.cancel()
            raise
    except OSError:
        pass
    finally:
        listener.cancel()
        streams.remove(entry)


async def _listen(receive: Receive, gone: Callable[[], object]) -> None:
    with contextlib.suppress(OSError):
        while (await receive())["type"] != "http.disconnect":
            pass
    gone()


class EventStream(Response):
    """A `text/event-stream` response of the (already encoded) frames of `frames`, until
    they end. At shutdown it ends early with a `reconnect` frame (`{"reason":"shutdown"}`);
    when the client goes away it stops at once. `frames` is closed either way."""

    media_type = MEDIA_TYPE

    def __init__(self, frames: AsyncGenerator[bytes, None], *, streams: StreamRegistry) -> None:
        # Response.__init__ would add `content-length: 0`; a stream has no length.
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.raw_headers = list(HEADERS)
        self._frames = frames
        self._streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shutdown = asyncio.Event()
        writer = asyncio.create_task(self._write(send, shutdown), name="event-stream-writer")
        await run_stream(writer, receive, self._streams, end=shutdown.set, gone=writer.cancel)

    async def _write(self, send: Send, shutdown: asyncio.Event) -> None:
        """Send frames until they end or `shutdown` is set. Only the producer of the next
        frame is ever interrupted, never a write, so no frame is cut short."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        ending = asyncio.create_task(shutdown.wait(), name="event-stream-shutdown")
        step: asyncio.Task[bytes | None] | None = None
        try:
            while True:
                step = asyncio.create_task(_next(self._frames), name="event-stream-next")
                await asyncio.wait({step, ending}, return_when=asyncio.FIRST_COMPLETED)
                chunk = step.result() if step.done() else None
                if chunk:
                    await _body(send, chunk)
                if ending.done():
                    await _body(send, reconnect_frame("shutdown"))
                    break
                if step.done() and chunk is None:
                    break
        finally:
            ending.cancel()
            if step is not None and not step.done():
                step.cancel()
                await asyncio.wait({step})
            await self._frames.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _next(frames: AsyncGenerator[bytes, None]) -> bytes | None:
    """The next frame, or None once there are no more."""
    return await anext(frames, None)


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})
