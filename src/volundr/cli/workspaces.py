"""`volundr workspaces …`: list the caller's workspaces, delete one (keyed by session id)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from volundr.cli.client import call
from volundr.cli.options import AsJson, Server, console, print_json

workspaces_app = typer.Typer(help="Manage session workspaces.", no_args_is_help=True)


@workspaces_app.command("list")
def list_workspaces(
    status: Annotated[
        str | None,
        typer.Option(help="active, archived or deleted (default: active and archived)."),
    ] = None,
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """List your workspaces, newest first (`--json` for paths, sources and dates)."""
    params = {"status": status} if status else {}
    rows = call(server, "GET", "/workspaces", params=params)
    if as_json:
        print_json(rows)
        return
    table = Table(title="workspaces")
    for name in ("session", "status", "size"):
        table.add_column(name, no_wrap=True)
    table.add_column("name")
    for ws in rows:
        table.add_row(
            ws["session_id"], ws["status"], _size(ws["size_bytes"]), Text(ws["session_name"] or "")
        )
    console.print(table)


@workspaces_app.command()
def delete(session_id: str, server: Server = None) -> None:
    """Delete a session's workspace files (refused while the session is active)."""
    call(server, "DELETE", f"/workspaces/{session_id}")
    console.print(f"deleted the workspace of session {session_id}")


def _size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "—"
    if size_bytes < 1024:
        return f"{size_bytes} B"
    size = size_bytes / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
