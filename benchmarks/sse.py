"""Live-stream fan-out: 1,000 subscribers on one server process (DESIGN §8).

The subscribers are raw asyncio connections in this process; the server is a separate
`volundr serve` (fake runtime, SQLite). An event is published by renaming a session
(`PUT`), timed from just before the request is sent to its arrival at each subscriber.
Baseline (same run, same client): a bare Starlette `StreamingResponse` broadcaster
(`benchmarks/sse_baseline_app.py`) publishing the same-sized frame on `POST /publish`.

Figures: publish → delivered latency per subscriber and to all subscribers (p50/p99,
events published one at a time), then sustained throughput with a fixed number of
events in flight, each counted once every subscriber has it. Target: p99 ≤ 100 ms.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httpx

from benchmarks.common import percentile, uvicorn_app, volundr_server

SUBSCRIBERS = 1000
LATENCY_EVENTS = 100
THROUGHPUT_S = 5.0
IN_FLIGHT = 16
API = "/api/v1/volundr"
FAKE = "runtime:\n  kind: fake\n  fake_mode: instant\n"
MARK = b'"name":"b'
DIGITS = 6
FULL = len(MARK) + DIGITS
RESYNC = b"event: resync"

Publish = Callable[[int], Awaitable[None]]


@dataclass
class Published:
    t0: float
    per_subscriber: bool
    count: int = 0
    latencies: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    all_at: float = 0.0


class Fanout:
    """Arrival bookkeeping shared by every subscriber connection."""

    def __init__(self, subscribers: int) -> None:
        self.subscribers = subscribers
        self.events: dict[int, Published] = {}
        self.resyncs = 0

    def arrived(self, key: int, now: float) -> None:
        event = self.events.get(key)
        if event is None:
            return
        event.count += 1
        if event.per_subscriber:
            event.latencies.append(now - event.t0)
        if event.count == self.subscribers:
            event.all_at = now
            event.done.set()


class Subscriber(asyncio.Protocol):
    """One stream connection; finds each event's marker `"name":"bNNNNNN` in the bytes.

    Frames are sent whole in one HTTP chunk, so a marker is never cut by chunk framing;
    a marker cut by a TCP read is kept in `tail` (shorter than a marker, so no marker
    is ever counted twice).
    """

    def __init__(self, fanout: Fanout, request: bytes) -> None:
        self.fanout = fanout
        self.request = request
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.tail = b""
        self.rtail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.ready.done():
            self.head += data
            if b"event: heartbeat" in self.head:
                self.ready.set_result(None)
        buf = self.tail + data
        pos = buf.find(MARK)
        while pos != -1 and pos + FULL <= len(buf):
            self.fanout.arrived(int(buf[pos + len(MARK):pos + FULL]), now)
            pos = buf.find(MARK, pos + FULL)
        self.tail = buf[-(FULL - 1):]
        rbuf = self.rtail + data
        self.fanout.resyncs += rbuf.count(RESYNC)
        self.rtail = rbuf[-(len(RESYNC) - 1):]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"stream closed: {exc}"))


async def subscribe(url: str, path: str, fanout: Fanout) -> list[Subscriber]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    subs: list[Subscriber] = []
    for start in range(0, fanout.subscribers, 100):
        count = min(100, fanout.subscribers - start)
        batch = [Subscriber(fanout, request) for _ in range(count)]
        await asyncio.gather(*(loop.create_connection(_factory(s), host, port) for s in batch))
        subs.extend(batch)
    async with asyncio.timeout(60):
        await asyncio.gather(*(s.ready for s in subs))
    return subs


def _factory(sub: Subscriber) -> Callable[[], Subscriber]:
    return lambda: sub


@dataclass(frozen=True)
class Figures:
    per_sub: list[float]
    to_all: list[float]
    sustained_eps: float
    sustained_to_all: list[float]
    resyncs: int


async def measure(url: str, path: str, publish: Publish) -> Figures:
    fanout = Fanout(SUBSCRIBERS)
    subs = await subscribe(url, path, fanout)
    await asyncio.sleep(0.5)
    try:
        lat = await _one_at_a_time(fanout, publish)
        sustained, loaded = await _sustained(fanout, publish)
    finally:
        for sub in subs:
            if sub.transport is not None:
                sub.transport.close()
    return Figures(
        per_sub=[x for e in lat for x in e.latencies],
        to_all=[e.all_at - e.t0 for e in lat],
        sustained_eps=sustained,
        sustained_to_all=[e.all_at - e.t0 for e in loaded],
        resyncs=fanout.resyncs,
    )


async def _one_at_a_time(fanout: Fanout, publish: Publish) -> list[Published]:
    done = []
    for key in range(LATENCY_EVENTS):
        event = fanout.events[key] = Published(time.perf_counter(), per_subscriber=True)
        await publish(key)
        async with asyncio.timeout(10):
            await event.done.wait()
        done.append(event)
        await asyncio.sleep(0.01)
    return done


async def _sustained(fanout: Fanout, publish: Publish) -> tuple[float, list[Published]]:
    counter = iter(range(100_000, 999_999))
    finished: list[Published] = []
    deadline = time.perf_counter() + THROUGHPUT_S

    async def publisher() -> None:
        while time.perf_counter() < deadline:
            key = next(counter)
            event = fanout.events[key] = Published(time.perf_counter(), per_subscriber=False)
            await publish(key)
            async with asyncio.timeout(10):
                await event.done.wait()
            finished.append(event)

    start = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(IN_FLIGHT)))
    return len(finished) / (time.perf_counter() - start), finished


async def _volundr(url: str) -> Figures:
    async with httpx.AsyncClient(base_url=url + API, timeout=30) as api:
        sids = []
        for i in range(IN_FLIGHT):
            body = {"name": f"sse-{i}", "source": {"repo": "https://example.invalid/a/b.git"}}
            response = await api.post("/sessions", json=body)
            response.raise_for_status()
            sids.append(response.json()["id"])
        await asyncio.sleep(0.5)

        async def publish(key: int) -> None:
            sid = sids[key % IN_FLIGHT]
            response = await api.put(f"/sessions/{sid}", json={"name": f"b{key:06d}"})
            response.raise_for_status()

        return await measure(url, f"{API}/sessions/stream", publish)


async def _baseline(url: str) -> Figures:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def publish(key: int) -> None:
            response = await client.post("/publish", params={"name": f"b{key:06d}"})
            response.raise_for_status()

        return await measure(url, "/stream", publish)


def _run(coro: Awaitable[Figures]) -> Figures:
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


def raise_fd_limit(needed: int) -> None:
    """Two sockets per subscriber (both ends on this machine) plus slack."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {needed} needed")


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


