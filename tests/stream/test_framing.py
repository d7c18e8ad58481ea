"""Transport and framing of `GET /sessions/stream` (API §5.1, §5.2), byte for byte."""

from __future__ import annotations

import asyncio
import time

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.stream.helpers import create, open_stream
from volundr.api.sse import dumps


async def test_headers_and_first_frame_is_a_heartbeat_with_retry_within_a_second(
    server: LiveServer,
) -> None:
    t0 = time.monotonic()
    async with open_stream(server.api) as stream:
        first = await stream.next(timeout=1.0)
        elapsed = time.monotonic() - t0
        headers = stream.response.headers
    assert elapsed < 1.0
    assert stream.response.status_code == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["connection"] == "keep-alive"
    assert headers["x-accel-buffering"] == "no"
    assert "content-length" not in headers
    assert "content-encoding" not in headers
    assert first.raw == b"retry: 3000\nevent: heartbeat\ndata: {}\n\n"


async def test_published_frame_is_id_event_one_line_json_with_lf_only(
    server: LiveServer,
) -> None:
    async with open_stream(server.api) as stream:
        await stream.next()
        body = await create(server.api, "framing-1")
        frame = await stream.next_event()
        payload = frame.data
        assert frame.event == "session_created"
        assert frame.id is not None and frame.id > 0
        expected = f"id: {frame.id}\nevent: session_created\ndata: {dumps(payload)}\n\n"
        assert frame.raw == expected.encode()
        await stream.events(3)  # starting, provisioning, running
        received = bytes(stream.received)
    assert b"\r" not in received
    # The same serializer as REST: same fields, same values except the status moved on.
    assert payload.keys() == body.keys()
    assert payload["status"] == "created"
    moved_on = ("status", "updated_at", "chat_endpoint")
    assert {k: v for k, v in payload.items() if k not in moved_on} == {
        k: v for k, v in body.items() if k not in moved_on
    }


async def test_heartbeats_repeat_without_id_and_stats_come_one_interval_in(
    live_server: LiveServerFactory,
) -> None:
    live = await live_server(sse={"heartbeat_s": 0.2, "stats_interval_s": 0.6})
    async with open_stream(live.api) as stream:
        await stream.next()
        t0 = time.monotonic()
        frames = []
        while time.monotonic() - t0 < 1.0:
            frames.append((time.monotonic() - t0, await stream.next(timeout=2)))
    beats = [f for _, f in frames if f.event == "heartbeat"]
    stats = [(t, f) for t, f in frames if f.event == "stats_updated"]
    assert len(beats) >= 3
    assert all(f.raw == b"event: heartbeat\ndata: {}\n\n" for f in beats)
    assert stats, "no stats_updated within one second"
    t_stats, first_stats = stats[0]
    assert 0.4 <= t_stats <= 0.9
    assert first_stats.id is None
    assert first_stats.data == {
        "active_sessions": 0, "total_sessions": 0, "tokens_today": 0,
        "local_tokens": 0, "cloud_tokens": 0, "cost_today": 0.0,
    }
    assert first_stats.raw.startswith(b"event: stats_updated\ndata: {")


async def test_reconnect_frame_ends_a_stream_at_its_maximum_lifetime(
    live_server: LiveServerFactory,
) -> None:
    live = await live_server(sse={"max_connection_s": 0.5})
    t0 = time.monotonic()
    async with open_stream(live.api) as stream:
        frames = await stream.rest(timeout=3)
    assert 0.4 <= time.monotonic() - t0 <= 1.5
    assert frames[-1].raw == b'event: reconnect\ndata: {"reason":"max_lifetime"}\n\n'
    await asyncio.sleep(0)
