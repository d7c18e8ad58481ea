"""`volundr sessions …`: list, create, show, start, stop, archive, restore, delete, send;
the read-only views (logs, diff, events, chronicle) live in their own modules."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from volundr.cli import diff, history, logs
from volundr.cli.client import call
from volundr.cli.options import AsJson, Server, console, print_json

sessions_app = typer.Typer(help="Manage sessions.", no_args_is_help=True)


def _show(data: Any, as_json: bool) -> None:
    if as_json or not isinstance(data, dict):
        print_json(data)
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
        print_json(rows)
        return
    table = Table("name", "status", "agent", "repo", "branch", "created")
    table.add_column("id", no_wrap=True)  # whole: every other command takes it
    for s in rows:
        table.add_row(s["name"], s["status"], s["agent"], s["repo"], s["branch"],
                      s["created_at"][:19], s["id"])
    console.print(table)


def _check_env(pairs: list[str] | None) -> list[str] | None:
    """Reject a malformed `--env` before any request is made (exit 2, with usage)."""
    for pair in pairs or []:
        name, sep, _ = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
    return pairs


@sessions_app.command()
def create(
    name: Annotated[str, typer.Argument(help="Session name (lowercase, digits, hyphens).")],
    repo: Annotated[str, typer.Option(help="Git repository (URL or local path).")] = "",
    branch: Annotated[str, typer.Option(help="Branch (default: the repo's default).")] = "",
    base_branch: Annotated[
        str, typer.Option(help="Create --branch from this one when it does not exist yet.")
    ] = "",
    env: Annotated[
        list[str] | None,
        typer.Option("--env", metavar="KEY=VALUE", callback=_check_env,
                     help="Environment variable for the agent (repeatable)."),
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Agent template.")] = None,
    model: Annotated[str, typer.Option(help="Model id.")] = "",
    prompt: Annotated[str, typer.Option(help="Initial prompt.")] = "",
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Create a session and start it."""
    body = {
        "name": name, "model": model, "agent": agent, "initial_prompt": prompt,
        "env": {key: value for key, _, value in (pair.partition("=") for pair in env or [])},
        "source": {"type": "git", "repo": repo, "branch": branch, "base_branch": base_branch},
    }  # fmt: skip
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
def send(
    session_id: str,
    message: Annotated[str, typer.Argument(help="Text of the agent's next user turn.")],
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Send a running session's agent a message; what it does shows in events and logs."""
    accepted = call(server, "POST", f"/sessions/{session_id}/messages", json={"content": message})
    if as_json:
        print_json(accepted)
        return
    console.print(f"sent turn {accepted['turn']} to {session_id}")


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


for _view in (logs.logs, diff.diff, history.events, history.chronicle):
    sessions_app.command()(_view)
