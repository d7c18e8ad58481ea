"""The `volundr` command: `serve` runs the server; the rest are HTTP clients of the API."""

from __future__ import annotations

from volundr.cli.main import app, main

__all__ = ["app", "main"]
