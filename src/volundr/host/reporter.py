"""Reports the host's phase to the API: `POST {callback_url}/api/v1/volundr/sessions/{id}/
runtime/report` with `Authorization: Bearer <session token>` and a JSON body
`{"phase": "ready"|"failed"|"agent_exited", "error", "branch", "exit_code"}`.

Reports are sent in order by one worker, each tried a few times with backoff; a report that
still fails is only logged (the API polls /health as a fallback). The token is never logged.
The HTTP client is a small stdlib one: importing httpx costs ~0.7 s here, more than the
whole start-up budget of a host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("volundr.host")

REPORT_PATH = "/api/v1/volundr/sessions/{session_id}/runtime/report"
BACKOFF_S = (0.2, 0.5, 1.0)
"""Waits between attempts: three retries after the first try, about 1.7 s in all."""


@dataclass(frozen=True)
class Report:
    phase: str
    error: str | None = None
    branch: str | None = None
    exit_code: int | None = None

    def body(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "error": self.error,
            "branch": self.branch,
            "exit_code": self.exit_code,
        }


class ReportError(Exception):
    """One attempt failed; `retry` says whether another attempt could succeed.

    `status` is the HTTP status when the server answered, else None.
    """

    def __init__(self, message: str, *, retry: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.status = status


class Reporter:
    """Queues reports and sends them in order from `run()` (a long-lived task)."""

    def __init__(
        self, callback_url: str, session_id: str, token: str, *, timeout_s: float = 2.0
    ) -> None:
        self._url = callback_url.rstrip("/") + REPORT_PATH.format(session_id=session_id)
        self._enabled = bool(callback_url)
        self._token = token
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[Report] = asyncio.Queue()

    def report(self, report: Report) -> None:
        """Queue `report`; never blocks, never raises."""
        if self._enabled:
            self._queue.put_nowait(report)

    async def drain(self, timeout_s: float) -> None:
        """Wait until every queued report was sent or given up, at most `timeout_s`."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            log.warning("reports still pending at exit")

    async def run(self) -> None:
        while True:
            report = await self._queue.get()
            try:
                await self._send(report)
            finally:
                self._queue.task_done()

    async def _send(self, report: Report) -> None:
        delays = (0.0, *BACKOFF_S)
        for attempt, delay in enumerate(delays, start=1):
            await asyncio.sleep(delay)
            try:
                await post_json(self._url, report.body(), self._token, self._timeout_s)
                return
            except ReportError as exc:
                if not exc.retry or attempt == len(delays):
                    log.warning(
                        "report %r failed after %d attempt(s): %s", report.phase, attempt, exc
                    )
                    return


async def post_json(
    url: str,
    body: dict[str, Any],
    token: str,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> int:
    """POST `body` as JSON (with extra `headers`); returns the 2xx status, raises
    ReportError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ReportError(f"unsupported callback URL scheme {parts.scheme!r}", retry=False)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ssl_context = None
    if parts.scheme == "https":
        import ssl

        ssl_context = ssl.create_default_context()
    data = json.dumps(body).encode()
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc.rsplit('@', 1)[-1]}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=ssl_context)
            try:
                writer.write(head.encode("latin-1") + data)
                await writer.drain()
                status_line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        raise ReportError(f"{type(exc).__name__}: {exc}", retry=True) from None
    status = _status(status_line)
    if 200 <= status < 300:
        return status
    raise ReportError(
        f"HTTP {status}", retry=status >= 500 or status in (408, 429), status=status
    )


def _status(line: bytes) -> int:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return 502
    return int(parts[1])
