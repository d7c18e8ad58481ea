"""`volundr models` (the catalogue with prices) and `volundr stats` (today's usage)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from volundr.cli.client import call
from volundr.cli.options import AsJson, Server, console, money, print_json


def models(server: Server = None, as_json: AsJson = False) -> None:
    """List the models sessions can use, in catalogue order, with their price."""
    rows = call(server, "GET", "/models")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "provider", "tier", "price")
    for model in rows:
        table.add_row(model["id"], model["name"], model["provider"], model["tier"], _price(model))
    console.print(table)


def stats(server: Server = None, as_json: AsJson = False) -> None:
    """Show running and total sessions, and today's tokens and cost (UTC day)."""
    numbers = call(server, "GET", "/stats")
    if as_json:
        print_json(numbers)
        return
    lines = {
        "active sessions": f"{numbers['active_sessions']}",
        "total sessions": f"{numbers['total_sessions']}",
        "tokens today": f"{numbers['tokens_today']:,} (cloud {numbers['cloud_tokens']:,}, "
                        f"local {numbers['local_tokens']:,})",
        "cost today": money(numbers["cost_today"]),
    }  # fmt: skip
    for label, value in lines.items():
        console.print(f"[bold]{label:>15}[/] {value}")


def _price(model: dict[str, Any]) -> str:
    """Per million tokens: input/output when the catalogue splits them, else the blend."""
    split = model["input_cost_per_million"], model["output_cost_per_million"]
    if None not in split:
        return f"{money(split[0])} in, {money(split[1])} out /M"
    if model["cost_per_million_tokens"] is None:
        return "—"
    return f"{money(model['cost_per_million_tokens'])}/M"
