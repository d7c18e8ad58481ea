"""Session events, usage and activity from the host to the API, in order, never lost.

Every report is spooled to disk first (`Spool`), then one worker sends the spool's head:
consecutive events as one batch (`POST /sessions/{id}/events`, ≤ 500), usage reports with
their `Idempotency-Key`, activity and chronicle reports as they are. A delivered report is
acknowledged; a report the API cannot take now (unreachable, 5xx, 401, 429) is retried with backoff
forever (a restarted host resumes from the spool); one the API rejects for good (404,
409, 422) is logged and dropped — in a batch, the batch is first retried item by item so
one bad event does not take the others with it. Event ids (`<run>-<n>`) and usage keys make
every retry idempotent, so a report is counted once even if an answer was lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from volundr.host.agents.base import Usage
from volundr.host.reporter import ReportError, post_json
from volundr.host.spool import Spool

log = logging.getLogger("volundr.host")

BASE = "/api/v1/volundr/sessions/{session_id}"
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)
"""Waits between attempts at one report; the last one repeats."""
MAX_BATCH = 500
_FINAL = frozenset({400, 403, 404, 409, 413, 422})


class ReportSender:
    """Queues reports (durably) and delivers them from `run()`, a long-lived task."""

    def __init__(
        self,
        spool: Spool | None,
        callback_url: str,
        session_id: str,
        token: str,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._spool = spool if callback_url else None
        self._base = callback_url.rstrip("/") + BASE.format(session_id=session_id)
        self._token = token
        self._timeout_s = timeout_s
        self._run_id = uuid.uuid4().hex[:12]
        self._count = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._single = 0
        """How many head items to send one by one (after a rejected batch)."""

    # ------------------------------------------------------------------ producers

    def event(self, event_type: str, data: dict[str, Any], **fields: Any) -> None:
        """Queue a session event stamped now; `fields` are optional event fields."""
        self._count += 1
        body = {
            "event_type": event_type,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": data,
            "sequence": self._count,
            "event_id": f"{self._run_id}-{self._count}",
            **{k: v for k, v in fields.items() if v is not None},
        }
        self._put({"kind": "event", "body": body})

    def usage(self, usage: Usage) -> None:
        body = {
            "tokens": usage.tokens,
            "provider": "cloud",
            "model": usage.model[:100],
            "message_count": usage.message_count,
            "cost": None if usage.cost is None else float(usage.cost),
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
        }
        self._put({"kind": "usage", "key": usage.key[:200], "body": body})

    def activity(self, state: str, metadata: dict[str, Any]) -> None:
        self._put({"kind": "activity", "body": {"state": state, "metadata": metadata}})

    def chronicle(self, body: dict[str, Any]) -> None:
        """Queue a chronicle report (`POST …/chronicle`; repeating one is harmless)."""
        self._put({"kind": "chronicle", "body": body})

    def _put(self, item: dict[str, Any]) -> None:
        if self._spool is None:
            return
        try:
            self._spool.append(item)
        except OSError as exc:
            log.warning("could not spool a %s report: %s", item["kind"], exc)
            return
        self._idle.clear()
        self._wakeup.set()

    # ------------------------------------------------------------------ delivery

    async def flush(self, timeout_s: float) -> bool:
        """Wait until the spool is empty, at most `timeout_s`; True when it is."""
        if self._spool is None or not self._spool:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.info("%d report(s) left in the spool", len(self._spool))
            return False
        return True

    async def run(self) -> None:
        spool = self._spool
        if spool is None:
            return
        failures = 0
        while True:
            if not spool:
                self._idle.set()
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            items = self._next(spool)
            delivered = await self._send(items)
            if delivered is None:
                await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
                failures += 1
                continue
            failures = 0
            if delivered == 0:  # a batch refused for good: go one by one
                self._single = len(items)
                continue
            spool.ack(delivered)
            self._single = max(0, self._single - delivered)

    def _next(self, spool: Spool) -> list[dict[str, Any]]:
        head = spool.head(1 if self._single else MAX_BATCH)
        if head[0]["kind"] != "event":
            return head[:1]
        run = []
        for item in head:
            if item["kind"] != "event":
                break
            run.append(item)
        return run

    async def _send(self, items: list[dict[str, Any]]) -> int | None:
        """How many head items are done (delivered or dropped); None: retry later;
        0: a batch was refused for good (split it)."""
        first = items[0]
        kind = first["kind"]
        headers: dict[str, str] = {}
        if kind == "event":
            url, body = f"{self._base}/events", {"events": [i["body"] for i in items]}
        elif kind == "usage":
            url, body = f"{self._base}/usage", first["body"]
            headers["Idempotency-Key"] = str(first["key"])
        else:  # activity, chronicle: the kind is the endpoint
            url, body = f"{self._base}/{kind}", first["body"]
        try:
            await post_json(url, body, self._token, self._timeout_s, headers)
        except ReportError as exc:
            if exc.status not in _FINAL:
                log.debug("%s report not delivered yet: %s", kind, exc)
                return None
            if len(items) > 1:
                return 0
            log.warning("%s report rejected (%s), dropped", kind, exc)
            return 1
        return len(items)
