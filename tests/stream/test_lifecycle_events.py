"""A session's whole life seen on the stream (API §5.6), in order, nothing extra."""

from __future__ import annotations

import pytest

from tests.app_fixtures import LiveServer, wait_for_status_of
from tests.stream.helpers import create, open_stream


async def test_create_start_stop_archive_delete_arrive_as_events_in_order(
    server: LiveServer,
) -> None:
    api = server.api
    async with open_stream(api) as stream:
        await stream.next()
        body = await create(api, "whole-life")
        sid = body["id"]
        await wait_for_status_of(api, sid, "running")
        stopped = (await api.post(f"/sessions/{sid}/stop")).json()
        archived = (await api.post(f"/sessions/{sid}/archive")).json()
        assert (await api.delete(f"/sessions/{sid}")).status_code == 204
        frames = await stream.events(9)
        with pytest.raises(TimeoutError):
            await stream.next_event(timeout=0.3)

    assert [(f.event, f.data.get("status")) for f in frames] == [
        ("session_created", "created"),
        ("session_updated", "starting"),
        ("session_updated", "provisioning"),
        ("session_updated", "running"),
        ("session_updated", "stopping"),
        ("session_updated", "stopped"),
        ("chronicle_created", "complete"),  # the run ended (API §8.2)
        ("session_updated", "archived"),
        ("session_deleted", None),
    ]
    assert all(f.data.get("session_id", f.data["id"]) == sid for f in frames)
    assert frames[8].data == {"id": sid}
    ids = [f.id for f in frames if f.id is not None]
    assert len(ids) == len(frames)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Payloads are the REST session objects at each step.
    assert frames[1].data == body
    assert frames[5].data == stopped
    assert frames[7].data == archived
