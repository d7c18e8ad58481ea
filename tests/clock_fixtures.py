"""A settable clock and a process time zone, for tests about calendar days.

- `clock`: while the test runs, `volundr.domain.clock.utcnow()` returns `clock.now` (an
  aware datetime the test assigns; it does not move by itself). Restored afterwards.
- `process_tz(name)`: sets `TZ` and calls `time.tzset()`, restoring both afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from volundr.domain.clock import set_clock


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    fixed = FixedClock(datetime.now(UTC))
    set_clock(fixed)
    try:
        yield fixed
    finally:
        set_clock(None)


@pytest.fixture
def process_tz() -> Iterator[Callable[[str], None]]:
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    try:
        yield use
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()
