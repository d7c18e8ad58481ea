"""What every client command shares: the `--server` and `--json` options and the console."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from volundr.cli.client import DEFAULT_SERVER, SERVER_ENV

console = Console()
Server = Annotated[
    str | None,
    typer.Option("--server", envvar=SERVER_ENV, help=f"API base URL (default: {DEFAULT_SERVER})."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print raw JSON.")]


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data))


def money(value: float | None) -> str:
    """USD with at least two and at most six decimals (the API's precision); `—` for null."""
    if value is None:
        return "—"
    whole, _, fraction = f"{value:,.6f}".rstrip("0").partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"
