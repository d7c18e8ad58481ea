"""Resume with `Last-Event-ID` and resync (API §5.3)."""

from __future__ import annotations

import asyncio

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory, wait_for_status_of
from tests.stream.helpers import Frame, Stream, create, create_running, open_stream


async def _rename(server: LiveServer, sid: str, name: str) -> None:
    response = await server.api.put(f"/sessions/{sid}", json={"name": name})
    assert response.status_code == 200, response.text


async def _newest_id(server: LiveServer) -> int:
    newest: int = (await server.app.state.hub._outbox.read(0, limit=0)).newest_id
    return newest


@pytest.mark.parametrize("via", ["header", "query"])
async def test_reconnecting_replays_exactly_the_missed_events_then_continues_live(
    server: LiveServer, via: str
) -> None:
    api = server.api
    async with open_stream(api) as witness:
        await witness.next()
        async with open_stream(api) as first:
            await first.next()
            sid = (await create(api, "resume-1"))["id"]
            before = await first.events(4)
            await witness.events(4)
        last = before[-1].id
        assert last is not None

        # While disconnected: a rename and a second session's creation and start.
        await _rename(server, sid, "resume-1b")
        other = (await create(api, "resume-2"))["id"]
        await wait_for_status_of(api, other, "running")
        missed = await witness.events(5)

        resume = {"Last-Event-ID": str(last)} if via == "header" else None
        params = {"last_event_id": str(last)} if via == "query" else None
        async with open_stream(api, headers=resume, params=params) as again:
            assert (await again.next()).event == "heartbeat"
            replayed = await again.events(5)
            await _rename(server, other, "resume-2b")
            live = await again.next_event()
            assert (await witness.next_event()).raw == live.raw
            with pytest.raises(TimeoutError):
                await again.next_event(timeout=0.3)

    assert [f.raw for f in replayed] == [f.raw for f in missed]
    assert [f.id for f in replayed] == sorted(f.id or 0 for f in replayed)
    assert (replayed[0].id or 0) > last
    assert live.event == "session_updated" and live.data["name"] == "resume-2b"
    assert (live.id or 0) > (replayed[-1].id or 0)


async def _first_event_after_heartbeat(stream: Stream) -> Frame:
    assert (await stream.next()).event == "heartbeat"
    frame = await stream.next_event()
    assert frame.event == "resync"
    return frame


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", " ", "12a", "0x10", "٣"])
async def test_a_non_integer_id_gets_one_resync_unknown_id(server: LiveServer, bad: str) -> None:
    await create_running(server.api, "resync-bad")
    newest = await _newest_id(server)
    header_safe = bad.isascii() and bad.strip() == bad
    given = {"headers": {"Last-Event-ID": bad}} if header_safe else {
        "params": {"last_event_id": bad}
    }
    async with open_stream(server.api, **given) as stream:
        frame = await _first_event_after_heartbeat(stream)
        with pytest.raises(TimeoutError):
            await stream.next_event(timeout=0.2)
    assert frame.raw == (
        f'id: {newest}\nevent: resync\ndata: {{"reason":"unknown_id","latest_id":{newest}}}\n\n'
    ).encode()


async def test_an_id_beyond_the_newest_gets_resync_unknown_id_then_live_events(
    server: LiveServer,
) -> None:
    await create_running(server.api, "resync-ahead")
    newest = await _newest_id(server)
    async with open_stream(server.api, params={"last_event_id": str(newest + 5)}) as stream:
        frame = await _first_event_after_heartbeat(stream)
        assert (frame.id, frame.data) == (newest, {"reason": "unknown_id", "latest_id": newest})
        await create(server.api, "resync-ahead-2")
        live = await stream.next_event()
    assert live.event == "session_created" and (live.id or 0) > newest


async def test_an_id_older_than_the_window_gets_resync_too_old_and_the_window_is_kept(
    live_server: LiveServerFactory,
) -> None:
    server = await live_server(sse={"replay_events": 3, "replay_age_s": 0.2})
    for i in range(3):
        await create_running(server.api, f"old-{i}")
    newest = await _newest_id(server)
    hub = server.app.state.hub
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while (await hub._outbox.read(0, limit=0)).oldest_id != newest - 2:
        assert loop.time() < deadline, "the outbox was not pruned to its window"
        await asyncio.sleep(0.05)

    async with open_stream(server.api, headers={"Last-Event-ID": "1"}) as stream:
        frame = await _first_event_after_heartbeat(stream)
    assert (frame.id, frame.data) == (newest, {"reason": "too_old", "latest_id": newest})

    # The newest `replay_events` are kept and replayed.
    async with open_stream(server.api, headers={"Last-Event-ID": str(newest - 3)}) as stream:
        await stream.next()
        kept = await stream.events(3)
    assert [f.id for f in kept] == [newest - 2, newest - 1, newest]


async def test_the_newest_id_replays_nothing_and_no_session_list_on_connect(
    server: LiveServer,
) -> None:
    await create_running(server.api, "quiet")
    newest = await _newest_id(server)
    for headers in ({"Last-Event-ID": str(newest)}, None):
        async with open_stream(server.api, headers=headers) as stream:
            await stream.next()
            with pytest.raises(TimeoutError):
                await stream.next_event(timeout=0.3)
