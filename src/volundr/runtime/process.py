"""Process-tree helpers of the local runtime (psutil), free of asyncio.

A host is identified by (pid, create_time): a pid alone may have been reused by an
unrelated process, which must never be signalled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from contextlib import suppress

import psutil

from volundr.host.spec import SESSION_MARKER_ENV

CREATE_TIME_TOLERANCE_S = 0.05
"""create_time comes from clock ticks since boot (10 ms); allow a few ticks of rounding."""


def find_process(pid: int, create_time: float) -> psutil.Process | None:
    """The process `pid` if it is still the one started at `create_time`, else None."""
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) > CREATE_TIME_TOLERANCE_S:
            return None
        return proc
    except psutil.Error:
        return None


def is_gone(proc: psutil.Process) -> bool:
    """True when the process exited (a zombie counts as exited)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def descendants(proc: psutil.Process) -> list[psutil.Process]:
    with suppress(psutil.Error):
        return proc.children(recursive=True)
    return []


def with_marker(session_id: str) -> list[psutil.Process]:
    """Live processes whose environment carries `VOLUNDR_SESSION_ID=<session_id>`."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(SESSION_MARKER_ENV) == session_id and not is_gone(proc):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def send(procs: Iterable[psutil.Process], sig: signal.Signals) -> None:
    """Signal each process; psutil refuses a pid that was reused since the snapshot."""
    for proc in procs:
        with suppress(psutil.Error):
            proc.send_signal(sig)


def kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    return [proc for proc in procs if not is_gone(proc)]


def describe(procs: Iterable[psutil.Process]) -> str:
    parts = []
    for proc in procs:
        try:
            parts.append(f"{proc.pid} ({proc.name()})")
        except psutil.Error:
            parts.append(str(proc.pid))
    return ", ".join(parts)
