"""Chronicle events on the live stream (API §5.6, §8.2)."""

from __future__ import annotations

from tests.app_fixtures import LiveServer, wait_for_status_of
from tests.stream.helpers import create, open_stream


async def test_a_run_drafts_adds_entries_and_completes_its_chronicle_live(
    server: LiveServer,
) -> None:
    api = server.api
    async with open_stream(api) as stream:
        await stream.next()
        sid = (await create(api, "live-chronicle"))["id"]
        await wait_for_status_of(api, sid, "running")
        await stream.events(4)  # created, starting, provisioning, running
        items = [
            {"event_type": "session_start"},
            {"event_type": "message_assistant"},
            {"event_type": "file_created", "data": {"path": "a.py", "insertions": 2}},
        ]
        posted = await api.post(f"/sessions/{sid}/events", json={"events": items})
        assert posted.status_code == 201
        drafted, first, second = await stream.events(3)
        await api.post(f"/sessions/{sid}/stop")
        stopping, stopped, completed = await stream.events(3)

    assert drafted.event == "chronicle_created" and drafted.data["status"] == "draft"
    assert drafted.data["session_id"] == sid
    assert (first.event, second.event) == ("chronicle_event", "chronicle_event")
    assert first.data["event"] == {"t": first.data["event"]["t"], "type": "session",
                                   "label": "Session started"}  # fmt: skip
    assert second.data["event"]["action"] == "created" and "hash" not in second.data["event"]
    assert second.data["files"] == [{"path": "a.py", "status": "new", "ins": 2, "del": 0}]
    assert {k: second.data[k] for k in ("session_id", "commits", "token_burn")} == {
        "session_id": sid, "commits": [], "token_burn": [0],
    }  # fmt: skip
    assert [(f.event, f.data.get("status")) for f in (stopping, stopped, completed)] == [
        ("session_updated", "stopping"), ("session_updated", "stopped"),
        ("chronicle_updated", "complete"),
    ]  # fmt: skip
    assert completed.data["id"] == drafted.data["id"]
    assert completed.data["files"] == second.data["files"]
