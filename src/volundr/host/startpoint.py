"""The start point of a session's workspace: `<session dir>/start.json`.

Written by the host once the workspace is prepared, read for `base=start` diffs. Kept across
restarts on the same branch (so `start` shows everything the session did, commits
included); re-recorded when a start checks out another branch. Removed with the workspace.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from volundr.domain.diffs import StartPoint

FILE_NAME = "start.json"


def start_path(session_dir: Path) -> Path:
    return session_dir / FILE_NAME


def read_start(session_dir: Path) -> StartPoint | None:
    """The recorded start point, None when none was recorded (or the file is unreadable)."""
    try:
        raw = json.loads(start_path(session_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    branch, sha = raw.get("branch"), raw.get("sha")
    return StartPoint(
        branch if isinstance(branch, str) else None, sha if isinstance(sha, str) else None
    )


def record_start(session_dir: Path, branch: str | None, sha: str | None) -> StartPoint:
    """Record (branch, sha) unless a record for the same branch exists; returns the record
    in force. Written atomically (temporary file, then rename)."""
    current = read_start(session_dir)
    if current is not None and current.branch == branch:
        return current
    point = StartPoint(branch, sha)
    target = start_path(session_dir)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"branch": branch, "sha": sha}), encoding="utf-8")
    os.replace(tmp, target)
    return point
