"""HTTP client helpers for CLI commands (they work against any Volundr server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NoReturn

import httpx
import typer

DEFAULT_SERVER = "http://127.0.0.1:8080"
SERVER_ENV = "VOLUNDR_SERVER"
"""The server of every client command: `--server`, else this variable, else the default."""
API_PREFIX = "/api/v1/volundr"
STREAM_TIMEOUT = httpx.Timeout(60, read=None)
"""A live stream may stay quiet longer than any fixed read timeout (`sse.heartbeat_s` is
configurable without bound); the user ends it with Ctrl-C."""


def server_url(chosen: str | None) -> str:
    """The server to talk to: `chosen` (`--server` or `$VOLUNDR_SERVER`, read by typer),
    without a trailing `/` or API path (`http://host:8080/api/v1/volundr` is accepted)."""
    return (chosen or DEFAULT_SERVER).rstrip("/").removesuffix(API_PREFIX).rstrip("/")


def call(server: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """Call the API; prints the server's error detail and exits non-zero on failure."""
    url = f"{server_url(server)}{API_PREFIX}{path}"
    try:
        response = httpx.request(method, url, timeout=60, **kwargs)
    except httpx.HTTPError as exc:
        _unreachable(server, exc)
    if response.status_code >= 400:
        _fail(response)
    return response.json() if response.content else None


def stream(server: str | None, path: str, params: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """`(event, data)` of a server-sent-events endpoint, until the server closes it.

    Errors before the stream opens are reported as by `call`; a connection lost midway
    is reported too, and exits 1. Closing the generator closes the connection."""
    url = f"{server_url(server)}{API_PREFIX}{path}"
    opened = False
    try:
        with httpx.stream("GET", url, params=params, timeout=STREAM_TIMEOUT) as response:
            if response.status_code >= 400:
                response.read()
                _fail(response)
            opened = True
            yield from _events(response.iter_lines())
    except httpx.HTTPError as exc:
        if not opened:
            _unreachable(server, exc)
        typer.echo(f"error: lost the stream from {server_url(server)}: {exc}", err=True)
        raise typer.Exit(1) from None


def _events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """Parse SSE frames (API §5.2); `id`, `retry` and comment lines are not needed here."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def _unreachable(server: str | None, exc: httpx.HTTPError) -> NoReturn:
    typer.echo(f"error: cannot reach {server_url(server)}: {exc}", err=True)
    raise typer.Exit(1) from None


def _fail(response: httpx.Response) -> NoReturn:
    typer.echo(f"error: {response.status_code}: {_detail(response)}", err=True)
    raise typer.Exit(1)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    detail = body.get("detail") if isinstance(body, dict) else None
    if detail is None:
        return response.text
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
        )
    return str(detail)
