"""A subscriber that stops reading never delays the others (API §5.5)."""

from __future__ import annotations

import asyncio
import time

from tests.app_fixtures import LiveServerFactory, wait_for_status_of
from tests.stream.helpers import (
    Frame,
    create,
    open_stream,
    read_available,
    stalled_subscriber,
    wait_until,
)

RENAMES = 300


async def test_a_stalled_reader_overflows_alone_and_gets_resync(
    live_server: LiveServerFactory,
) -> None:
    live = await live_server(sse={"queue_size": 8})
    api = live.api
    sids = [(await create(api, f"pressure-{k}"))["id"] for k in range(10)]
    for sid in sids:
        await wait_for_status_of(api, sid, "running")
    with stalled_subscriber(live.base_url) as stalled:
        async with open_stream(api) as fast:
            await fast.next()
            await wait_until(lambda: live.app.state.hub.open_streams == 2, within_s=2)
            for batch in range(0, RENAMES, 10):
                responses = await asyncio.gather(*(
                    api.put(f"/sessions/{sid}", json={"name": f"p-{batch + k}"})
                    for k, sid in enumerate(sids)
                ))
                assert all(r.status_code == 200 for r in responses)
            published = time.monotonic()
            frames: list[Frame] = []
            while len([f for f in frames if f.data["name"].startswith("p-")]) < RENAMES:
                frames.append(await fast.next_event(timeout=5))
            lag = time.monotonic() - published

        names = [f.data["name"] for f in frames if f.data["name"].startswith("p-")]
        assert sorted(names) == sorted(f"p-{i}" for i in range(RENAMES))
        assert all(f.event == "session_updated" for f in frames)
        assert [f.id for f in frames] == sorted(f.id or 0 for f in frames)
        # Fan-out that waited for the stalled reader would hold these back until it read;
        # the bound only allows for this test's shared event loop (client and server).
        assert lag < 2.0

        backlog = await read_available(stalled)
        assert backlog.startswith(b"HTTP/1.1 200 OK")
        assert b"event: resync" in backlog
        assert b'"reason":"overflow"' in backlog
        assert backlog.count(b"event: session_updated") < RENAMES

        # The stalled stream goes on once it reads again.
        await api.put(f"/sessions/{sids[0]}", json={"name": "after"})
        later = await read_available(stalled)
        assert b'"name":"after"' in later


async def test_a_subscriber_that_accepts_no_write_for_two_heartbeats_is_dropped(
    live_server: LiveServerFactory,
) -> None:
    live = await live_server(sse={"heartbeat_s": 0.25})
    api = live.api
    sids = [(await create(api, f"gone-{k}"))["id"] for k in range(10)]
    for sid in sids:
        await wait_for_status_of(api, sid, "running")
    hub = live.app.state.hub
    with stalled_subscriber(live.base_url):
        await wait_until(lambda: hub.open_streams == 1, within_s=2)
        for batch in range(0, RENAMES, 10):
            await asyncio.gather(*(
                api.put(f"/sessions/{sid}", json={"name": f"g-{batch + k}"})
                for k, sid in enumerate(sids)
            ))
            if hub.open_streams == 0:
                break
        await wait_until(lambda: hub.open_streams == 0, within_s=3)
