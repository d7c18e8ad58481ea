"""`volundr sessions events` and `… chronicle`: what happened inside a session."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from volundr.cli.client import call
from volundr.cli.options import AsJson, Server, console, money, print_json


def events(
    session_id: str,
    type_: Annotated[
        str | None, typer.Option("--type", help="Only this event type (or a comma list).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most N events (1–2000).")] = None,
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Print a session's events as `time type data`, oldest first (the first 200 unless
    --limit says otherwise)."""
    params: dict[str, Any] = {}
    if type_:
        params["event_type"] = type_
    if limit is not None:
        params["limit"] = limit
    rows = call(server, "GET", f"/sessions/{session_id}/events", params=params)
    if as_json:
        print_json(rows)
        return
    for event in rows:
        data = json.dumps(event["data"], separators=(",", ":"), ensure_ascii=False)
        typer.echo(f"{event['timestamp'][:19]} {event['event_type']:<17} {data}")


def chronicle(session_id: str, server: Server = None, as_json: AsJson = False) -> None:
    """Show the summary of a session's latest run: changes, files, commits, tokens, cost."""
    found = call(server, "GET", f"/sessions/{session_id}/chronicle")
    if as_json:
        print_json(found)
        return
    fields = {key: found[key] for key in ("id", "status", "project", "repo", "branch", "model",
                                          "token_usage", "duration_seconds", "summary",
                                          "unfinished_work")}  # fmt: skip
    fields["cost"] = money(found["cost"])
    for key, value in fields.items():
        shown = "—" if value is None else escape(str(value))
        console.print(f"[bold]{key:>16}[/] {shown}")
    for change in found["key_changes"]:
        console.print(f"  - {escape(change)}")
    if found["files"]:
        table = Table("status", "+", "-", "path", title="files")
        for item in found["files"]:
            table.add_row(item["status"], str(item["ins"]), str(item["del"]), Text(item["path"]))
        console.print(table)
    for commit in found["commits"]:
        console.print(f"  {commit['hash']} {commit['time']} {escape(commit['msg'])}")
