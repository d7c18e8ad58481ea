"""`volundr sessions logs`: a session's log lines, as a snapshot or followed live."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from volundr.cli.client import call, stream
from volundr.cli.options import AsJson, Server, print_json

INTERRUPTED = 130
"""Exit status after Ctrl-C, as shells report a command ended by SIGINT (128 + 2)."""


def logs(
    session_id: str,
    lines: Annotated[int, typer.Option(help="The last N matching lines (1–2000).")] = 100,
    level: Annotated[
        str | None,
        typer.Option(help="Minimum level: DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run ends.")
    ] = False,
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Print a session's log as `time level logger message`, oldest first."""
    params: dict[str, Any] = {"lines": lines}
    if level is not None:
        params["level"] = level
    path = f"/sessions/{session_id}/logs"
    if follow:
        _follow(server, path, params, as_json)
        return
    page = call(server, "GET", path, params=params)
    if as_json:
        print_json(page)
        return
    for line in page["lines"]:
        typer.echo(_format(line))


def _follow(server: str | None, path: str, params: dict[str, Any], as_json: bool) -> None:
    """Prints lines as they arrive (`--json`: one JSON object per line) until the server's
    `end` event; exits 0 then, 130 on Ctrl-C, 1 if the stream closes without `end`."""
    try:
        for event, data in stream(server, path, {**params, "follow": "true"}):
            if event == "log":
                typer.echo(json.dumps(data, ensure_ascii=False) if as_json else _format(data))
            elif event == "end":
                typer.echo(f"session {data.get('session_status')}: end of log", err=True)
                return
            elif event == "reconnect":  # the server ends its streams (e.g. shutting down)
                reason = data.get("reason", "closed") if isinstance(data, dict) else "closed"
                typer.echo(f"error: the server ended the log stream ({reason})", err=True)
                raise typer.Exit(1)
    except KeyboardInterrupt:
        raise typer.Exit(INTERRUPTED) from None
    typer.echo("error: the log stream closed before the session ended", err=True)
    raise typer.Exit(1)


def _format(line: dict[str, Any]) -> str:
    return f"{line['time']} {line['level']} {line['logger']} {line['message']}"
