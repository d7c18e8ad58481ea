"""Parsing `git diff --raw --numstat -z` output into file changes."""

from __future__ import annotations

from dataclasses import dataclass

from volundr.domain.diffs import FileChange

_STATUS = {"A": "added", "D": "deleted", "R": "renamed", "C": "added"}


@dataclass
class _Entry:
    path: str
    old_path: str | None
    status: str
    additions: int = 0
    deletions: int = 0
    binary: bool = False


def parse_raw_numstat(output: bytes) -> list[FileChange]:
    """File changes from `--raw --numstat -z` (all raw records first, then all numstat
    records), sorted by path. Unknown status letters (type changes …) read as `modified`."""
    tokens = output.decode("utf-8", errors="surrogateescape").split("\0")
    entries: list[_Entry] = []
    i = 0
    while i < len(tokens) and tokens[i].startswith(":"):
        letter = tokens[i].split(" ")[-1][:1]
        if letter in ("R", "C"):
            entries.append(_Entry(tokens[i + 2], tokens[i + 1] if letter == "R" else None,
                                  _STATUS[letter]))
            i += 3
        else:
            entries.append(_Entry(tokens[i + 1], None, _STATUS.get(letter, "modified")))
            i += 2
    for entry in entries:  # numstat records come in the same order
        if i >= len(tokens) or not tokens[i]:
            break
        added, deleted, path = tokens[i].split("\t", 2)
        i += 3 if path == "" else 1
        if added == "-":
            entry.binary = True
        else:
            entry.additions, entry.deletions = int(added), int(deleted)
    changes = [
        FileChange(
            path=_clean(e.path),
            status=e.status,
            additions=e.additions,
            deletions=e.deletions,
            binary=e.binary,
            old_path=_clean(e.old_path) if e.old_path is not None else None,
        )
        for e in entries
    ]
    changes.sort(key=lambda c: c.path)
    return changes


def _clean(path: str) -> str:
    """Paths that are not valid UTF-8 are shown with replacement characters."""
    return path.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
