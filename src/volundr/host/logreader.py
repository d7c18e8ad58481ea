"""Reading a session log (`session.jsonl` and its rotated half) without loading it.

Snapshots seek to the end and read backwards in blocks until enough lines matched; a
follower's "lines after seq N" binary-searches the file by byte offset (lines are in seq
order) and reads forward. So a read costs about the size of what it returns, whatever the
size of the log. Only complete lines (ending in a newline) are returned; lines that are not
JSON objects with an integer `seq` (a torn write) are skipped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from volundr.domain.logs import OUTPUT_KEYS, LogPage, LogQuery, level_rank
from volundr.host.logwriter import rotated_path

BLOCK = 64 * 1024
FORWARD_BUDGET = 8 * 1024 * 1024
"""At most this many bytes are scanned by one forward read (a follower continues later)."""

_LEVEL = re.compile(rb'"level": "([A-Za-z]+)"')
_TIMESTAMP = re.compile(rb'"timestamp": ([-+0-9.eE]+)')
_SEQ = re.compile(rb'^\{"seq": (\d+)')


def read_log(path: Path, query: LogQuery) -> LogPage:
    """The page `query` asks for from the log at `path` (empty when there is none)."""
    files = [p for p in (rotated_path(path), path) if _size(p) > 0]
    if not files:
        return LogPage(0, [], query.after_seq or 0)
    first, last = _first_seq(files[0]), _last_seq(files[-1])
    total = last - first + 1 if first and last and last >= first else 0
    if query.after_seq is None:
        return LogPage(total, _tail(files, query), last)
    lines, seen = _forward(files, query)
    return LogPage(total, lines, max(seen, query.after_seq))


# ------------------------------------------------------------------ tail


def _tail(files: list[Path], query: LogQuery) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    floor: int | None = None  # lines are taken below it only (a rotation may repeat lines)
    for path in reversed(files):
        with open(path, "rb") as fh:
            for raw in _backwards(fh):
                if query.since is not None and _timestamp(raw) < query.since:
                    return found[::-1]
                if query.min_level > 10 and _level(raw) < query.min_level:
                    continue
                record = _record(raw)
                if record is None or (floor is not None and record["seq"] >= floor):
                    continue
                floor = record["seq"]
                found.append(record)
                if len(found) >= query.lines:
                    return found[::-1]
    return found[::-1]


def _backwards(fh: BinaryIO) -> Iterator[bytes]:
    """Complete lines from the end of the file to its start (an unterminated tail skipped)."""
    position = _complete_end(fh)
    rest = b""
    while position > 0:
        step = min(BLOCK, position)
        position -= step
        fh.seek(position)
        parts = (fh.read(step) + rest).split(b"\n")
        rest = parts[0]
        yield from (line for line in reversed(parts[1:]) if line)
    if rest:
        yield rest


def _complete_end(fh: BinaryIO) -> int:
    """The offset just after the last newline (0 when there is none)."""
    fh.seek(0, os.SEEK_END)
    position = fh.tell()
    while position > 0:
        step = min(BLOCK, position)
        position -= step
        fh.seek(position)
        newline = fh.read(step).rfind(b"\n")
        if newline >= 0:
            return position + newline + 1
    return 0


# ------------------------------------------------------------------ forward


def _forward(files: list[Path], query: LogQuery) -> tuple[list[dict[str, Any]], int]:
    after = query.after_seq or 0
    found: list[dict[str, Any]] = []
    seen = after
    budget = FORWARD_BUDGET
    for path in files:
        if len(files) > 1 and path != files[-1] and _last_seq(path) <= after:
            continue
        with open(path, "rb") as fh:
            fh.seek(_offset_after(fh, after))
            for raw, length in _forwards(fh):
                budget -= length
                record = _record(raw)
                if record is None or record["seq"] <= seen:
                    continue
                seen = record["seq"]
                if _keep(record, query):
                    found.append(record)
                if len(found) >= query.lines or budget <= 0:
                    return found, seen
    return found, seen


def _forwards(fh: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """(line, bytes consumed) from the current position; a trailing partial line is left."""
    rest = b""
    while chunk := fh.read(BLOCK):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for line in parts:
            yield line, len(line) + 1


def _offset_after(fh: BinaryIO, seq: int) -> int:
    """A byte offset at or before the first line whose seq is greater than `seq`."""
    fh.seek(0, os.SEEK_END)
    low, high = 0, fh.tell()
    while high - low > BLOCK:
        middle = (low + high) // 2
        fh.seek(middle)
        fh.readline()  # skip the line `middle` falls in
        start = fh.tell()
        found = _SEQ.match(fh.readline())
        if found is None or start >= high:
            high = middle
        elif int(found.group(1)) <= seq:
            low = start
        else:
            high = middle
    return low


# ------------------------------------------------------------------ lines


def _record(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("seq"), int):
        return None
    return {key: parsed.get(key) for key in OUTPUT_KEYS}


def _keep(record: dict[str, Any], query: LogQuery) -> bool:
    if level_rank(record["level"]) < query.min_level:
        return False
    stamp = record["timestamp"]
    return query.since is None or (isinstance(stamp, int | float) and stamp >= query.since)


def _level(raw: bytes) -> int:
    found = _LEVEL.search(raw)
    return level_rank(found.group(1).decode()) if found else level_rank(None)


def _timestamp(raw: bytes) -> float:
    found = _TIMESTAMP.search(raw)
    try:
        return float(found.group(1)) if found else float("inf")
    except ValueError:
        return float("inf")


def _first_seq(path: Path) -> int:
    with open(path, "rb") as fh:
        for raw, _length in _forwards(fh):
            found = _SEQ.match(raw)
            if found:
                return int(found.group(1))
    return 0


def _last_seq(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            for raw in _backwards(fh):
                found = _SEQ.match(raw)
                if found:
                    return int(found.group(1))
    except FileNotFoundError:
        return 0
    return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