def run() -> list[str]:
    raise_fd_limit(2 * SUBSCRIBERS + 256)
    with uvicorn_app("benchmarks.sse_baseline_app:app") as url:
        base = _run(_baseline(url))
    with volundr_server(FAKE) as url:
        ours = _run(_volundr(url))
    p99 = _ms(ours.per_sub, 99)
    lines = [
        f"SSE fan-out: {SUBSCRIBERS} subscribers on one `volundr serve` process "
        "(fake runtime, SQLite) vs a bare Starlette broadcaster",
    ]
    for label, ours_v, base_v in (
        ("publish → delivered, per subscriber", ours.per_sub, base.per_sub),
        ("publish → delivered to all", ours.to_all, base.to_all),
        (f"same, {IN_FLIGHT} events in flight", ours.sustained_to_all, base.sustained_to_all),
    ):
        lines.append(
            f"  {label:<38} p50/p99 {_ms(ours_v, 50):6.1f} / {_ms(ours_v, 99):6.1f} ms"
            f"   baseline {_ms(base_v, 50):6.1f} / {_ms(base_v, 99):6.1f} ms"
        )
    lines.append(
        f"  {'sustained, each delivered to all':<38} {ours.sustained_eps:8.0f} events/s"
        f" ({ours.sustained_eps * SUBSCRIBERS:,.0f} frames/s)   baseline"
        f" {base.sustained_eps:6.0f} events/s   ratio {ours.sustained_eps / base.sustained_eps:.2f}"
    )
    lines.append(
        f"  resyncs (overflow) seen: {ours.resyncs} (baseline drops silently: "
        f"{base.resyncs})   target per-subscriber p99 ≤ 100 ms: "
        f"{'ok' if p99 <= 100 else 'MISSED'} ({p99:.1f} ms)"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
