"""Reading a session's events (API §6.4–6.6): order, filters, paging, counts, token timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.app_fixtures import LiveServer
from tests.usage.helpers import report, running_session

pytestmark = pytest.mark.asyncio(loop_scope="module")


def at(minute: int, second: int = 0) -> str:
    return datetime(2026, 4, 11, 10, minute, second, tzinfo=UTC).isoformat()


async def ingest(server: LiveServer, sid: str, *items: dict[str, object]) -> None:
    response = await server.api.post(f"/sessions/{sid}/events", json={"events": list(items)})
    assert response.status_code == 201, response.text


async def test_events_are_ordered_by_timestamp_then_server_seq(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    await ingest(
        shared_server, sid,
        {"event_type": "tool_use", "timestamp": at(5), "event_id": "late"},
        {"event_type": "tool_use", "timestamp": at(1), "event_id": "early"},
        {"event_type": "error", "timestamp": at(5), "event_id": "late-2"},
    )  # fmt: skip
    events = (await shared_server.api.get(f"/sessions/{sid}/events",
                                          params={"before": at(30)})).json()  # fmt: skip
    assert [e["event_id"] for e in events] == ["early", "late", "late-2"]


async def test_filters_and_paging(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    await ingest(shared_server, sid, *(
        {"event_type": ["tool_use", "error", "git_commit"][i % 3], "timestamp": at(i),
         "event_id": str(i)} for i in range(12)
    ))  # fmt: skip
    url = f"/sessions/{sid}/events"
    only = (await api.get(url, params={"event_type": "tool_use,git_commit"})).json()
    assert [e["event_id"] for e in only] == [str(i) for i in range(12) if i % 3 != 1]
    window = (await api.get(url, params={"after": at(2), "before": at(6)})).json()
    assert [e["event_id"] for e in window] == ["3", "4", "5"], "bounds are strict"
    naive = (await api.get(url, params={"after": "2026-04-11T10:02:00", "before": at(6)})).json()
    assert naive == window, "a time without offset is read as UTC"
    pages = []
    for offset in range(0, 12, 5):
        page = (await api.get(url, params={"limit": 5, "offset": offset, "before": at(30),
                                           "after": "2026-04-11T09:00:00Z"})).json()  # fmt: skip
        pages += [e["event_id"] for e in page]
    assert pages == [str(i) for i in range(12)]


@pytest.mark.parametrize(
    ("params", "status"),
    [({"limit": 0}, 422), ({"limit": 2001}, 422), ({"offset": -1}, 422),
     ({"after": "yesterday"}, 422), ({"event_type": "tool_use,nope"}, 422)],
)  # fmt: skip
async def test_bad_parameters(shared_server: LiveServer, params: dict[str, object],
                              status: int) -> None:  # fmt: skip
    sid = await running_session(shared_server.api)
    response = await shared_server.api.get(f"/sessions/{sid}/events", params=params)
    assert response.status_code == status
    if "event_type" in params:
        assert response.json() == {"detail": "Invalid event_type: nope"}


async def test_counts_include_the_servers_own_events(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    await ingest(shared_server, sid, {"event_type": "tool_use"}, {"event_type": "tool_use"},
                 {"event_type": "token_usage", "tokens_in": 1})  # fmt: skip
    await report(api, sid)
    counts = (await api.get(f"/sessions/{sid}/events/counts")).json()
    assert counts == {"session_status": 4, "tool_use": 2, "token_usage": 2}


async def test_reads_of_unknown_sessions_are_404(shared_server: LiveServer) -> None:
    missing = str(uuid.uuid4())
    for suffix in ("", "/counts", "/tokens"):
        response = await shared_server.api.get(f"/sessions/{missing}/events{suffix}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"Session not found: {missing}"}


async def test_the_token_timeline_sums_accepted_reports_only(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    await ingest(shared_server, sid, {"event_type": "token_usage", "tokens_in": 999,
                                      "tokens_out": 999, "cost": 9.0})  # fmt: skip
    await report(api, sid, tokens=1000, tokens_out=300, cost=0.01)
    await report(api, sid, tokens=50, cost=0.0000005)
    await report(api, sid, tokens=7, provider="local", model="llama3.2:latest")
    buckets = (await api.get(f"/sessions/{sid}/events/tokens",
                             params={"bucket_seconds": 3600})).json()  # fmt: skip
    session = (await api.get(f"/sessions/{sid}")).json()
    assert sum(b["tokens_in"] + b["tokens_out"] for b in buckets) == session["tokens_used"] == 1057
    assert sum(b["tokens_out"] for b in buckets) == 300
    assert round(sum(b["cost"] for b in buckets), 6) == session["cost"] == 0.01
    for b in buckets:
        assert b["bucket"] % 3600 == 0
        assert b["bucket_start"] == datetime.fromtimestamp(b["bucket"], UTC).isoformat()
        assert isinstance(b["cost"], float)


async def test_bucket_size_is_checked(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    for size in (59, 3601, "x"):
        response = await shared_server.api.get(f"/sessions/{sid}/events/tokens",
                                               params={"bucket_seconds": size})  # fmt: skip
        assert response.status_code == 422


async def test_deleting_a_session_deletes_its_events(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    await ingest(shared_server, sid, {"event_type": "tool_use", "event_id": "k"})
    assert (await api.delete(f"/sessions/{sid}")).status_code == 204
    async with shared_server.store.reader() as tx:
        assert await tx.count_events(sid) == {}
        assert await tx.find_events(sid, ["k"]) == {}
