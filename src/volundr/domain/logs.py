"""Session log lines and the filters of `GET /sessions/{id}/logs` (API §4.12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from volundr.domain.errors import InvalidRequest

LEVELS: dict[str, int] = {
    "DEBUG": 10,
    "INFO": 20,
    "WARNING": 30,
    "WARN": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}
DEFAULT_LINE_LEVEL = 20
"""The rank of a line whose level is missing or not one of LEVELS (read as INFO)."""

OUTPUT_KEYS = ("seq", "time", "timestamp", "level", "logger", "message")


def parse_level(raw: str) -> int:
    """The rank of a minimum level given by a client; InvalidRequest when unknown."""
    rank = LEVELS.get(raw.strip().upper())
    if rank is None:
        raise InvalidRequest(f"Invalid level: {raw}")
    return rank


def level_rank(level: object) -> int:
    """The rank of a stored line's level."""
    if isinstance(level, str):
        return LEVELS.get(level.upper(), DEFAULT_LINE_LEVEL)
    return DEFAULT_LINE_LEVEL


@dataclass(frozen=True)
class LogQuery:
    """Which lines to read.

    Without `after_seq`: the last `lines` lines matching the filters. With it: the first
    `lines` matching lines whose seq is greater (used to follow and to resume).
    `since` is Unix seconds; `min_level` a rank of LEVELS.
    """

    lines: int = 100
    min_level: int = 10
    since: float | None = None
    after_seq: int | None = None


@dataclass(frozen=True)
class LogPage:
    """Lines (oldest first, each a dict with the OUTPUT_KEYS) and where the log stands.

    `total` counts the lines retained (before filtering); `last_seq` is the highest seq
    looked at (for a follower: where to continue), 0 when the log is empty.
    """

    total: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
