"""The session log: JSON lines, append-only, one `seq` per line, flushed line by line.

Line format: `{"seq", "time" (ISO-8601 UTC, +00:00), "timestamp" (Unix s), "level",
"logger", "message"}` plus optional extra keys (`"fatal": true` marks the reason a host
gave up; runtimes read it back with `last_fatal_message` once the host is gone).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

TRUNCATION_MARK = " …[truncated]"
_TAIL_BYTES = 256 * 1024
_EXTRA_KEYS = ("fatal",)


def cut_line(data: bytes, max_bytes: int) -> str:
    """Decode one captured line; longer than `max_bytes` → cut and marked as truncated."""
    if len(data) <= max_bytes:
        return data.decode("utf-8", errors="replace")
    return data[:max_bytes].decode("utf-8", errors="ignore") + TRUNCATION_MARK


def rotated_path(path: Path) -> Path:
    """Where the older half of a rotated log lives (`session.jsonl.1`)."""
    return path.with_name(path.name + ".1")


class LogWriter:
    """Appends lines to `path`; `seq` continues from the last line already in the log.

    Safe to call from several threads. A line is on disk (flushed) when `write` returns.
    With `max_bytes`, the log is capped: when `path` would grow past half of it, it is
    renamed to `rotated_path(path)` (dropping the previous one) and a new file is started,
    so both files together stay within `max_bytes` and the oldest lines go first.
    """

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._max_file_bytes = max(max_bytes // 2, 1) if max_bytes else None
        self._lock = threading.Lock()
        self._seq, needs_newline = _last_seq(path)
        if self._seq == 0:  # a crash between a rotation and the next line
            self._seq = _last_seq(rotated_path(path))[0]
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - kept open
        if needs_newline:
            self._file.write(b"\n")
        self._size = self._file.tell()

    @property
    def seq(self) -> int:
        """The `seq` of the last line written (0 when none)."""
        return self._seq

    def write(self, level: str, logger: str, message: str, **extra: Any) -> int:
        """Append one line and return its `seq`. `message` is written as given (see cut_line).

        After `close` lines are dropped (late messages of threads at interpreter exit).
        """
        now = datetime.now(UTC)
        with self._lock:
            if self._file.closed:
                return self._seq
            self._seq += 1
            line = {
                "seq": self._seq,
                "time": now.isoformat(),
                "timestamp": now.timestamp(),
                "level": level,
                "logger": logger,
                "message": message,
                **extra,
            }
            data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
            self._rotate_for(len(data))
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
            return self._seq

    def _rotate_for(self, incoming: int) -> None:
        limit = self._max_file_bytes
        if limit is None or self._size == 0 or self._size + incoming <= limit:
            return
        self._file.close()
        os.replace(self._path, rotated_path(self._path))
        self._file = open(self._path, "ab")  # noqa: SIM115 - kept open
        self._size = 0

    def close(self) -> None:
        with self._lock:
            self._file.close()


class JsonLinesHandler(logging.Handler):
    """A logging handler writing records to a LogWriter (extra key kept: `fatal`)."""

    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self._writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            extra = {k: getattr(record, k) for k in _EXTRA_KEYS if hasattr(record, k)}
            self._writer.write(record.levelname, record.name, message, **extra)
        except Exception:
            self.handleError(record)


def last_fatal_message(path: Path, offset: int = 0) -> str | None:
    """The message of the last `"fatal": true` line near the end of the log, if any.

    Only lines starting at byte `offset` or later count (a runtime passes the log size at
    launch, so a fatal line of an earlier run of the same session is not mistaken for one
    of this run).
    """
    for line in reversed(_tail_lines(path, offset)):
        record = _parse(line)
        if record is not None and record.get("fatal") is True:
            message = record.get("message")
            return message if isinstance(message, str) else None
    return None


def _last_seq(path: Path) -> tuple[int, bool]:
    """(last seq in the file, whether the file ends without a newline)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return 0, False
            fh.seek(-1, os.SEEK_END)
            needs_newline = fh.read(1) != b"\n"
    except FileNotFoundError:
        return 0, False
    for line in reversed(_tail_lines(path)):
        record = _parse(line)
        if record is not None and isinstance(record.get("seq"), int):
            return int(record["seq"]), needs_newline
    return 0, needs_newline


def _tail_lines(path: Path, offset: int = 0) -> list[bytes]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if offset > size:  # rotated since `offset` was taken: all of it is newer
                offset = 0
            start = max(offset, size - _TAIL_BYTES, 0)
            fh.seek(start)
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    if start > offset:
        lines = lines[1:]  # the first one is probably cut
    return [line for line in lines if line.strip()]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
