"""Open streams are counted, disconnects noticed at once, and shutdown never waits on them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.stream.helpers import (
    Stream,
    create_running,
    open_stream,
    read_available,
    stalled_subscriber,
    wait_until,
)
from volundr.api import sse
from volundr.app import API_PREFIX, create_app
from volundr.config import Settings
from volundr.runtime.fake import InstantRuntime
from volundr.serving import Server


async def test_open_streams_are_counted_and_a_disconnect_is_noticed_within_a_second(
    server: LiveServer,
) -> None:
    hub = server.app.state.hub
    assert hub.open_streams == 0
    async with open_stream(server.api) as one, open_stream(server.api) as two:
        await one.next()
        await two.next()
        assert hub.open_streams == 2
        await one.response.aclose()
        await wait_until(lambda: hub.open_streams == 1, within_s=1.0)
    await wait_until(lambda: hub.open_streams == 0, within_s=1.0)


async def test_server_shutdown_ends_streams_with_reconnect_and_is_not_held_up(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(home=tmp_path / "home"), runtime=InstantRuntime())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started, within_s=10)
        base = f"http://{host}:{port}"
        async with httpx.AsyncClient(base_url=base + API_PREFIX) as api:
            with stalled_subscriber(base) as stalled:
                async with open_stream(api) as stream:
                    await stream.next()
                    await wait_until(lambda: app.state.hub.open_streams == 2, within_s=2)
                    t0 = time.monotonic()
                    server.should_exit = True
                    frames = await stream.rest(timeout=3)
                    await asyncio.wait_for(task, 5)
                    elapsed = time.monotonic() - t0
                backlog = await read_available(stalled)
    finally:
        server.should_exit = True
        sock.close()
    assert frames[-1].raw == b'event: reconnect\ndata: {"reason":"shutdown"}\n\n'
    assert b'"reason":"shutdown"' in backlog
    assert elapsed < 2.5


@contextlib.asynccontextmanager
async def volundr_serve(
    tmp_path: Path, **env: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, httpx.AsyncClient]]:
    """`volundr serve` (fake runtime) as a real process, and a client once it answers."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = {**os.environ, "VOLUNDR_HOME": str(tmp_path / "home"), "VOLUNDR_RUNTIME__KIND": "fake",
           **env}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "volundr", "serve", "--port", str(port),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base + API_PREFIX, timeout=5) as api:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await api.get("/me")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "volundr serve did not come up"
                await asyncio.sleep(0.1)
            yield proc, api
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.timeout(60)
async def test_volundr_serve_exits_promptly_on_sigterm_with_a_stream_open(
    tmp_path: Path,
) -> None:
    async with volundr_serve(tmp_path) as (proc, api):
        async with open_stream(api) as stream:
            await stream.next()
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            frames = await stream.rest(timeout=5)
        code = await asyncio.wait_for(proc.wait(), 10)
        elapsed = time.monotonic() - t0
    assert frames[-1].event == "reconnect"
    # uvicorn re-raises the signal it handled once it has shut down gracefully.
    assert code in (0, -signal.SIGTERM)
    assert elapsed < 3


@pytest.mark.timeout(60)
async def test_volundr_serve_ends_log_follow_streams_on_sigterm(tmp_path: Path) -> None:
    async with volundr_serve(tmp_path, VOLUNDR_SSE__HEARTBEAT_S="0.2") as (proc, api):
        one, two = await create_running(api, "one"), await create_running(api, "two")
        async with follow_logs(api, one["id"]) as first, follow_logs(api, two["id"]) as second:
            assert (await first.next()).event == (await second.next()).event == "heartbeat"
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            ends = [(await first.rest(timeout=5))[-1], (await second.rest(timeout=5))[-1]]
        code = await asyncio.wait_for(proc.wait(), 10)
        elapsed = time.monotonic() - t0
    assert [frame.raw for frame in ends] == [
        b'event: reconnect\ndata: {"reason":"shutdown"}\n\n'
    ] * 2
    assert code in (0, -signal.SIGTERM)
    assert elapsed < 3


@contextlib.asynccontextmanager
async def follow_logs(api: httpx.AsyncClient, session_id: str) -> AsyncIterator[Stream]:
    async with api.stream(
        "GET", f"/sessions/{session_id}/logs", params={"follow": "true"},
        timeout=httpx.Timeout(10, read=None),
    ) as response:
        assert response.status_code == 200
        stream = Stream(response)
        try:
            yield stream
        finally:
            await stream.close()


async def test_a_log_follower_that_leaves_is_forgotten_within_a_second(
    live_server: LiveServerFactory,
) -> None:
    server = await live_server(sse={"heartbeat_s": 0.2})
    streams = sse.streams_of(server.app)
    session = await create_running(server.api, "followed")
    async with follow_logs(server.api, session["id"]) as follower:
        await follower.next()
        assert len(streams) == 1
        await follower.response.aclose()
        await wait_until(lambda: len(streams) == 0, within_s=1.0)
