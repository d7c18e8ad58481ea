"""create → running latency with the local runtime on a repository on local disk.

Baseline (same run): the irreducible work of a start done by hand — a Python interpreter
start plus a `git clone` of the same repository. Targets (DESIGN §8): p50 ≤ 0.5 s,
p95 ≤ 1 s. Also the resident memory of one idle session host (its own process, without
the agent), beside a bare Python interpreter that only sleeps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.common import percentile, volundr_server

SESSIONS = 20
API = "/api/v1/volundr"


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    for i in range(50):
        (repo / f"file{i}.txt").write_text(f"content {i}\n" * 20)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "initial"], check=True, env=env)
    return repo


def baseline(repo: Path, root: Path) -> list[float]:
    times = []
    for i in range(SESSIONS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        subprocess.run(["git", "clone", "-q", "--", str(repo), str(root / f"clone{i}")],
                       check=True)
        times.append(time.perf_counter() - t0)
    return times


def bare_interpreter_rss() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.5)
        return int(psutil.Process(proc.pid).memory_info().rss)
    finally:
        proc.kill()
        proc.wait()


def idle_host_rss(api: httpx.Client, repo: Path) -> int:
    """RSS of the host of a running session, after it settled (the agent only sleeps)."""
    created = api.post("/sessions", json={"name": "bench-rss", "source": {"repo": str(repo)}})
    created.raise_for_status()
    sid = created.json()["id"]
    while (body := api.get(f"/sessions/{sid}").json())["status"] != "running":
        if body["status"] == "failed":
            raise RuntimeError(body["error"])
        time.sleep(0.01)
    time.sleep(2.0)
    pid = int(body["pod_name"].removeprefix("local-"))
    rss = int(psutil.Process(pid).memory_info().rss)
    api.post(f"/sessions/{sid}/stop").raise_for_status()
    return rss


def volundr_times(repo: Path, agent: Path) -> tuple[list[float], int]:
    config = (
        "agents:\n  default: bench\n  templates:\n"
        f"    bench: {{kind: command, command: ['{agent}']}}\n"
        "runtime:\n  stop_grace_s: 1\n"
    )
    times = []
    with volundr_server(config) as url, httpx.Client(base_url=url + API, timeout=30) as api:
        for i in range(SESSIONS):
            t0 = time.perf_counter()
            created = api.post("/sessions", json={"name": f"bench-{i}",
                                                  "source": {"repo": str(repo)}})
            created.raise_for_status()
            sid = created.json()["id"]
            while True:
                status = api.get(f"/sessions/{sid}").json()["status"]
                if status == "running":
                    break
                if status == "failed":
                    raise RuntimeError(api.get(f"/sessions/{sid}").json()["error"])
                time.sleep(0.005)
            times.append(time.perf_counter() - t0)
            api.post(f"/sessions/{sid}/stop").raise_for_status()
        rss = idle_host_rss(api, repo)
    return times, rss


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="volundr-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        agent = root / "agent.sh"
        agent.write_text("#!/bin/sh\nexec sleep 600\n")
        agent.chmod(0o755)
        base = baseline(repo, root)
        ours, host_rss = volundr_times(repo, agent)
        bare_rss = bare_interpreter_rss()
    b50, b95 = percentile(base, 50), percentile(base, 95)
    v50, v95 = percentile(ours, 50), percentile(ours, 95)
    return [
        f"create → running, local runtime, {SESSIONS} sessions, repository on local disk",
        f"  p50 {v50*1000:7.0f} ms   baseline (python start + git clone) {b50*1000:6.0f} ms"
        f"   ratio {v50/b50:5.2f}   target p50 ≤ 500 ms {'ok' if v50 <= 0.5 else 'MISSED'}",
        f"  p95 {v95*1000:7.0f} ms   baseline {b95*1000:6.0f} ms"
        f"   ratio {v95/b95:5.2f}   target p95 ≤ 1000 ms {'ok' if v95 <= 1.0 else 'MISSED'}",
        f"  idle session host RSS {host_rss / 2**20:6.1f} MiB   baseline (bare python) "
        f"{bare_rss / 2**20:5.1f} MiB   ratio {host_rss / bare_rss:5.2f}   (reported, no target)",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
