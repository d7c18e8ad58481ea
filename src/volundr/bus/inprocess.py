"""In-process notifier: wakes subscribers of this server process (SQLite, one replica)."""

from __future__ import annotations

import asyncio


class InProcessNotifier:
    """A generation counter plus an event swapped on each notify.

    `wait(seen)` returns as soon as the generation differs from `seen`, so a waiter
    never misses a notification that happened between its read and its wait.
    """

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def notify(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seen: int) -> int:
        """Wait until the generation moves past `seen`; returns the current one.

        Callers bound the wait with `asyncio.timeout`.
        """
        if self.generation == seen:
            await self._event.wait()
        return self.generation
