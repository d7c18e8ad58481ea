"""Chronicles (API §8): one summary per run of a session, and its timeline.

A chronicle stores what cannot be derived (the runtime's report, the run's bounds, why it
ended); its aggregates (`files`, `commits`, `token_burn`, `token_usage`, `cost`) are always
computed from the run's timeline entries and usage records by the pure functions here, so
a chronicle and its timeline can never disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

BURN_BUCKET_S = 300
"""Token burn buckets are 5 minutes long, counted from the run start."""
MAX_LABEL = 1000
MAX_HASH = 40
ENTRY_TYPES = ("session", "message", "file", "git", "terminal", "error")
FILE_ACTIONS = ("created", "modified", "deleted")
_FILE_EVENTS = {"file_created": "created", "file_modified": "modified", "file_deleted": "deleted"}
TRANSLATED_EVENTS = frozenset({*_FILE_EVENTS, "git_commit", "terminal_command", "error",
                               "session_start"})  # fmt: skip
"""Session event types that become timeline entries (§8.4)."""


class ChronicleStatus(StrEnum):
    DRAFT = "draft"
    COMPLETE = "complete"


@dataclass(frozen=True)
class TimelineEntry:
    """One point of a run's timeline; `t` is seconds from the run start."""

    t: int
    type: str
    label: str
    tokens: int | None = None
    action: str | None = None
    ins: int | None = None
    dels: int | None = None
    hash: str | None = None
    exit: int | None = None

    def identity(self) -> str:
        """Entries with the same `t`, `type`, `label`, `action` and `hash` are one entry."""
        key = json.dumps([self.t, self.type, self.label, self.action, self.hash])
        return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class RunUsage:
    """One usage record of a run, as far as a chronicle needs it."""

    recorded_at: datetime
    tokens: int
    cost_micros: int | None


@dataclass
class Chronicle:
    """The stored part of a chronicle.

    `session_id` is None once the session is deleted; `origin_session_id` keeps the id so
    the run's usage records (which outlive the session) can still be found.
    `duration_seconds` is the reported duration (None = not reported).
    """

    id: str
    session_id: str | None
    origin_session_id: str
    owner_id: str
    tenant_id: str
    status: ChronicleStatus
    project: str
    repo: str
    branch: str
    model: str
    config_snapshot: dict[str, Any]
    run_started_at: datetime
    created_at: datetime
    updated_at: datetime
    summary: str | None = None
    key_changes: list[str] = field(default_factory=list)
    unfinished_work: str | None = None
    duration_seconds: int | None = None
    run_ended_at: datetime | None = None
    end_reason: str | None = None
    parent_chronicle_id: str | None = None
    tags: list[str] = field(default_factory=list)

    def run_duration(self) -> int | None:
        """The reported duration, else the run's length once it ended."""
        if self.duration_seconds is not None:
            return self.duration_seconds
        if self.run_ended_at is None:
            return None
        return max(0, int((self.run_ended_at - self.run_started_at).total_seconds()))


@dataclass(frozen=True)
class ChronicleReport:
    """The runtime's final report (`POST /sessions/{id}/chronicle`); None = keep."""

    summary: str | None = None
    key_changes: list[str] | None = None
    unfinished_work: str | None = None
    duration_seconds: int | None = None

    def apply(self, chronicle: Chronicle) -> bool:
        """Overwrite the given fields; False when that changes nothing (a repeat)."""
        changed = False
        for name in ("summary", "key_changes", "unfinished_work", "duration_seconds"):
            value = getattr(self, name)
            if value is not None and getattr(chronicle, name) != value:
                setattr(chronicle, name, list(value) if name == "key_changes" else value)
                changed = True
        return changed


@dataclass(frozen=True)
class Aggregates:
    """What a run's entries and usage add up to (API §8.4)."""

    files: list[dict[str, Any]]
    commits: list[dict[str, Any]]
    token_burn: list[int]
    token_usage: int
    cost_micros: int | None


def project_name(repo: str, session_name: str) -> str:
    """Last path segment of `repo` without `.git` (scp-style and URLs alike), else the
    session name."""
    trimmed = repo.strip().rstrip("/")
    segment = trimmed.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    segment = segment.removesuffix(".git")
    return segment or session_name


