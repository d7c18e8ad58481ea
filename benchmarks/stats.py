"""`GET /stats` over a big store (SQLite): 100,000 sessions (1% running) and 1,000,000
usage records spread over the last ten days, by 50 owners of one tenant; the caller is
the local admin, so every figure covers the whole tenant.

The rows are bulk-inserted with `sqlite3` (the counter tables filled as migration 0005
fills them), then served by `volundr serve` with the fake runtime. Figures, beside the
baseline of DESIGN §8 measured in the same run (the bare FastAPI endpoint):
- latency p50/p99 of one client in a loop;
- requests/s with 8 concurrent clients.
For context, the SQL a naive implementation would run (a scan of today's usage records
and a `GROUP BY status` over the sessions) is timed on the same file.

On the same store: the latency of filtered session lists with a limit (DESIGN §8: ≤ 20 ms),
`GET /sessions?status=running&limit=50` (1% of the rows match) and `?limit=50` (newest 50).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.common import Load, free_port, load, percentile, uvicorn_app, wait_http

API = "/api/v1/volundr"
SESSIONS = 100_000
RECORDS = 1_000_000
OWNERS = 50
DAYS = 10
RUNNING_EVERY = 100
LATENCY_SAMPLES = 300
LOAD_SECONDS = 3.0
TARGET_P50_MS = 20.0
"""As the filtered list over 100,000 sessions (DESIGN §8)."""
LIST_QUERIES = ("status=running&limit=50", "limit=50")

_SESSION_SQL = (
    "INSERT INTO sessions (id, name, model, agent, source, status, owner_id, tenant_id, "
    "created_at, updated_at, last_active, message_count, tokens_used, cost_micros, "
    "activity_metadata, launch, runtime_state, version) "
    "VALUES (?, ?, '', 'claude-code', ?, ?, ?, 'default', ?, ?, ?, 10, ?, ?, '{}', '{}', ?, 1)"
)
_USAGE_SQL = (
    "INSERT INTO usage_records (id, session_id, owner_id, tenant_id, recorded_at, tokens, "
    "provider, model, message_count, cost_micros, idempotency_key, fingerprint) "
    "VALUES (?, ?, ?, 'default', ?, ?, ?, ?, 1, ?, NULL, '')"
)
_COUNTERS_SQL = (
    "INSERT INTO session_counts (tenant_id, owner_id, count) "
    "SELECT tenant_id, owner_id, COUNT(*) FROM sessions GROUP BY tenant_id, owner_id",
    "INSERT INTO usage_daily (tenant_id, day, owner_id, provider, tokens, cost_micros) "
    "SELECT tenant_id, date(recorded_at), owner_id, provider, SUM(tokens), "
    "COALESCE(SUM(cost_micros), 0) FROM usage_records "
    "GROUP BY tenant_id, date(recorded_at), owner_id, provider",
)
_NAIVE_SQL = (
    "SELECT SUM(tokens), SUM(CASE WHEN provider = 'local' THEN tokens ELSE 0 END), "
    "SUM(cost_micros) FROM usage_records WHERE tenant_id = 'default' AND recorded_at >= ?",
    "SELECT status, COUNT(*) FROM sessions WHERE tenant_id = 'default' GROUP BY status",
)


def _id(n: int, kind: int) -> str:
    """A unique UUID-shaped id (cheaper than uuid4 for a million rows)."""
    return f"{n:08x}-0000-{kind}000-8000-{n:012x}"


def _text(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sessions(now: datetime) -> Iterator[tuple[object, ...]]:
    source = json.dumps({"type": "git", "repo": "https://example.invalid/a.git", "branch": "",
                         "base_branch": ""})  # fmt: skip
    for n in range(SESSIONS):
        running = n % RUNNING_EVERY == 0
        at = _text(now - timedelta(seconds=(SESSIONS - n) * 8))
        state = json.dumps({"fake": True, "launch_id": f"bench{n}", "started_at": 0.0})
        yield (_id(n, 4), f"bench-{n}", source, "running" if running else "stopped",
               f"user-{n % OWNERS}", at, at, at, 12_000, 36_000,
               state if running else "{}")  # fmt: skip


def _records(now: datetime) -> Iterator[tuple[object, ...]]:
    span = DAYS * 86_400
    for n in range(RECORDS):
        session = n % SESSIONS
        at = now - timedelta(seconds=span * (RECORDS - n) / RECORDS)
        local = n % 10 == 0
        yield (_id(n, 5), _id(session, 4), f"user-{session % OWNERS}", _text(at), 1200,
               "local" if local else "cloud", "llama3.2:latest" if local else "claude-sonnet-4-6",
               None if local else 3600)  # fmt: skip


def prepare(home: Path) -> tuple[dict[str, int], float]:
    """A migrated store holding the rows; returns the expected stats and the setup time."""
    from volundr.config import Settings
    from volundr.store import migrate
    from volundr.store.sql import SqlStore

    async def migrated() -> None:
        store = SqlStore(Settings(home=home).sqlalchemy_url)
        await migrate.upgrade(store.engine)
        await store.close()

    home.mkdir(parents=True, exist_ok=True)
    asyncio.run(migrated())
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    db = sqlite3.connect(home / "volundr.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany(_SESSION_SQL, _sessions(now))
        db.executemany(_USAGE_SQL, _records(now))
        for sql in _COUNTERS_SQL:
            db.execute(sql)
    midnight = _text(now.replace(hour=0, minute=0, second=0, microsecond=0))
    tokens, local, cost = db.execute(_NAIVE_SQL[0], (midnight,)).fetchone()
    db.execute("ANALYZE")
    db.close()
    expected = {"active_sessions": SESSIONS // RUNNING_EVERY, "total_sessions": SESSIONS,
                "tokens_today": tokens or 0, "local_tokens": local or 0,
                "cost_micros": cost or 0}  # fmt: skip
    return expected, time.perf_counter() - t0


@contextlib.contextmanager
def serve(home: Path) -> Iterator[str]:
    """`volundr serve` with the fake runtime over `home`; yields its URL once ready."""
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


def sequential(url: str) -> list[float]:
    """Latency of one client in a loop (after a warm-up request)."""
    with httpx.Client(timeout=30) as client:
        client.get(url).raise_for_status()
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            client.get(url).raise_for_status()
            samples.append(time.perf_counter() - t0)
    return samples


def naive_sql(home: Path) -> float:
    """Median seconds of the naive queries on the same file."""
    db = sqlite3.connect(home / "volundr.db")
    midnight = _text(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    samples = []
    try:
        for _ in range(5):
            t0 = time.perf_counter()
            db.execute(_NAIVE_SQL[0], (midnight,)).fetchall()
            db.execute(_NAIVE_SQL[1]).fetchall()
            samples.append(time.perf_counter() - t0)
    finally:
        db.close()
    return percentile(samples, 50)


def _check(body: dict[str, object], expected: dict[str, int]) -> str:
    got = {k: body[k] for k in ("active_sessions", "total_sessions", "tokens_today",
                                "local_tokens")}  # fmt: skip
    want = {k: v for k, v in expected.items() if k != "cost_micros"}
    cost_ok = round(float(str(body["cost_today"])) * 1_000_000) == expected["cost_micros"]
    return "figures match the rows" if got == want and cost_ok else f"MISMATCH {body} != {expected}"


def _ms(value: float) -> str:
    return f"{value * 1000:6.2f} ms"


def run() -> Iterator[str]:
    yield (f"GET /stats over {SESSIONS:,} sessions and {RECORDS:,} usage records (SQLite, "
           "fake runtime) vs bare FastAPI endpoint")  # fmt: skip
    with uvicorn_app("benchmarks.baseline_app:app") as base:
        base_seq = sequential(f"{base}/session")
        base_load = load(f"{base}/session", seconds=LOAD_SECONDS)
    with tempfile.TemporaryDirectory(prefix="volundr-bench-stats-") as tmp:
        home = Path(tmp)
        expected, setup_s = prepare(home)
        yield f"  (setup: bulk insert and counters in {setup_s:.1f} s)"
        naive = naive_sql(home)
        with serve(home) as url:
            stats_url = f"{url}{API}/stats"
            body = httpx.get(stats_url, timeout=30).json()
            seq = sequential(stats_url)
            loaded: Load = load(stats_url, seconds=LOAD_SECONDS)
            lists = {query: sequential(f"{url}{API}/sessions?{query}") for query in LIST_QUERIES}
    yield f"  {_check(body, expected)}: {body}"
    p50, p99 = percentile(seq, 50), percentile(seq, 99)
    base50, base99 = percentile(base_seq, 50), percentile(base_seq, 99)
    verdict = "ok" if p50 * 1000 <= TARGET_P50_MS else "MISSED"
    yield (f"  latency p50 {_ms(p50)}  p99 {_ms(p99)}   baseline p50 {_ms(base50)}  "
           f"p99 {_ms(base99)}   target p50 <={TARGET_P50_MS:.0f} ms {verdict}")
    yield (f"  throughput (8 clients) {loaded.rps:7.0f} req/s   baseline {base_load.rps:7.0f} "
           f"req/s   ratio {loaded.rps / base_load.rps:6.3f}   "
           f"(p50/p99 under load {_ms(loaded.pct(50))}/{_ms(loaded.pct(99))})")
    yield f"  (naive SQL on the same file: {_ms(naive)} per stats computation)"
    for query, samples in lists.items():
        p50 = percentile(samples, 50)
        verdict = "ok" if p50 * 1000 <= TARGET_P50_MS else "MISSED"
        yield (f"  GET /sessions?{query:<26} p50 {_ms(p50)}  p99 {_ms(percentile(samples, 99))}"
               f"   baseline p50 {_ms(base50)}   target p50 <={TARGET_P50_MS:.0f} ms {verdict}")


if __name__ == "__main__":
    for line in run():
        print(line, flush=True)
