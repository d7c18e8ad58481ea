"""Conventions every endpoint shares (API §0, §10): health, error bodies, methods, limits."""

from __future__ import annotations

import stat
import threading
import uuid
from pathlib import Path
from typing import Any

from tests.app_fixtures import LiveServer, LiveServerFactory, join_new_threads
from volundr.runtime.fake import InstantRuntime
from volundr.store.sql import SqlStore


class BrokenStorageRuntime(InstantRuntime):
    """Runs sessions, but deleting a workspace fails with an unexpected error."""

    async def remove_workspace(self, session_id: str) -> None:
        raise OSError("disk on fire")


async def test_health_endpoints_live_outside_the_api_prefix(server: LiveServer) -> None:
    health = await server.http.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "healthy"})
    ready = await server.http.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert (await server.api.get("/health")).status_code == 404


async def test_readiness_is_503_when_the_store_is_unreachable(
    server: LiveServer, tmp_path: Any
) -> None:
    threads = set(threading.enumerate())
    healthy_store = server.app.state.store
    broken = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    server.app.state.store = broken
    try:
        ready = await server.http.get("/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"detail": "Store unavailable"})
        assert (await server.http.get("/health")).status_code == 200
    finally:
        server.app.state.store = healthy_store
        await broken.close()
        await join_new_threads(threads)


async def test_unknown_routes_are_404_not_found(server: LiveServer) -> None:
    for path in [
        "/nope", "/api/v1/volundr", "/api/v1/volundr/nope", "/api/v1/volundr/sessions/x/y/z",
        f"/api/v1/volundr/sessions/{uuid.uuid4()}/nope", "/api/v2/volundr/sessions",
        "/api/v1/volundr/sessions/", "/health/", "/api/v1/volundr/stats/",
    ]:
        response = await server.http.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}


async def test_a_wrong_method_is_405(server: LiveServer) -> None:
    sid = uuid.uuid4()
    for method, path in [
        ("PUT", "/api/v1/volundr/sessions"),
        ("DELETE", "/api/v1/volundr/sessions"),
        ("GET", f"/api/v1/volundr/sessions/{sid}/stop"),
        ("GET", f"/api/v1/volundr/sessions/{sid}/start"),
        ("PUT", f"/api/v1/volundr/sessions/{sid}/archive"),
        ("POST", "/health"),
    ]:
        response = await server.http.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.json() == {"detail": "Method Not Allowed"}
        assert response.headers["allow"]


async def test_oversized_bodies_are_413_on_every_route(live_server: LiveServerFactory) -> None:
    live = await live_server(http={"max_body_bytes": 64})
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    padding = "x" * 100
    for method, path, body in [
        ("POST", "/sessions", {"name": "b", "system_prompt": padding}),
        ("PUT", f"/sessions/{sid}", {"name": "c", "tracker_issue_id": padding}),
        ("POST", f"/sessions/{sid}/start", {"profile_name": padding}),
        ("DELETE", f"/sessions/{sid}", {"cleanup": [padding]}),
    ]:
        response = await live.api.request(method, path, json=body)
        assert response.status_code == 413, (method, path)
        assert response.json() == {"detail": "Request body too large"}
    sessions = (await live.api.get("/sessions")).json()
    assert [(s["id"], s["name"]) for s in sessions] == [(sid, "a")]


async def test_an_unexpected_fault_still_answers_json(
    live_server: LiveServerFactory, wait_for_status: Any
) -> None:
    live = await live_server(runtime=BrokenStorageRuntime())
    sid = (await live.api.post("/sessions", json={"name": "a"})).json()["id"]
    await wait_for_status(live.api, sid, "running")
    await live.api.post(f"/sessions/{sid}/stop")
    response = await live.api.request(
        "DELETE", f"/sessions/{sid}", json={"cleanup": ["workspace_storage"]}
    )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "disk on fire" not in response.text
    # the failed delete left the record whole
    assert (await live.api.get(f"/sessions/{sid}")).json()["status"] == "stopped"


async def test_the_openapi_document_is_served(server: LiveServer) -> None:
    response = await server.http.get("/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/volundr/sessions" in response.json()["paths"]


async def test_the_data_dir_and_database_are_private_to_their_user(
    live_server: LiveServerFactory, tmp_path: Path
) -> None:
    home = tmp_path / "fresh" / "home"
    live = await live_server(home=home)
    assert (await live.api.post("/sessions", json={"name": "secret", "env": {"K": "v"}})
            ).status_code == 201  # fmt: skip
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("volundr.db", "volundr.db-wal", "volundr.db-shm"):
        path = home / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