def seconds_into_run(run_start: datetime, at: datetime) -> int:
    """Whole seconds from the run start (0 for anything before it)."""
    return max(0, int((at - run_start).total_seconds()))


def translate(
    event_type: str, data: Mapping[str, Any], timestamp: datetime, run_start: datetime
) -> TimelineEntry | None:
    """The timeline entry an ingested session event stands for, if any (§8.4)."""
    if event_type not in TRANSLATED_EVENTS:
        return None
    given_t = data.get("t")
    t = given_t if isinstance(given_t, int) and _natural(given_t) else seconds_into_run(
        run_start, timestamp
    )
    if event_type in _FILE_EVENTS:
        label = _text(data.get("path")) or _text(data.get("label"))
        if not label:
            return None
        return TimelineEntry(
            t=t, type="file", label=label, action=_FILE_EVENTS[event_type],
            ins=_count(data, "insertions", "ins"), dels=_count(data, "deletions", "del"),
        )  # fmt: skip
    if event_type == "git_commit":
        commit = _text(data.get("hash"))
        label = _text(data.get("message")) or _text(data.get("label")) or commit or "commit"
        return TimelineEntry(t=t, type="git", label=label, hash=commit[:MAX_HASH] or None)
    if event_type == "terminal_command":
        label = _text(data.get("command")) or _text(data.get("label"))
        if not label:
            return None
        code = data.get("exit_code", data.get("exit"))
        return TimelineEntry(t=t, type="terminal", label=label, exit=_int(code))
    if event_type == "error":
        label = _text(data.get("message")) or _text(data.get("label")) or "error"
        return TimelineEntry(t=t, type="error", label=label)
    label = _text(data.get("label")) or "Session started"
    return TimelineEntry(t=t, type="session", label=label)


def aggregate(
    entries: Iterable[TimelineEntry], usage: Iterable[RunUsage], run_start: datetime
) -> Aggregates:
    """`entries` in timeline order (`t`, then arrival); `usage` of the run, any order."""
    ordered = list(entries)
    records = list(usage)
    burn_len = 0
    for entry in ordered:
        burn_len = max(burn_len, entry.t // BURN_BUCKET_S + 1)
    burn_index = [seconds_into_run(run_start, r.recorded_at) // BURN_BUCKET_S for r in records]
    if records:
        burn_len = max(burn_len, max(burn_index) + 1)
    burn = [0] * burn_len
    for index, record in zip(burn_index, records, strict=True):
        burn[index] += record.tokens
    priced = [r.cost_micros for r in records if r.cost_micros is not None]
    return Aggregates(
        files=_files(ordered),
        commits=_commits(ordered, run_start),
        token_burn=burn,
        token_usage=sum(r.tokens for r in records),
        cost_micros=sum(priced) if priced else None,
    )


def _files(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """One item per path, in order of first appearance: `new` when its first action
    created it, else `del` when its latest action deleted it, else `mod` (the order of
    the rules in API §8.4)."""
    files: dict[str, dict[str, Any]] = {}
    first: dict[str, str | None] = {}
    last: dict[str, str | None] = {}
    for entry in entries:
        if entry.type != "file":
            continue
        item = files.setdefault(entry.label, {"path": entry.label, "status": "mod",
                                              "ins": 0, "del": 0})  # fmt: skip
        first.setdefault(entry.label, entry.action)
        last[entry.label] = entry.action
        item["ins"] += entry.ins or 0
        item["del"] += entry.dels or 0
    for path, item in files.items():
        if first[path] == "created":
            item["status"] = "new"
        elif last[path] == "deleted":
            item["status"] = "del"
    return list(files.values())


def _commits(entries: list[TimelineEntry], run_start: datetime) -> list[dict[str, Any]]:
    """Git entries with a hash, newest first."""
    commits = [e for e in entries if e.type == "git" and e.hash]
    return [
        {
            "hash": e.hash[:7] if e.hash else "",
            "msg": e.label,
            "time": (run_start + timedelta(seconds=e.t)).strftime("%H:%M"),
        }
        for e in reversed(commits)
    ]


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(data: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        if _natural(data.get(name)):
            return int(data[name])
    return None


def _text(value: Any) -> str:
    return value.strip()[:MAX_LABEL] if isinstance(value, str) else ""
