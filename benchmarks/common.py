"""Shared benchmark plumbing: server processes, a loopback load generator, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


@contextlib.contextmanager
def volundr_server(config_yaml: str = "", env: dict[str, str] | None = None) -> Iterator[str]:
    """A `volundr serve` process on a free loopback port with a fresh home; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="volundr-bench-") as home:
        port = free_port()
        config = Path(home) / "volundr.yaml"
        config.write_text(config_yaml or "{}\n")
        proc_env = {**os.environ, "VOLUNDR_HOME": home, **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, "-m", "volundr", "serve", "--port", str(port),
             "--config", str(config)],
            env=proc_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/health")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@contextlib.contextmanager
def uvicorn_app(target: str) -> Iterator[str]:
    """Any ASGI app `module:attr` in its own uvicorn process; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _load(
    url: str, method: str, seconds: float, concurrency: int, json_body: object | None
) -> Load:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await client.request(method, url, json=json_body)
                if response.status_code >= 400:
                    raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Load(len(latencies), elapsed, latencies)


def load(
    url: str, method: str = "GET", seconds: float = 3.0, concurrency: int = 8,
    json_body: object | None = None,
) -> Load:
    """Closed-loop load from this process: `concurrency` clients for `seconds`."""
    return asyncio.run(_load(url, method, seconds, concurrency, json_body))


def row(name: str, value: str, baseline: str, ratio: float, target: str) -> str:
    verdict = ""
    if target:
        op, bound = target[:2], float(target[2:])
        ok = ratio >= bound if op == ">=" else ratio <= bound
        verdict = "ok" if ok else "MISSED"
    return (
        f"  {name:<44} {value:>14}   baseline {baseline:>14}   ratio {ratio:6.3f}"
        f"  {target} {verdict}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
