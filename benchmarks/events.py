"""Session events (DESIGN §8): ingest rate over HTTP, and the latency of counts and of the
token timeline of one session holding 1,000,000 events.

Baselines, measured in the same run on the same machine:
- ingest: raw `sqlite3.executemany` of the same rows into the same table (no HTTP, no
  validation, no idempotency lookups, no counts);
- counts / tokens: the raw SQL a naive implementation would run on the same table
  (`COUNT(*) … GROUP BY event_type`; the bucket `GROUP BY` over that session's
  `token_usage` rows).
Targets: ingest ≥ 5,000 events/s; counts and tokens ≤ 50 ms (p50 over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.common import free_port, percentile, wait_http

API = "/api/v1/volundr"
EVENTS = 1_000_000
SERVER_USAGE_EVERY = 50
"""One event in 50 is a server `token_usage` (one usage report per ~50 events)."""
TYPES = ["message_assistant", "tool_use", "file_modified", "terminal_command", "tool_use",
         "message_user", "file_created", "git_commit", "error"]  # fmt: skip
BATCH = 500
INGEST_SECONDS = 5.0
LATENCY_SAMPLES = 40


def _id(n: int, kind: int = 4) -> str:
    """A unique UUID-shaped id (cheaper than uuid4 for a million rows)."""
    return f"{n:08x}-0000-{kind}000-8000-{n:012x}"


def _rows(session_id: str, count: int, start: datetime) -> Iterator[tuple[object, ...]]:
    epoch = start.timestamp()
    preview = "x" * 40
    for n in range(count):
        when = epoch + n * 0.8
        at = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        epoch_s = int(when)
        if n % SERVER_USAGE_EVERY == 0:
            usage_id = _id(n, 5)
            data = f'{{"usage_id":"{usage_id}","provider":"cloud"}}'
            yield (_id(n), session_id, None, "token_usage", at, data, 0,
                   1500, 300, None, 5400, "claude-sonnet-4-6", usage_id, epoch_s)  # fmt: skip
        else:
            data = f'{{"n":{n},"content_preview":"{preview}"}}'
            yield (_id(n), session_id, f"e-{n}", TYPES[n % len(TYPES)], at, data, n,
                   None, None, None, None, None, None, epoch_s)  # fmt: skip


_INSERT = (
    "INSERT INTO session_events (id, session_id, event_id, event_type, timestamp, data, "
    "sequence, tokens_in, tokens_out, duration_ms, cost_micros, model, usage_id, epoch_s) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def prepare(home: Path) -> tuple[str, float]:
    """A migrated store with one stopped session holding EVENTS events; returns its id and
    the raw executemany rate (rows/s) measured on the way (the ingest baseline)."""
    from volundr.config import Settings
    from volundr.store import migrate
    from volundr.store.sql import SqlStore

    async def migrate_and_add() -> str:
        store = SqlStore(Settings(home=home).sqlalchemy_url)
        await migrate.upgrade(store.engine)
        now = datetime.now(UTC)
        from volundr.domain.models import GitSource, Session, SessionStatus

        session = Session(id=str(uuid.uuid4()), name="big", model="", agent="claude-code",
                          source=GitSource(), status=SessionStatus.STOPPED, owner_id="local",
                          tenant_id="default", created_at=now, updated_at=now,
                          last_active=now)  # fmt: skip
        async with store.transaction() as tx:
            await tx.insert_session(session)
        await store.close()
        return session.id

    home.mkdir(parents=True, exist_ok=True)
    session_id = asyncio.run(migrate_and_add())
    start = datetime.now(UTC) - timedelta(days=10)
    db = sqlite3.connect(home / "volundr.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    rows = list(_rows(session_id, EVENTS, start))
    t0 = time.perf_counter()
    with db:
        db.executemany(_INSERT, rows)
    raw_rate = len(rows) / (time.perf_counter() - t0)
    with db:
        db.execute(
            "INSERT INTO session_event_counts (session_id, event_type, count) "
            "SELECT session_id, event_type, COUNT(*) FROM session_events "
            "WHERE session_id = ? GROUP BY session_id, event_type",
            (session_id,),
        )
    db.execute("ANALYZE")
    db.close()
    return session_id, raw_rate


@contextlib.contextmanager
def serve(home: Path) -> Iterator[str]:
    port = free_port()
    config = home / "volundr.yaml"
    config.write_text("runtime:\n  kind: fake\n  fake_mode: instant\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "volundr", "serve", "--port", str(port), "--config", str(config)],
        env={**os.environ, "VOLUNDR_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health/ready", timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def ingest(url: str, session_id: str, concurrency: int = 4) -> float:
    """Events/s stored through `POST /sessions/{id}/events` batches of BATCH."""
    counter = iter(range(10**9))
    stored = 0
    deadline = time.perf_counter() + INGEST_SECONDS
    async with httpx.AsyncClient(base_url=url + API, timeout=60) as client:

        async def worker() -> None:
            nonlocal stored
            while time.perf_counter() < deadline:
                base = next(counter) * BATCH
                batch = [{"event_type": TYPES[(base + i) % len(TYPES)], "event_id": f"i-{base + i}",
                          "data": {"n": base + i, "content_preview": "x" * 40}}
                         for i in range(BATCH)]  # fmt: skip
                response = await client.post(f"/sessions/{session_id}/events",
                                             json={"events": batch})  # fmt: skip
                if response.status_code != 201:
                    raise RuntimeError(f"ingest: {response.status_code} {response.text[:200]}")
                stored += BATCH

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return stored / (time.perf_counter() - t0)


def latencies(url: str, path: str, params: dict[str, object] | None = None) -> list[float]:
    with httpx.Client(base_url=url + API, timeout=30) as client:
        client.get(path, params=params).raise_for_status()  # warm
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            client.get(path, params=params).raise_for_status()
            samples.append(time.perf_counter() - t0)
    return samples


def cold_latencies(url: str, path: str) -> list[float]:
    """Each request with a bucket size not asked before: the timeline is computed anew."""
    with httpx.Client(base_url=url + API, timeout=30) as client:
        samples = []
        for size in range(301, 301 + LATENCY_SAMPLES // 2):
            t0 = time.perf_counter()
            client.get(path, params={"bucket_seconds": size}).raise_for_status()
            samples.append(time.perf_counter() - t0)
    return samples


def raw_latency(home: Path, sql: str, args: tuple[object, ...]) -> list[float]:
    db = sqlite3.connect(home / "volundr.db")
    samples = []
    try:
        db.execute(sql, args).fetchall()
        for _ in range(max(5, LATENCY_SAMPLES // 4)):
            t0 = time.perf_counter()
            db.execute(sql, args).fetchall()
            samples.append(time.perf_counter() - t0)
    finally:
        db.close()
    return samples


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def run() -> list[str]:
    lines = [f"Session events: HTTP ingest, and counts/tokens over {EVENTS:,} events of one "
             "session (SQLite)"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="volundr-bench-events-") as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        big, raw_rate = prepare(home)
        lines.append(f"  (setup: {EVENTS:,} rows in {time.perf_counter() - t0:.1f} s)")
        raw_counts = raw_latency(
            home, "SELECT event_type, COUNT(*) FROM session_events WHERE session_id = ? "
            "GROUP BY event_type", (big,),
        )  # fmt: skip
        raw_tokens = raw_latency(
            home, "SELECT (CAST(strftime('%s', timestamp) AS INTEGER) / 300) * 300 AS b, "
            "SUM(tokens_in), SUM(tokens_out), SUM(COALESCE(cost_micros, 0)) FROM session_events "
            "WHERE session_id = ? AND event_type = 'token_usage' GROUP BY b ORDER BY b", (big,),
        )  # fmt: skip
        with serve(home) as url:
            counts = latencies(url, f"/sessions/{big}/events/counts")
            cold = cold_latencies(url, f"/sessions/{big}/events/tokens")
            tokens = latencies(url, f"/sessions/{big}/events/tokens", {"bucket_seconds": 300})
            buckets = len(httpx.get(f"{url}{API}/sessions/{big}/events/tokens").json())
            fresh = httpx.post(f"{url}{API}/sessions", json={"name": "ingest"}, timeout=30)
            rate = asyncio.run(ingest(url, fresh.json()["id"]))
    lines.append(
        f"  ingest (HTTP, batches of {BATCH})          {rate:10,.0f} events/s   baseline "
        f"{raw_rate:10,.0f} rows/s (raw executemany)   ratio {rate / raw_rate:6.3f}"
        f"   target >=5,000/s {_verdict(rate >= 5000)}"
    )
    figures = (("counts", counts, raw_counts), ("tokens", tokens, raw_tokens),
               ("tokens, cold", cold, raw_tokens))  # fmt: skip
    for name, samples, raw in figures:
        p50, p95 = percentile(samples, 50) * 1000, percentile(samples, 95) * 1000
        base = percentile(raw, 50) * 1000
        lines.append(
            f"  GET …/events/{name:<12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   baseline "
            f"{base:7.1f} ms (raw SQL GROUP BY)   ratio {p50 / base:6.3f}"
            f"   target <=50 ms {_verdict(p50 <= 50)}"
        )
    usage = EVENTS // SERVER_USAGE_EVERY
    lines.append(f"  ({usage:,} usage events in {buckets:,} buckets of 5 min; cold = a bucket "
                 "size not asked before, so the timeline is computed anew)")  # fmt: skip
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
