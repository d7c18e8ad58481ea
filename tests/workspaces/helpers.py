"""Helpers of the workspace, logs and diff API tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.app_fixtures import LiveServer, LiveServerFactory
from volundr.runtime.fake import FakeRuntime


async def files_server(
    live_server: LiveServerFactory, tmp_path: Path, mode: str = "instant", **settings: Any
) -> LiveServer:
    """A server whose fake runtime reads real session files under `<home>/sessions`."""
    home = tmp_path / "volundr-home"
    runtime = FakeRuntime(mode, sessions_dir=home / "sessions")  # type: ignore[arg-type]
    return await live_server(runtime=runtime, home=home, **settings)


async def create(client: httpx.AsyncClient, name: str = "ws", **body: Any) -> str:
    response = await client.post("/sessions", json={"name": name, **body})
    assert response.status_code == 201, response.text
    sid: str = response.json()["id"]
    return sid


def session_dir(live: LiveServer, session_id: str) -> Path:
    return live.settings.sessions_dir / session_id
