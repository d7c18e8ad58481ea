"""Chronicle rules (API §8.4): event translation, files, commits, token burn, project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from volundr.domain.chronicles import (
    Chronicle,
    ChronicleReport,
    ChronicleStatus,
    RunUsage,
    TimelineEntry,
    aggregate,
    project_name,
    translate,
)

START = datetime(2026, 4, 11, 10, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def file(t: int, path: str, action: str, ins: int | None = None, dels: int | None = None
         ) -> TimelineEntry:  # fmt: skip
    return TimelineEntry(t=t, type="file", label=path, action=action, ins=ins, dels=dels)


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        ("file_created", {"path": "a.py", "insertions": 3, "deletions": 0},
         TimelineEntry(t=12, type="file", label="a.py", action="created", ins=3, dels=0)),
        ("file_modified", {"label": "b.py", "ins": 1, "del": 2},
         TimelineEntry(t=12, type="file", label="b.py", action="modified", ins=1, dels=2)),
        ("file_deleted", {"path": "c.py"},
         TimelineEntry(t=12, type="file", label="c.py", action="deleted")),
        ("git_commit", {"hash": "0123456789abcdef", "message": "Add a"},
         TimelineEntry(t=12, type="git", label="Add a", hash="0123456789abcdef")),
        ("terminal_command", {"command": "pytest", "exit_code": 1},
         TimelineEntry(t=12, type="terminal", label="pytest", exit=1)),
        ("terminal_command", {"label": "make", "exit": 0},
         TimelineEntry(t=12, type="terminal", label="make", exit=0)),
        ("error", {"message": "boom"}, TimelineEntry(t=12, type="error", label="boom")),
        ("session_start", {}, TimelineEntry(t=12, type="session", label="Session started")),
        ("file_created", {"path": "a.py", "t": 99},
         TimelineEntry(t=99, type="file", label="a.py", action="created")),
    ],
)  # fmt: skip
def test_events_translate_to_timeline_entries(
    event_type: str, data: dict[str, object], expected: TimelineEntry
) -> None:
    assert translate(event_type, data, at(12.7), START) == expected


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("message_assistant", {"content_preview": "hi"}),
        ("tool_use", {"tool": "Read"}),
        ("token_usage", {}),
        ("file_created", {}),  # nothing to label it with
        ("terminal_command", {"exit_code": 0}),
    ],
)
def test_other_events_are_not_timeline_entries(event_type: str, data: dict[str, object]) -> None:
    assert translate(event_type, data, at(1), START) is None


def test_an_event_before_the_run_start_is_at_zero_and_a_bad_t_is_ignored() -> None:
    assert translate("error", {"message": "x"}, at(-30), START) == TimelineEntry(0, "error", "x")
    for bad in (-1, "5", 1.5, True):
        entry = translate("error", {"message": "x", "t": bad}, at(7), START)
        assert entry is not None and entry.t == 7


def test_files_are_one_per_path_with_summed_counts_and_status_from_their_actions() -> None:
    entries = [
        file(1, "new.py", "created", 10, 0),
        file(2, "old.py", "modified", 2, 1),
        file(3, "new.py", "modified", 5, 3),
        file(4, "gone.py", "modified", 1, 1),
        file(5, "gone.py", "deleted", 0, 7),
        file(6, "back.py", "deleted"),
        file(7, "back.py", "modified", 4, None),
    ]
    assert aggregate(entries, [], START).files == [
        {"path": "new.py", "status": "new", "ins": 15, "del": 3},
        {"path": "old.py", "status": "mod", "ins": 2, "del": 1},
        {"path": "gone.py", "status": "del", "ins": 1, "del": 8},
        {"path": "back.py", "status": "mod", "ins": 4, "del": 0},
    ]


def test_commits_are_newest_first_with_short_hash_and_wall_clock_time() -> None:
    entries = [
        TimelineEntry(t=60, type="git", label="first", hash="aaaaaaaaaa"),
        TimelineEntry(t=90, type="git", label="no hash"),
        TimelineEntry(t=3600, type="git", label="second", hash="bbbbbbbbbb"),
    ]
    assert aggregate(entries, [], START).commits == [
        {"hash": "bbbbbbb", "msg": "second", "time": "11:30"},
        {"hash": "aaaaaaa", "msg": "first", "time": "10:31"},
    ]


def test_token_burn_is_dense_five_minute_buckets_up_to_the_last_usage_or_entry() -> None:
    usage = [RunUsage(at(10), 100, 1), RunUsage(at(299), 50, None), RunUsage(at(900), 7, 2)]
    totals = aggregate([TimelineEntry(t=1300, type="error", label="x")], usage, START)
    assert totals.token_burn == [150, 0, 0, 7, 0]
    assert totals.token_usage == 157
    assert totals.cost_micros == 3
    assert aggregate([], [RunUsage(at(1), 5, None)], START).cost_micros is None
    assert aggregate([], [], START).token_burn == []


@pytest.mark.parametrize(
    ("repo", "project"),
    [
        ("https://example.com/acme/backend.git", "backend"),
        ("git@example.com:acme/tool.git", "tool"),
        ("git@example.com:tool.git", "tool"),
        ("/srv/repos/app/", "app"),
        ("", "my-session"),
    ],
)
def test_project_is_the_last_repo_segment_or_the_session_name(repo: str, project: str) -> None:
    assert project_name(repo, "my-session") == project


def test_a_report_overwrites_given_fields_and_a_repeat_changes_nothing() -> None:
    chronicle = Chronicle(
        id="c", session_id="s", origin_session_id="s", owner_id="o", tenant_id="t",
        status=ChronicleStatus.DRAFT, project="p", repo="", branch="", model="",
        config_snapshot={}, run_started_at=START, created_at=START, updated_at=START,
    )  # fmt: skip
    report = ChronicleReport(summary="did it", key_changes=["a"], duration_seconds=42)
    assert report.apply(chronicle) is True
    assert (chronicle.summary, chronicle.key_changes, chronicle.unfinished_work) == (
        "did it", ["a"], None,
    )  # fmt: skip
    assert report.apply(chronicle) is False
    assert ChronicleReport(unfinished_work="tests").apply(chronicle) is True
    assert chronicle.summary == "did it", "a null field keeps what was there"
    assert chronicle.run_duration() == 42
