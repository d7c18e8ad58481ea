"""Live-stream test helpers (servers come from `live_server` in tests/conftest.py).

- `open_stream(client, headers=, params=)`: async context manager → `Stream` over
  `GET /sessions/stream`: `response`, `next(timeout)` (next frame), `next_event(...)`
  (next frame that is not a heartbeat or stats_updated), `rest()` (frames until the end).
- `Frame`: `raw` bytes (exactly as received, after HTTP chunking), `fields` in order,
  `id`, `event`, `data` (parsed JSON), `retry`.
- `create(api, name)`: POST a session with a git source; returns its body.
  `create_running(api, name)`: the same, returning once the session is running.
- `wait_until(predicate, within_s)`: polls a condition, fails when it is not met in time.
- `stalled_subscriber(base_url)`: a raw socket with tiny buffers that requests the stream
  and never reads; `read_available(sock)` then returns all it was sent (HTTP included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.app_fixtures import wait_for_status_of

STREAM = "/sessions/stream"
TIMERS = frozenset({"heartbeat", "stats_updated"})


@dataclass(frozen=True)
class Frame:
    raw: bytes
    fields: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    @property
    def id(self) -> int | None:
        value = self.get("id")
        return int(value) if value is not None else None

    @property
    def event(self) -> str:
        return self.get("event") or ""

    @property
    def data(self) -> Any:
        return json.loads(self.get("data") or "null")

    @property
    def retry(self) -> int | None:
        value = self.get("retry")
        return int(value) if value is not None else None


def parse(raw: bytes) -> Frame:
    text = raw.decode()
    assert text.endswith("\n\n"), raw
    fields = []
    for line in text[:-2].split("\n"):
        name, sep, value = line.partition(": ")
        assert sep, f"malformed line {line!r} in {raw!r}"
        fields.append((name, value))
    return Frame(raw, fields)


class Stream:
    """Frames of one open stream, pumped by a task so a timed-out wait loses nothing."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.received = bytearray()
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        buffer = b""
        try:
            async for chunk in self.response.aiter_raw():
                self.received += chunk
                buffer += chunk
                while b"\n\n" in buffer:
                    raw, buffer = buffer.split(b"\n\n", 1)
                    self._frames.put_nowait(parse(raw + b"\n\n"))
        except httpx.HTTPError:
            pass
        finally:
            self._frames.put_nowait(None)

    async def next(self, timeout: float = 5.0) -> Frame:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            frame = await self._frames.get()
        assert frame is not None, "the stream ended"
        return frame

    async def next_event(
        self, timeout: float = 5.0, skip: Collection[str] = TIMERS  # noqa: ASYNC109
    ) -> Frame:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next(timeout)
                if frame.event not in skip:
                    return frame

    async def events(self, count: int, timeout: float = 5.0) -> list[Frame]:  # noqa: ASYNC109
        return [await self.next_event(timeout) for _ in range(count)]

    async def rest(self, timeout: float = 5.0) -> list[Frame]:  # noqa: ASYNC109
        """Every frame until the server ends the stream."""
        frames: list[Frame] = []
        async with asyncio.timeout(timeout):
            while (frame := await self._frames.get()) is not None:
                frames.append(frame)
        return frames

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> AsyncIterator[Stream]:
    timeout = httpx.Timeout(10, read=None)
    async with client.stream(
        "GET", STREAM, headers=headers, params=params, timeout=timeout
    ) as response:
        stream = Stream(response)
        try:
            yield stream
        finally:
            await stream.close()


async def create_running(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = await create(api, name)
    return await wait_for_status_of(api, body["id"], "running")


async def create(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await api.post(
        "/sessions", json={"name": name, "source": {"repo": "https://example.com/acme/x.git"}}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.contextmanager
def stalled_subscriber(base_url: str) -> Iterator[socket.socket]:
    """A raw connection with tiny buffers that requests the stream, then idles."""
    url = urlsplit(base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Loopback's 64 KiB segments would let the kernel buffer megabytes for us; small
    # segments keep the server's send buffer small, so its writes stall soon.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.connect((url.hostname, url.port))
    sock.sendall(
        b"GET /api/v1/volundr/sessions/stream HTTP/1.1\r\nHost: test\r\n\r\n"
    )
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


async def read_available(sock: socket.socket, quiet_s: float = 0.5) -> bytes:
    """Everything the server sent, until nothing arrives for `quiet_s`."""
    loop = asyncio.get_running_loop()
    data = bytearray()
    while True:
        try:
            async with asyncio.timeout(quiet_s):
                chunk = await loop.sock_recv(sock, 65536)
        except TimeoutError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


async def wait_until(predicate: Callable[[], bool], within_s: float) -> float:
    """Poll `predicate` until it holds; returns how long that took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        assert loop.time() - start < within_s, "condition not reached in time"
        await asyncio.sleep(0.01)
    return loop.time() - start
