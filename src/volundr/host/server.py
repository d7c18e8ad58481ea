"""A minimal HTTP/1.1 server for the host's endpoints, on a socket the runtime opened.

Why not uvicorn + starlette: importing them costs ~0.5 s on a small machine, which alone
would exceed the create → running target (DESIGN §8). This server answers GET (and HEAD)
with JSON bodies, one request per connection (`Connection: close`); unknown paths are 404
`{"detail": "Not Found"}`, other methods 405. Routes are async callables returning
(status, JSON-serialisable body). POST routes (`post_routes`) also get the request headers
(lower-cased names) and the body (at most `MAX_POST_BYTES`, else 413).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

Route = Callable[[], Awaitable[tuple[int, Any]]]
PostRoute = Callable[[dict[str, str], bytes], Awaitable[tuple[int, Any]]]

_HEAD_TIMEOUT_S = 5.0
MAX_POST_BYTES = 1024 * 1024


class HttpServer:
    """Serves `routes` (path → handler) on an already-listening socket until `close`."""

    def __init__(
        self, routes: dict[str, Route], post_routes: dict[str, PostRoute] | None = None
    ) -> None:
        self._routes = routes
        self._post_routes = post_routes or {}
        self._server: asyncio.Server | None = None

    async def start(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
            method, path = _request_line(head)
            if method == "POST" and path in self._post_routes:
                status, body, extra = await _post_call(self._post_routes[path], head, reader)
            else:
                status, body, extra = await self._dispatch(method, path)
            _respond(writer, status, body, extra, include_body=method != "HEAD")
            await writer.drain()
        except (
            asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
            ConnectionError, ValueError,
        ):  # fmt: skip
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _dispatch(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        route = self._routes.get(path)
        if route is None:
            return 404, {"detail": "Not Found"}, {}
        if method not in ("GET", "HEAD"):
            return 405, {"detail": "Method Not Allowed"}, {"Allow": "GET, HEAD"}
        status, body = await route()
        return status, body, {}


async def _post_call(
    route: PostRoute, head: bytes, reader: asyncio.StreamReader
) -> tuple[int, Any, dict[str, str]]:
    headers = _headers(head)
    length = headers.get("content-length", "0")
    if not length.isdigit():
        return 400, {"detail": "Content-Length required"}, {}
    if int(length) > MAX_POST_BYTES:
        return 413, {"detail": "Request body too large"}, {}
    body = await asyncio.wait_for(reader.readexactly(int(length)), _HEAD_TIMEOUT_S)
    status, answer = await route(headers, body)
    return status, answer, {}


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        raise ValueError("malformed request line")
    return parts[0].upper(), parts[1].split("?", 1)[0]


def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: Any,
    extra: dict[str, str],
    *,
    include_body: bool,
) -> None:
    data = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(data)),
        "Connection": "close",
        "Cache-Control": "no-store",
        **extra,
    }
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if include_body:
        writer.write(data)
