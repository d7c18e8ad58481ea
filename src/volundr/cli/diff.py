"""`volundr sessions diff`: a session's workspace changes, as unified text or a file table."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from volundr.cli.client import call
from volundr.cli.options import AsJson, Server, console, print_json


class Base(StrEnum):
    """What the working tree is compared with (API §4.13)."""

    LAST_COMMIT = "last-commit"
    DEFAULT_BRANCH = "default-branch"
    START = "start"


def diff(
    session_id: str,
    files: Annotated[
        bool, typer.Option("--files", help="List changed files with status and +/- counts.")
    ] = False,
    base: Annotated[Base, typer.Option(help="Compare the working tree with this.")] = (
        Base.LAST_COMMIT
    ),
    path: Annotated[str | None, typer.Option(help="Only this file (workspace-relative).")] = None,
    server: Server = None,
    as_json: AsJson = False,
) -> None:
    """Print the workspace's changes as a unified diff (ready for `git apply`)."""
    if files and path is not None:
        raise typer.BadParameter("cannot be combined with --files", param_hint="'--path'")
    params = {"base": base.value}
    if files:
        summary = call(server, "GET", f"/sessions/{session_id}/diff/files", params=params)
        if as_json:
            print_json(summary)
        else:
            console.print(_files_table(summary))
        return
    if path is not None:
        params["path"] = path
    body = call(server, "GET", f"/sessions/{session_id}/diff", params=params)
    if as_json:
        print_json(body)
        return
    if not body["diff"]:
        typer.echo(f"no changes against {body.get('base', base.value)}", err=True)
        return
    typer.echo(body["diff"], nl=not body["diff"].endswith("\n"))
    if body["truncated"]:
        typer.echo("warning: the diff was cut at the server's size limit", err=True)


def _files_table(summary: dict[str, Any]) -> Table:
    commit = (summary["base_commit"] or "")[:12]
    table = Table("status", "+", "-", "path", title=f"against {summary['base']} {commit}".strip())
    for change in summary["files"]:
        counts = ("bin", "bin") if change["binary"] else (
            str(change["additions"]), str(change["deletions"]))  # fmt: skip
        shown = change["path"]
        if change["old_path"]:
            shown = f"{change['old_path']} → {shown}"
        table.add_row(change["status"], *counts, Text(shown))
    return table
