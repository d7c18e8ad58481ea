"""Typer application: `volundr serve`, and the client commands `sessions …`, `workspaces …`,
`models` and `stats`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from volundr.cli.sessions import sessions_app
from volundr.cli.usage import models, stats
from volundr.cli.workspaces import workspaces_app

app = typer.Typer(help="Volundr: a control plane for AI coding sessions.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
app.add_typer(workspaces_app, name="workspaces")
app.command()(models)
app.command()(stats)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8080,
    config: Annotated[
        Path | None, typer.Option(help="YAML settings file (else $VOLUNDR_CONFIG).")
    ] = None,
) -> None:
    """Run the API server (SQLite and local session processes by default)."""
    from volundr import serving
    from volundr.app import create_app
    from volundr.config import load_settings
    from volundr.config_file import ConfigError

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = settings.served_at(host, port)
    problem = asyncio.run(_database_problem(settings.sqlalchemy_url))
    if problem:
        typer.echo(f"error: cannot reach the database (database_url): {problem}", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # one line per request to every session host's /health would drown the server's log
    logging.getLogger("httpx").setLevel(logging.WARNING)
    serving.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


async def _database_problem(url: str) -> str | None:
    """Why a database server cannot be reached (None: it can, or the store is a SQLite file,
    which the server creates). Never repeats the URL, which may hold a password."""
    if url.startswith("sqlite"):
        return None
    from volundr.domain.errors import StoreUnavailable
    from volundr.store.sql import SqlStore

    store = SqlStore(url)
    try:
        await store.ping()
    except StoreUnavailable as exc:
        cause = exc.__cause__
        return f"{type(cause).__name__}: {cause}" if cause else "unavailable"
    finally:
        await store.close()
    return None


def main() -> None:
    app()
