"""Workspace reads through the API of a `volundr serve` process, each beside its baseline
measured in the same run on the same files:

- `GET /sessions/{id}/diff/files` on a workspace with 2,000 changed files (1,600 modified,
  200 deleted, 200 untracked) vs a bare `git diff --numstat HEAD` subprocess (which does
  not even see the untracked files);
- `GET /sessions/{id}/diff` (unified, capped at `diff.max_bytes`) vs `git diff HEAD`;
- `GET /sessions/{id}/logs?lines=100` on a 100 MB log vs `tail -n 100` of the file.

The server runs the fake runtime over real session files (the layout the local runtime
uses), so the figures are the cost of reading, not of running agents.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from benchmarks.common import free_port, wait_http

API = "/api/v1/volundr"
CHANGED_FILES = 2000
LOG_BYTES = 100 * 1024 * 1024
ROUNDS = 15
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


@contextlib.contextmanager
def server(home: Path) -> Iterator[str]:
    """`volundr serve` with the fake runtime over `home`; yields its URL."""
    port = free_port()
    config = home / "volundr.yaml"
    config.write_text("runtime:\n  kind: fake\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "volundr", "serve", "--port", str(port), "--config", str(config)],
        env={**os.environ, "VOLUNDR_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def make_workspace(workspace: Path) -> None:
    """A repository with 2,000 committed files, then 2,000 changes in the working tree."""
    workspace.mkdir(parents=True)
    git(workspace, "init", "--quiet", "--initial-branch=main")
    body = "".join(f"line {i} of a source file\n" for i in range(40))
    for i in range(CHANGED_FILES):
        path = workspace / f"pkg{i // 100:02}" / f"module_{i:04}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(body)
    git(workspace, "add", "--all")
    git(workspace, "commit", "--quiet", "-m", "initial")
    for i in range(CHANGED_FILES):
        path = workspace / f"pkg{i // 100:02}" / f"module_{i:04}.py"
        if i < 1600:
            path.write_text(body.replace("line 7 ", "line seven ") + "appended\n")
        elif i < 1800:
            path.unlink()
        else:
            (workspace / f"new_{i:04}.py").write_text(f"fresh {i}\n" * 30)


def make_log(path: Path) -> int:
    """A 100 MB session log; returns its number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seq = 0
    with open(path, "w", encoding="utf-8") as fh:
        while fh.tell() < LOG_BYTES:
            chunk = []
            for _ in range(1000):
                seq += 1
                chunk.append(json.dumps({
                    "seq": seq, "time": "2026-04-11T10:31:02.734000+00:00",
                    "timestamp": 1775903462.734, "level": "WARNING" if seq % 7 == 0 else "INFO",
                    "logger": "agent", "message": f"tool output line {seq} " + "x" * 90,
                }))  # fmt: skip
            fh.write("\n".join(chunk) + "\n")
    return seq


def paired(ours: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    """Median seconds of each, measured alternately (after one warm-up run of each), so
    both see the same machine state."""
    ours()
    baseline()
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        for action, samples in ((ours, mine), (baseline, theirs)):
            t0 = time.perf_counter()
            action()
            samples.append(time.perf_counter() - t0)
    return statistics.median(mine), statistics.median(theirs)


def row(name: str, baseline_name: str, times: tuple[float, float]) -> str:
    ours, base = times
    return (f"  {name:<34} p50 {ours * 1000:8.1f} ms   {baseline_name:<26} {base * 1000:8.1f} ms"
            f"   ratio {ours / base:6.2f}")


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="volundr-bench-") as tmp:
        home = Path(tmp)
        with server(home) as url, httpx.Client(base_url=url + API, timeout=60) as api:
            created = api.post("/sessions", json={"name": "bench"})
            created.raise_for_status()
            sid = created.json()["id"]
            session_dir = home / "sessions" / sid
            workspace = session_dir / "workspace"
            make_workspace(workspace)
            lines = make_log(session_dir / "logs" / "session.jsonl")

            def call(path: str, **params: object) -> httpx.Response:
                response = api.get(f"/sessions/{sid}{path}", params=params)
                response.raise_for_status()
                return response

            listed = call("/diff/files").json()["files"]
            assert len(listed) == CHANGED_FILES, len(listed)
            full = call("/diff").json()
            tail = call("/logs", lines=100).json()
            assert tail["returned"] == 100 and tail["total"] == lines

            def sh(*argv: str, cwd: Path | None = None) -> Callable[[], object]:
                return lambda: subprocess.run(argv, cwd=cwd, check=True, capture_output=True)

            log = session_dir / "logs" / "session.jsonl"
            results = [
                row("GET diff/files (2,000 files)", "git diff --numstat HEAD", paired(
                    lambda: call("/diff/files"),
                    sh("git", "diff", "--numstat", "HEAD", cwd=workspace))),
                row("GET diff (unified)", "git diff HEAD", paired(
                    lambda: call("/diff"), sh("git", "diff", "HEAD", cwd=workspace))),
                row("GET logs?lines=100 (100 MB log)", "tail -n 100", paired(
                    lambda: call("/logs", lines=100), sh("tail", "-n", "100", str(log)))),
                row("GET logs?lines=100&level=warning", "tail -n 700 | grep WARNING", paired(
                    lambda: call("/logs", lines=100, level="warning"),
                    sh("sh", "-c", f"tail -n 700 '{log}' | grep WARNING"))),
            ]  # fmt: skip
    return [
        f"workspace reads: {CHANGED_FILES} changed files; diff text "
        f"{len(full['diff'].encode()) / 1e6:.1f} MB (truncated: {full['truncated']}); "
        f"log {LOG_BYTES // 2**20} MB, {lines} lines",
        *results,
    ]


if __name__ == "__main__":
    print("\n".join(run()))
