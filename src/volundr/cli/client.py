"""HTTP client helpers for CLI commands (they work against any Volundr server)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import typer

DEFAULT_SERVER = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1/volundr"


def server_url(explicit: str | None) -> str:
    return (explicit or os.environ.get("VOLUNDR_SERVER") or DEFAULT_SERVER).rstrip("/")


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
