"""A durable FIFO of reports on disk (`sessions/<id>/spool/`), so none is lost while the API
is unreachable or across a restart of the host.

`queue.jsonl` holds one JSON item per line, appended and flushed before the item is sent;
`cursor` holds the byte offset up to which items were acknowledged (replaced atomically).
When everything is acknowledged both are reset, so the file stays small. A cursor past the
end of the file (a crash between the two resets) means "all sent".
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger("volundr.host")


def _without_nul(value: Any) -> Any:
    """`value` with every NUL in its strings and keys replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\0", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class Spool:
    """Items in append order; `head(n)` peeks, `ack(n)` drops the first n for good."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._queue_path = directory / "queue.jsonl"
        self._cursor_path = directory / "cursor"
        self._items: deque[tuple[dict[str, Any], int]] = deque()
        self._load()
        self._file: BinaryIO = open(self._queue_path, "ab")  # noqa: SIM115 - kept open
        if self._file.tell() and not self._queue_path.read_bytes().endswith(b"\n"):
            self._file.write(b"\n")  # a line cut by a crash stays a line of its own
            self._file.flush()
        if self._items:
            log.info("resuming %d unsent report(s) from the spool", len(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: dict[str, Any]) -> None:
        """Persist `item` (flushed to the OS: survives a crash of this process).

        NULs in its strings (an agent's output may hold any byte) become U+FFFD: the API
        refuses them, and a refused report would be dropped.
        """
        text = json.dumps(item, separators=(",", ":"))
        if "\\u0000" in text:  # how json.dumps writes a NUL (or a backslash before u0000)
            item = _without_nul(item)
            text = json.dumps(item, separators=(",", ":"))
        data = (text + "\n").encode()
        self._file.write(data)
        self._file.flush()
        self._items.append((item, self._file.tell()))

    def head(self, count: int) -> list[dict[str, Any]]:
        return [item for item, _ in list(self._items)[:count]]

    def ack(self, count: int) -> None:
        """The first `count` items were delivered: never hand them out again."""
        if count <= 0:
            return
        end = 0
        for _ in range(min(count, len(self._items))):
            _, end = self._items.popleft()
        if self._items:
            self._write_cursor(end)
        else:
            self._file.truncate(0)
            self._write_cursor(0)

    def close(self) -> None:
        self._file.close()

    def _load(self) -> None:
        try:
            cursor = int(self._cursor_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            cursor = 0
        try:
            data = self._queue_path.read_bytes()
        except FileNotFoundError:
            return
        if cursor > len(data):
            cursor = 0
            data = b""
            self._queue_path.write_bytes(b"")
        offset = cursor
        for line in data[cursor:].split(b"\n"):
            end = offset + len(line) + 1
            if line.strip():
                try:
                    item = json.loads(line)
                except ValueError:
                    log.warning("spool: dropping a damaged line")
                    item = None
                if isinstance(item, dict):
                    self._items.append((item, min(end, len(data))))
            offset = end

    def _write_cursor(self, offset: int) -> None:
        tmp = self._cursor_path.with_suffix(".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self._cursor_path)
