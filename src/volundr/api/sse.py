"""Server-sent events wire format (API §5.2): our own small encoder.

A frame is `<field>: <value>` lines joined by LF (never CR), in the order `retry`, `id`,
`event`, `data`, ended by an empty line. `data` is one line of compact JSON: `json.dumps`
escapes every control character inside strings, so no raw LF or CR can appear.
"""

from __future__ import annotations

import json
from typing import Any

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
