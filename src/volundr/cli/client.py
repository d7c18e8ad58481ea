"""HTTP client helpers for CLI commands (they work against any Volundr server)."""

from __future__ import annotations

from typing import Any

import httpx
import typer

DEFAULT_SERVER = "http://127.0.0.1:8080"
SERVER_ENV = "VOLUNDR_SERVER"
"""The server of every client command: `--server`, else this variable, else the default."""
API_PREFIX = "/api/v1/volundr"


def server_url(chosen: str | None) -> str:
    """The server to talk to: `chosen` (`--server` or `$VOLUNDR_SERVER`, read by typer)."""
    return (chosen or DEFAULT_SERVER).rstrip("/")


def call(server: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """Call the API; prints the server's error detail and exits non-zero on failure."""
    url = f"{server_url(server)}{API_PREFIX}{path}"
    try:
        response = httpx.request(method, url, timeout=60, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {server_url(server)}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"error: {response.status_code}: {_detail(response)}", err=True)
        raise typer.Exit(1)
    return response.json() if response.content else None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
        )
    return str(detail)
