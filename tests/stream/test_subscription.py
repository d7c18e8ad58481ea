"""A subscriber's mailbox and the wire encoder, without a server."""

from __future__ import annotations

import asyncio

import pytest

from volundr.api import sse
from volundr.domain.models import LOCAL_ADMIN
from volundr.services.hub import parse_last_event_id
from volundr.services.subscription import EndReason, Subscription


def _subscription(capacity: int = 3) -> Subscription:
    return Subscription(
        LOCAL_ADMIN, capacity=capacity, started=0.0, live_after=0,
        heartbeat_s=15, stats_interval_s=30, max_connection_s=3600,
    )


def test_overflow_drops_the_backlog_and_owes_one_resync_with_the_newest_dropped_id() -> None:
    sub = _subscription(capacity=3)
    for event_id in range(1, 5):
        sub.offer(event_id, b"x")
    sub.offer(5, b"five")
    pending = sub.take()
    assert pending.resync_id == 4
    assert pending.events == [(5, b"five")]
    assert sub.overflows == 1
    assert sub.take().resync_id is None


async def test_wait_returns_once_woken_with_something_pending() -> None:
    sub = _subscription()
    waiter = asyncio.create_task(sub.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    sub.mark_heartbeat()
    await asyncio.sleep(0)
    assert not waiter.done()
    sub.wake()
    await asyncio.wait_for(waiter, 1)
    assert sub.take().heartbeat
    sub.end(EndReason.SHUTDOWN)
    sub.end(EndReason.DISCONNECT)
    await asyncio.wait_for(sub.wait(), 1)
    assert sub.ended is EndReason.SHUTDOWN


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("0", 0), ("42", 42), (" 7 ", 7), ("", None), ("-1", None), ("1e3", None), ("٣", None)],
)
def test_last_event_id_must_be_a_non_negative_integer(raw: str, parsed: int | None) -> None:
    assert parse_last_event_id(raw) == parsed


def test_frames_are_lf_only_one_data_line_in_field_order() -> None:
    frame = sse.frame("session_updated", {"name": "a\nb\r\nc", "ü": "\u2028"}, event_id=7,
                      retry_ms=10)
    assert frame == (
        'retry: 10\nid: 7\nevent: session_updated\ndata: {"name":"a\\nb\\r\\nc","ü":"\u2028"}\n\n'
    ).encode()
    assert sse.heartbeat_frame() == b"event: heartbeat\ndata: {}\n\n"
    assert sse.resync_frame("overflow", 9) == (
        b'id: 9\nevent: resync\ndata: {"reason":"overflow","latest_id":9}\n\n'
    )
