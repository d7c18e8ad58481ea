"""`GET /sessions` (API §4.1): order, filters, paging, errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.app_fixtures import LiveServer, LiveServerFactory


async def create(api: httpx.AsyncClient, name: str) -> str:
    response = await api.post("/sessions", json={"name": name})
    assert response.status_code == 201
    sid: str = response.json()["id"]
    return sid


async def listed(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/sessions", params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def ids(api: httpx.AsyncClient, **params: Any) -> list[str]:
    return [s["id"] for s in await listed(api, **params)]


async def test_an_empty_list_is_an_empty_array(server: LiveServer) -> None:
    response = await server.api.get("/sessions")
    assert response.status_code == 200
    assert response.json() == []
    assert "x-next-cursor" not in response.headers


async def test_sessions_are_listed_newest_first(server: LiveServer) -> None:
    created = [await create(server.api, f"s{i}") for i in range(5)]
    body = await listed(server.api)
    assert [s["id"] for s in body] == list(reversed(created))
    stamps = [s["created_at"] for s in body]
    assert stamps == sorted(stamps, reverse=True)


async def test_status_filters_and_archived_sessions(
    server: LiveServer, wait_for_status: Any
) -> None:
    running = await create(server.api, "running")
    stopped = await create(server.api, "stopped")
    archived = await create(server.api, "archived")
    failed = await create(server.api, "failed")
    for sid in (running, stopped, archived, failed):
        await wait_for_status(server.api, sid, "running")
    for sid in (stopped, archived):
        assert (await server.api.post(f"/sessions/{sid}/stop")).status_code == 200
    assert (await server.api.post(f"/sessions/{archived}/archive")).status_code == 200
    await server.force_status(failed, "failed", error="boom")

    assert await ids(server.api) == [failed, stopped, running]
    assert await ids(server.api, include_archived="false") == [failed, stopped, running]
    assert await ids(server.api, include_archived="true") == [failed, archived, stopped, running]
    assert await ids(server.api, status="running") == [running]
    assert await ids(server.api, status="stopped") == [stopped]
    assert await ids(server.api, status="failed") == [failed]
    assert await ids(server.api, status="archived") == [archived]
    # `status` wins over include_archived
    assert await ids(server.api, status="archived", include_archived="false") == [archived]
    assert await ids(server.api, status="stopped", include_archived="true") == [stopped]
    assert await ids(server.api, status="created") == []
    assert await ids(server.api, unknown_param="x") == [failed, stopped, running]


async def test_invalid_query_values_are_422_lists(server: LiveServer) -> None:
    await create(server.api, "a")
    for params, loc in [
        ({"status": "bogus"}, ["query", "status"]),
        ({"status": "RUNNING"}, ["query", "status"]),
        ({"include_archived": "maybe"}, ["query", "include_archived"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "1001"}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
    ]:
        response = await server.api.get("/sessions", params=params)
        assert response.status_code == 422, params
        items = response.json()["detail"]
        assert isinstance(items, list) and items[0]["loc"] == loc
        assert {"type", "loc", "msg", "input"} <= set(items[0])


async def test_paging_walks_every_row_once_in_order(server: LiveServer) -> None:
    for i in range(7):
        await create(server.api, f"s{i}")
    everything = await ids(server.api)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await server.api.get("/sessions", params=params)
        assert response.status_code == 200
        page = [s["id"] for s in response.json()]
        assert len(page) <= 3
        seen += page
        pages += 1
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
    assert pages == 3
    assert seen == everything


async def test_an_exact_last_page_has_no_cursor(server: LiveServer) -> None:
    for i in range(4):
        await create(server.api, f"s{i}")
    first = await server.api.get("/sessions", params={"limit": 2})
    second = await server.api.get(
        "/sessions", params={"limit": 2, "cursor": first.headers["x-next-cursor"]}
    )
    assert len(second.json()) == 2
    assert "x-next-cursor" not in second.headers
    whole = await server.api.get("/sessions", params={"limit": 4})
    assert len(whole.json()) == 4 and "x-next-cursor" not in whole.headers


async def test_pages_never_repeat_or_skip_while_sessions_are_created(
    server: LiveServer,
) -> None:
    original = [await create(server.api, f"old{i}") for i in range(6)]
    first = await server.api.get("/sessions", params={"limit": 2})
    seen = [s["id"] for s in first.json()]
    cursor = first.headers["x-next-cursor"]
    while cursor:
        await create(server.api, "newcomer")
        response = await server.api.get("/sessions", params={"limit": 2, "cursor": cursor})
        seen += [s["id"] for s in response.json()]
        cursor = response.headers.get("x-next-cursor", "")
    assert seen == list(reversed(original))


async def test_a_cursor_alone_turns_on_paging_with_the_default_limit(
    server: LiveServer,
) -> None:
    for i in range(3):
        await create(server.api, f"s{i}")
    first = await server.api.get("/sessions", params={"limit": 1})
    rest = await server.api.get("/sessions", params={"cursor": first.headers["x-next-cursor"]})
    assert rest.status_code == 200
    assert len(rest.json()) == 2
    assert "x-next-cursor" not in rest.headers


async def test_invalid_cursors_are_rejected(server: LiveServer) -> None:
    await create(server.api, "a")
    bad = [
        "garbage",
        "!!!",
        "",
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|short").decode(),
        base64.urlsafe_b64encode(b"not-a-date|" + b"0" * 36).decode(),
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|" + b"0" * 36).decode(),  # naive
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for cursor in bad:
        response = await server.api.get("/sessions", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json() == {"detail": "Invalid cursor"}


async def test_cors_exposes_the_next_cursor_header(live_server: LiveServerFactory) -> None:
    live = await live_server(http={"cors_origins": ["http://ui.example"]})
    response = await live.api.get("/sessions", headers={"Origin": "http://ui.example"})
    assert response.headers["access-control-allow-origin"] == "http://ui.example"
    assert "x-next-cursor" in response.headers["access-control-expose-headers"].lower()
    other = await live.api.get("/sessions", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
