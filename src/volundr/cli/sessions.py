"""`volundr sessions …`: list, create, show, start, stop, archive, restore, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from volundr.cli.client import DEFAULT_SERVER, SERVER_ENV, call

sessions_app = typer.Typer(help="Manage sessions.", no_args_is_help=True)
console = Console()
Server = Annotated[
    str | None,
    typer.Option("--server", envvar=SERVER_ENV, help=f"API base URL [default: {DEFAULT_SERVER}]."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print raw JSON.")]


def _show(data: Any, as_json: bool) -> None:
    if as_json or not isinstance(data, dict):
        console.print_json(json.dumps(data))
        return
    for key in ("id", "name", "status", "agent", "model", "repo", "branch", "error",
                "pod_name", "code_endpoint", "created_at"):
        console.print(f"[bold]{key:>13}[/] {data.get(key)}")


@sessions_app.command("list")
def list_sessions(
    server: Server = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include archived.")] = False,
    as_json: AsJson = False,
) -> None:
    """List sessions, newest first."""
    params: dict[str, str] = {"include_archived": str(all_).lower()}
    if status:
        params["status"] = status
    rows = call(server, "GET", "/sessions", params=params)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "name", "status", "agent", "repo", "branch", "created")
    for s in rows:
        table.add_row(s["id"][:8], s["name"], s["status"], s["agent"], s["repo"], s["branch"],
                      s["created_at"][:19])
    console.print(table)


@sessions_app.command()
def create(
    name: Annotated[str, typer.Argument(help="Session name (lowercase, digits, hyphens).")],
    repo: Annotated[str, typer.Option(help="Git repository (URL or local path).")] = "",
    branch: Annotated[str, typer.Option(help="Branch (default: the repo's default).")] = "",
    agent: Annotated[str | None, typer.Option(help="Agent template.")] = None,
    model: Annotated[str, typer.Option(help="Model id.")] = "",
    prompt: Annotated[str, typer.Option(help="Initial prompt.")] = "",
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Create a session and start it."""
    body = {"name": name, "model": model, "agent": agent, "initial_prompt": prompt,
            "source": {"type": "git", "repo": repo, "branch": branch}}
    _show(call(server, "POST", "/sessions", json=body), as_json)


@sessions_app.command()
def show(session_id: str, server: Server = None, as_json: AsJson = False) -> None:
    """Show one session."""
    _show(call(server, "GET", f"/sessions/{session_id}"), as_json)


def _action(verb: str, method: str = "POST") -> Any:
    def command(session_id: str, server: Server = None, as_json: AsJson = False) -> None:
        _show(call(server, method, f"/sessions/{session_id}/{verb}"), as_json)

    command.__doc__ = f"{verb.capitalize()} a session."
    return command


for _verb in ("start", "stop", "archive", "restore"):
    sessions_app.command(_verb)(_action(_verb))


@sessions_app.command()
def delete(
    session_id: str,
    remove_workspace: Annotated[bool, typer.Option(help="Also delete the workspace.")] = False,
    server: Server = None,
) -> None:
    """Delete a session (stopping it first)."""
    body = {"cleanup": ["workspace_storage"] if remove_workspace else []}
    call(server, "DELETE", f"/sessions/{session_id}", json=body)
    console.print(f"deleted {session_id}")
