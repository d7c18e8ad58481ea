"""`GET /sessions/{id}/logs` (API §4.12): snapshots, filters, errors and `follow=true`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.workspaces.helpers import create, files_server, session_dir
from volundr.host.logwriter import LogWriter
from volundr.host.spec import log_path_of

WaitFor = Any


@pytest.fixture
async def live(live_server: LiveServerFactory, tmp_path: Path) -> LiveServer:
    return await files_server(live_server, tmp_path, sse={"heartbeat_s": 0.3})


async def running(live: LiveServer, wait_for_status: WaitFor) -> tuple[str, LogWriter]:
    sid = await create(live.api)
    await wait_for_status(live.api, sid, "running")
    return sid, LogWriter(log_path_of(session_dir(live, sid)))


async def test_a_snapshot_has_the_envelope_and_the_last_lines(
    live: LiveServer, wait_for_status: WaitFor
) -> None:
    sid, writer = await running(live, wait_for_status)
    empty = await live.api.get(f"/sessions/{sid}/logs")
    assert empty.json() == {"session_id": sid, "session_status": "running", "total": 0,
                            "returned": 0, "lines": []}
    writer.write("INFO", "volundr.provision", "cloning https://example.com/x.git …")
    for i in range(300):
        writer.write("WARNING" if i % 3 == 0 else "INFO", "agent", f"out {i}")
    body = (await live.api.get(f"/sessions/{sid}/logs")).json()
    assert body["total"] == 301 and body["returned"] == 100 == len(body["lines"])
    assert [ln["seq"] for ln in body["lines"]] == list(range(202, 302))
    assert body["lines"][-1] == {**body["lines"][-1], "level": "INFO", "logger": "agent",
                                 "message": "out 299", "seq": 301}
    assert isinstance(body["lines"][0]["timestamp"], float)
    first = (await live.api.get(f"/sessions/{sid}/logs", params={"lines": 2000})).json()
    assert first["lines"][0]["logger"] == "volundr.provision"
    both = await live.api.get(f"/sessions/{sid}/logs", params={"lines": 2, "limit": 5})
    assert both.json()["returned"] == 2
    alias = await live.api.get(f"/sessions/{sid}/logs", params={"limit": 5})
    assert alias.json()["returned"] == 5
    warnings = (await live.api.get(f"/sessions/{sid}/logs",
                                   params={"level": "Warn", "lines": 2000})).json()
    assert warnings["total"] == 301 and warnings["returned"] == 100
    assert {ln["level"] for ln in warnings["lines"]} == {"WARNING"}


async def test_bad_parameters(live: LiveServer, wait_for_status: WaitFor) -> None:
    sid, _writer = await running(live, wait_for_status)
    for params in ({"lines": 0}, {"lines": 2001}, {"lines": "x"}, {"limit": 0},
                   {"since": "yesterday"}):
        response = await live.api.get(f"/sessions/{sid}/logs", params=params)
        assert response.status_code == 422 and isinstance(response.json()["detail"], list)
    bad_level = await live.api.get(f"/sessions/{sid}/logs", params={"level": "LOUD"})
    assert bad_level.status_code == 422
    assert bad_level.json() == {"detail": "Invalid level: LOUD"}
    unknown = str(uuid.uuid4())
    missing = await live.api.get(f"/sessions/{unknown}/logs", params={"level": "LOUD"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"Session not found: {unknown}"}


async def test_since_filters_by_time(live: LiveServer, wait_for_status: WaitFor) -> None:
    sid, writer = await running(live, wait_for_status)
    writer.write("INFO", "agent", "before")
    await asyncio.sleep(0.01)
    cut = datetime.now(UTC)
    await asyncio.sleep(0.01)
    writer.write("INFO", "agent", "after")
    naive = cut.replace(tzinfo=None).isoformat()  # read as UTC
    for since in (cut.isoformat(), naive):
        body = (await live.api.get(f"/sessions/{sid}/logs", params={"since": since})).json()
        assert [ln["message"] for ln in body["lines"]] == ["after"]


async def test_logs_are_readable_after_stop_until_the_workspace_is_deleted(
    live: LiveServer, wait_for_status: WaitFor
) -> None:
    sid, writer = await running(live, wait_for_status)
    writer.write("INFO", "agent", "kept")
    await live.api.post(f"/sessions/{sid}/stop")
    body = (await live.api.get(f"/sessions/{sid}/logs")).json()
    assert body["session_status"] == "stopped" and body["lines"][0]["message"] == "kept"
    assert (await live.api.delete(f"/workspaces/{sid}")).status_code == 204
    gone = await live.api.get(f"/sessions/{sid}/logs")
    assert gone.status_code == 404
    assert gone.json() == {"detail": f"Logs not found for session {sid}"}


async def sse_events(response: httpx.Response) -> Any:
    """(event, id, data) of each frame of a streaming response."""
    event, ident, data = "", None, ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            ident = int(line[4:])
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "":
            yield event, ident, json.loads(data)
            event, ident, data = "", None, ""


async def test_follow_streams_new_lines_then_ends_when_the_session_stops(
    live: LiveServer, wait_for_status: WaitFor
) -> None:
    sid, writer = await running(live, wait_for_status)
    for i in range(3):
        writer.write("INFO", "agent", f"early {i}")
    seen: list[tuple[str, int | None, Any]] = []

    async def follow() -> None:
        params = {"follow": "true", "lines": 2}
        async with live.api.stream("GET", f"/sessions/{sid}/logs", params=params) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert "content-length" not in response.headers
            async for frame in sse_events(response):
                seen.append(frame)
                if frame[0] == "log" and frame[2]["message"] == "late":
                    await live.api.post(f"/sessions/{sid}/stop")

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.8)  # long enough for a heartbeat (every 0.3 s here)
    writer.write("DEBUG", "agent", "late")
    await asyncio.wait_for(task, 10)
    logs = [(ident, data["message"]) for event, ident, data in seen if event == "log"]
    assert logs == [(2, "early 1"), (3, "early 2"), (4, "late")]
    assert seen[-1] == ("end", None, {"session_status": "stopped"})
    assert ("heartbeat", None, {}) in seen


async def test_follow_resumes_after_last_event_id_and_ends_at_once_when_stopped(
    live: LiveServer, wait_for_status: WaitFor
) -> None:
    sid, writer = await running(live, wait_for_status)
    for i in range(10):
        writer.write("ERROR" if i % 2 else "INFO", "agent", f"line {i}")
    await live.api.post(f"/sessions/{sid}/stop")
    params = {"follow": "true", "level": "error"}
    async with live.api.stream("GET", f"/sessions/{sid}/logs", params=params,
                               headers={"Last-Event-ID": "6"}) as response:
        frames = [frame async for frame in sse_events(response)]
    assert [(e, i) for e, i, _ in frames] == [("log", 8), ("log", 10), ("end", None)]
    assert frames[-1][2] == {"session_status": "stopped"}


async def test_follow_ends_with_deleted_when_the_session_is_deleted(
    live: LiveServer, wait_for_status: WaitFor
) -> None:
    sid, _writer = await running(live, wait_for_status)

    async def follow() -> list[Any]:
        async with live.api.stream("GET", f"/sessions/{sid}/logs",
                                   params={"follow": "true"}) as response:
            return [frame async for frame in sse_events(response)]

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    assert (await live.api.delete(f"/sessions/{sid}")).status_code == 204
    frames = await asyncio.wait_for(task, 10)
    assert frames[-1] == ("end", None, {"session_status": "deleted"})
