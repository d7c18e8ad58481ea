"""Reporting against servers with their own configuration (headers mode, a command agent)."""

from __future__ import annotations

import httpx

from tests.app_fixtures import LiveServerFactory
from tests.events.test_runtime_credentials import bearer
from tests.usage.helpers import USAGE, running_session, runtime_token


async def test_the_token_works_in_headers_mode_without_identity_headers(
    live_server: LiveServerFactory,
) -> None:
    server = await live_server(auth={"mode": "headers"})
    sid = await running_session(server.as_user("alice"))
    token = runtime_token(server, sid)
    async with httpx.AsyncClient(base_url=server.api.base_url) as host:
        ok = await host.post(f"/sessions/{sid}/usage", json=USAGE, headers=bearer(token))
        assert ok.status_code == 201
        anonymous = await host.post(f"/sessions/{sid}/usage", json=USAGE)
        assert anonymous.status_code == 401
        assert (await host.get(f"/sessions/{sid}", headers=bearer(token))).status_code == 401


async def test_command_agents_take_no_messages(live_server: LiveServerFactory) -> None:
    server = await live_server(
        agents={"default": "script", "templates": {"script": {"command": ["sh"]}}}
    )
    sid = await running_session(server.api)
    response = await server.api.post(f"/sessions/{sid}/messages", json={"content": "x"})
    assert response.status_code == 422
    assert response.json() == {"detail": "Agent script does not accept messages"}
