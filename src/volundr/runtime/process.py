"""Process-tree helpers of the local runtime (psutil), free of asyncio.

A host is identified by (pid, create_time): a pid alone may have been reused by an
unrelated process, which must never be signalled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from contextlib import suppress
from itertools import pairwise

import psutil

from volundr.host.spec import FD_ENV, SESSION_MARKER_ENV

HOST_MODULE = "volundr.host"

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


def hosts_with_marker(session_id: str) -> list[psutil.Process]:
    """Live session hosts (`<python> … -m volundr.host`) carrying the session's marker;
    the processes they started carry it too, but run other commands."""
    found = []
    for proc in with_marker(session_id):
        try:
            argv = proc.cmdline()
        except psutil.Error:
            continue
        if any(a == "-m" and b == HOST_MODULE for a, b in pairwise(argv)):
            found.append(proc)
    return found


def listening_port(proc: psutil.Process) -> int | None:
    """The 127.0.0.1 TCP port a host listens on: the socket it was handed (its fd is in
    the host's original environment under `FD_ENV`), else its only listening socket there."""
    try:
        handed = proc.environ().get(FD_ENV, "")
        listening = [
            conn for conn in proc.net_connections(kind="tcp4")
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.ip == "127.0.0.1"
        ]  # fmt: skip
    except psutil.Error:
        return None
    chosen = [conn for conn in listening if str(conn.fd) == handed] or listening
    return int(chosen[0].laddr.port) if len(chosen) == 1 else None


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
