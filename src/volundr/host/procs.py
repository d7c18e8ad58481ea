"""Process plumbing of the host: subreaper, reaping adopted orphans, killing the whole tree.

The host makes itself a child subreaper, so processes the agent daemonizes (double fork,
setsid) are re-parented to the host instead of init: they stay descendants the host can
find and kill, and the host must reap them when they exit. Children that asyncio spawned
are reaped by asyncio's own child watcher; `ChildReaper` leaves those alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.02


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux prctl); returns False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class ChildReaper:
    """Reaps exited children that nobody else waits for (adopted orphans).

    Pids registered with `spawning()`/`manage` are left to their owner (asyncio's child
    watcher). While a spawn is in flight nothing is reaped, because the new pid is not
    registered yet and its exit status must not be stolen.
    """

    def __init__(self) -> None:
        self._managed: set[int] = set()
        self._spawning = 0

    @asynccontextmanager
    async def spawning(self) -> AsyncIterator[None]:
        """Wrap the creation of a child; call `manage(pid)` inside the block."""
        self._spawning += 1
        try:
            yield
        finally:
            self._spawning -= 1

    def manage(self, pid: int) -> None:
        self._managed.add(pid)

    def release(self, pid: int) -> None:
        self._managed.discard(pid)

    def reap(self) -> int:
        """Reap every waitable unmanaged child now; returns how many were reaped."""
        reaped = 0
        while self._spawning == 0:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None or info.si_pid in self._managed:
                break  # nothing waitable, or the first one belongs to asyncio
            try:
                os.waitpid(info.si_pid, os.WNOHANG)
                reaped += 1
            except ChildProcessError:
                break
        return reaped

    async def run_periodically(self, interval_s: float = 1.0) -> None:
        """Reap forever (SIGCHLD also triggers `reap`; this catches what it missed)."""
        while True:
            self.reap()
            await asyncio.sleep(interval_s)


async def kill_descendants(reaper: ChildReaper, grace_s: float) -> list[int]:
    """SIGTERM every descendant, wait up to `grace_s`, SIGKILL the rest.

    Descendants forked during the grace period are signalled too. Returns the pids still
    alive after the SIGKILL round (normally none).
    """
    import psutil

    me = psutil.Process()
    signalled: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + grace_s
    while True:
        for proc in me.children(recursive=True):
            if proc.pid not in signalled:
                signalled[proc.pid] = proc
                _signal(proc, signal.SIGTERM)
        reaper.reap()
        if not _alive(list(signalled.values())) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(_POLL_S)
    kill_deadline = time.monotonic() + 2.0
    while True:
        remaining = _alive(me.children(recursive=True))
        for proc in remaining:
            _signal(proc, signal.SIGKILL)
        reaper.reap()
        if not remaining or time.monotonic() >= kill_deadline:
            return [p.pid for p in remaining]
        await asyncio.sleep(_POLL_S)


def _alive(procs: Sequence[psutil.Process]) -> list[psutil.Process]:
    import psutil

    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def _signal(proc: psutil.Process, sig: signal.Signals) -> None:
    import psutil

    with suppress(psutil.Error):
        proc.send_signal(sig)
