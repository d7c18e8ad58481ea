"""Baseline of the SSE benchmark: a bare Starlette broadcaster with the same fan-out shape.

`GET /stream` is a `StreamingResponse` over a per-connection bounded queue;
`POST /publish?name=<marker>` puts one session-sized frame on every queue (dropping on a
full queue) and answers. No database, no identity, no filtering, no replay: the floor
that uvicorn + Starlette set for 1,000 subscribers on this machine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from benchmarks.baseline_app import _BODY

QUEUE_SIZE = 1000
_queues: set[asyncio.Queue[bytes]] = set()
_next_id = 0


async def health(_request: Request) -> Response:
    return JSONResponse({"status": "healthy"})


async def stream(_request: Request) -> Response:
    queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)

    async def frames() -> AsyncIterator[bytes]:
        _queues.add(queue)
        try:
            yield b"retry: 3000\nevent: heartbeat\ndata: {}\n\n"
            while True:
                yield await queue.get()
        finally:
            _queues.discard(queue)

    return StreamingResponse(frames(), media_type="text/event-stream; charset=utf-8")


async def publish(request: Request) -> Response:
    global _next_id
    _next_id += 1
    payload = {**_BODY, "name": request.query_params["name"]}
    data = json.dumps(payload, separators=(",", ":"))
    frame = f"id: {_next_id}\nevent: session_updated\ndata: {data}\n\n".encode()
    for queue in _queues:
        if not queue.full():
            queue.put_nowait(frame)
    return JSONResponse(payload)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/stream", stream),
        Route("/publish", publish, methods=["POST"]),
    ]
)
