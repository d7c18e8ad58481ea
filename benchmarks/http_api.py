"""REST throughput against the bare-FastAPI baseline (DESIGN §8), fake runtime, SQLite."""

from __future__ import annotations

import httpx

from benchmarks.common import Load, load, row, uvicorn_app, volundr_server

FAKE = "runtime:\n  kind: fake\n  fake_mode: instant\n"
API = "/api/v1/volundr"


def _create_body(i: int) -> dict[str, object]:
    return {"name": f"bench-{i}", "source": {"repo": "https://example.invalid/acme/app.git"}}


def _fmt(result: Load) -> str:
    return f"{result.rps:9.0f} req/s"


ROUNDS = 3
"""Each figure is the best of this many short runs, baseline and Volundr interleaved, so a
burst of load from elsewhere on the machine skews both sides alike instead of one."""


def _best(results: list[Load]) -> Load:
    return max(results, key=lambda result: result.rps)


def run(seconds: float = 2.0) -> list[str]:
    lines = ["REST API (fake runtime, SQLite) vs bare FastAPI endpoint, same body size"]
    runs: dict[str, list[Load]] = {"base_get": [], "base_post": [], "get": [], "post": []}
    with (
        uvicorn_app("benchmarks.baseline_app:app") as base,
        volundr_server(FAKE) as url,
        httpx.Client(base_url=url + API, timeout=30) as client,
    ):
        first = client.post("/sessions", json=_create_body(0)).json()
        size = len(client.get(f"/sessions/{first['id']}").content)
        for _ in range(ROUNDS):
            runs["base_get"].append(load(f"{base}/session", seconds=seconds))
            runs["get"].append(load(f"{url}{API}/sessions/{first['id']}", seconds=seconds))
            runs["base_post"].append(load(f"{base}/session", "POST", seconds=seconds))
            runs["post"].append(
                load(f"{url}{API}/sessions", "POST", seconds=seconds, json_body=_create_body(1))
            )
        total = len(client.get("/sessions").json())
        for i in range(total, 1000):
            client.post("/sessions", json=_create_body(i))
        listing = client.get("/sessions")
        count, list_bytes = len(listing.json()), len(listing.content)
        list_all = _best(
            [load(f"{url}{API}/sessions", seconds=seconds, concurrency=4) for _ in range(ROUNDS)]
        )
    base_get, base_post = _best(runs["base_get"]), _best(runs["base_post"])
    get_one, post = _best(runs["get"]), _best(runs["post"])
    lines.append(
        row(f"GET /sessions/{{id}} ({size} B)", _fmt(get_one), _fmt(base_get),
            get_one.rps / base_get.rps, ">=0.5")
    )
    lines.append(
        row(f"GET /sessions ({count} sessions, {list_bytes // 1024} KB)", _fmt(list_all),
            _fmt(base_get), list_all.rps / base_get.rps, ">=0.02")
    )
    lines.append(
        row("POST /sessions (create+start, fake runtime)", _fmt(post), _fmt(base_post),
            post.rps / base_post.rps, ">=0.2")
    )
    lines.append(
        f"  latency p50/p99: get {get_one.pct(50)*1000:.1f}/{get_one.pct(99)*1000:.1f} ms, "
        f"list {list_all.pct(50)*1000:.1f}/{list_all.pct(99)*1000:.1f} ms, "
        f"post {post.pct(50)*1000:.1f}/{post.pct(99)*1000:.1f} ms"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
