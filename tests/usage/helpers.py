"""Helpers shared by the usage and events tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.app_fixtures import LiveServer, wait_for_status_of

USAGE = {"tokens": 1234, "provider": "cloud", "model": "claude-sonnet-4-6"}


async def running_session(api: httpx.AsyncClient, name: str = "s") -> str:
    created = await api.post("/sessions", json={"name": name})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    await wait_for_status_of(api, sid, "running")
    return sid


async def report(
    api: httpx.AsyncClient, sid: str, key: str | None = None, **fields: Any
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await api.post(f"/sessions/{sid}/usage", json={**USAGE, **fields}, headers=headers)


def runtime_token(server: LiveServer, sid: str) -> str:
    """The session token the fake runtime was launched with (what a host reports with)."""
    return server.fake.specs[sid].token
