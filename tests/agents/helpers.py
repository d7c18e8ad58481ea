"""End-to-end helpers: servers running the fake agent, polling, reading the server's store,
and a proxy that loses the first answer to every request."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.agents.transcripts import fake_command

FAST_RUNTIME = {"stop_grace_s": 1, "stop_timeout_s": 10, "health_interval_s": 0.5}


def agent_config(kind: str = "claude-code", delay: float = 0.0, **extra: Any) -> dict[str, Any]:
    """A server configuration whose default agent is the fake `kind` agent."""
    env = {"FAKE_AGENT_DELAY": str(delay), "FAKE_AGENT_NOISE": "1"}
    return {
        "agents": {
            "default": "fake",
            "templates": {"fake": {"kind": kind, "command": fake_command(), "env": env}},
        },
        "runtime": FAST_RUNTIME,
        **extra,
    }


def eventually(
    probe: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 30.0
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s; last value: {value}")
        time.sleep(0.05)


def events(api: httpx.Client, sid: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = api.get(f"/sessions/{sid}/events", params={"limit": 2000}).json()
    return [e for e in body if e["event_type"] != "session_status"]


def activity_states(home: Path, sid: str) -> list[str]:
    """Every `session_activity` state published for the session, consecutive repeats folded."""
    with sqlite3.connect(home / "volundr.db") as db:
        rows = db.execute(
            "SELECT payload FROM outbox WHERE session_id = ? AND name = 'session_activity' "
            "ORDER BY id",
            (sid,),
        ).fetchall()
    import json

    states = [json.loads(r[0])["state"] for r in rows]
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


class LossyProxy:
    """Forwards HTTP/1.1 requests (one per connection) to `target`; the first time it sees a
    request it forwards it but drops the answer, so every client must retry."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.seen: set[str] = set()
        self.dropped = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            request = _read_request(conn)
            if request is None:
                return
            key = hashlib.sha256(request).hexdigest()
            with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                upstream.sendall(request)
                answer = _read_all(upstream)
            if key not in self.seen:
                self.seen.add(key)
                self.dropped += 1
                return  # the request was processed; its answer is lost
            conn.sendall(answer)


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
