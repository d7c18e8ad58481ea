"""The host's report pipeline: a durable spool and an ordered, retrying sender."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from volundr.host.agents.base import Usage
from volundr.host.reports import ReportSender
from volundr.host.spool import Spool

SID = "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"


def test_the_spool_survives_a_restart_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(5):
        spool.append({"kind": "event", "n": n})
    spool.ack(2)
    spool.close()
    again = Spool(tmp_path)
    assert [i["n"] for i in again.head(10)] == [2, 3, 4]
    again.ack(3)
    assert len(again) == 0 and (tmp_path / "queue.jsonl").stat().st_size == 0
    again.append({"kind": "event", "n": 5})
    again.close()
    assert [i["n"] for i in Spool(tmp_path).head(10)] == [5]


def test_nuls_from_agent_output_are_replaced_so_the_api_takes_the_report(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    spool.append({"kind": "event", "body": {"data": {"out\0put": ["bin\0ary", "C:\\u0000"]}}})
    expected = {"kind": "event", "body": {"data": {"out\ufffdput": ["bin\ufffdary", "C:\\u0000"]}}}
    assert spool.head(1) == [expected]
    spool.close()
    assert Spool(tmp_path).head(1) == [expected]


def test_a_line_cut_by_a_crash_is_dropped_and_later_items_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"kind": "event", "n": 1})
    spool.close()
    with open(tmp_path / "queue.jsonl", "ab") as fh:
        fh.write(b'{"kind": "ev')  # the host died mid-write
    again = Spool(tmp_path)
    again.append({"kind": "event", "n": 2})
    again.close()
    assert [i["n"] for i in Spool(tmp_path).head(10)] == [1, 2]


def test_a_stale_cursor_past_the_end_means_all_sent(tmp_path: Path) -> None:
    (tmp_path / "queue.jsonl").write_bytes(b'{"kind":"event","n":1}\n')
    (tmp_path / "cursor").write_text("999")
    assert len(Spool(tmp_path)) == 0


@dataclass
class FakeApi:
    """Answers with `status(path, body)`; records what it accepted."""

    url: str = ""
    status: Callable[[str, Any], int] = lambda _path, _body: 201
    accepted: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    attempts: int = 0

    def events(self) -> list[int]:
        return [e["sequence"] for path, _, body in self.accepted if path.endswith("/events")
                for e in body["events"]]  # fmt: skip


@pytest.fixture
async def api() -> AsyncIterator[FakeApi]:
    box = FakeApi()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        headers = {k.strip().lower(): v.strip()
                   for k, v in (h.split(":", 1) for h in head[1:] if h)}  # fmt: skip
        body = json.loads(await reader.readexactly(int(headers["content-length"])))
        box.attempts += 1
        status = box.status(path, body)
        if status < 300:
            box.accepted.append((path, headers, body))
        writer.write(f"HTTP/1.1 {status} X\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    box.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield box
    server.close()
    await server.wait_closed()


async def run_sender(sender: ReportSender, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    task = asyncio.create_task(sender.run())
    try:
        assert await sender.flush(timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_events_go_in_batches_and_usage_with_its_key(api: FakeApi, tmp_path: Path) -> None:
    sender = ReportSender(Spool(tmp_path), api.url, SID, "vst_token")
    for n in range(3):
        sender.event("tool_use", {"n": n})
    sender.usage(Usage("claude-sonnet-4-6", 100, 20, Decimal("0.001"), 2, "r1:claude"))
    sender.event("error", {})
    sender.activity("idle", {"turn_count": 1})
    await run_sender(sender)
    paths = [path.rsplit("/", 1)[1] for path, _, _ in api.accepted]
    assert paths == ["events", "usage", "events", "activity"]
    assert api.events() == [1, 2, 3, 4]
    _, headers, usage = api.accepted[1]
    assert headers["idempotency-key"] == "r1:claude"
    assert headers["authorization"] == "Bearer vst_token"
    assert usage == {"tokens": 120, "provider": "cloud", "model": "claude-sonnet-4-6",
                     "message_count": 2, "cost": 0.001, "tokens_in": 100, "tokens_out": 20}


async def test_nothing_is_lost_while_the_api_is_down(api: FakeApi, tmp_path: Path) -> None:
    down = {"until": 4}

    def status(_path: str, _body: Any) -> int:
        return 503 if api.attempts <= down["until"] else 201

    api.status = status
    sender = ReportSender(Spool(tmp_path), api.url, SID, "t")
    task = asyncio.create_task(sender.run())
    for n in range(20):
        sender.event("tool_use", {"n": n})
        await asyncio.sleep(0.01)
    assert await sender.flush(10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert api.events() == list(range(1, 21))


async def test_a_new_host_resumes_what_an_old_one_left(api: FakeApi, tmp_path: Path) -> None:
    old = ReportSender(Spool(tmp_path), api.url, SID, "old-token")
    old.event("tool_use", {})
    old.event("session_stop", {})  # the host was killed before sending
    new = ReportSender(Spool(tmp_path), api.url, SID, "new-token")
    await run_sender(new)
    (sent,) = api.accepted
    assert [e["event_type"] for e in sent[2]["events"]] == ["tool_use", "session_stop"]
    assert sent[1]["authorization"] == "Bearer new-token"


async def test_a_rejected_batch_is_retried_one_by_one(api: FakeApi, tmp_path: Path) -> None:
    def status(_path: str, body: Any) -> int:
        bad = any(e["event_type"] == "bogus" for e in body.get("events", []))
        return 422 if bad else 201

    api.status = status
    sender = ReportSender(Spool(tmp_path), api.url, SID, "t")
    for kind in ("tool_use", "bogus", "error"):
        sender.event(kind, {})
    await run_sender(sender)
    assert api.events() == [1, 3]


async def test_without_a_callback_url_nothing_is_spooled(tmp_path: Path) -> None:
    sender = ReportSender(Spool(tmp_path), "", SID, "t")
    sender.event("tool_use", {})
    assert await sender.flush(0.1)
    assert (tmp_path / "queue.jsonl").read_bytes() == b""
