"""Reading session logs: tails, filters, rotation, following, and size-independent cost."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from volundr.domain.errors import InvalidRequest
from volundr.domain.logs import LogQuery, parse_level
from volundr.host.logreader import read_log
from volundr.host.logwriter import LogWriter, rotated_path

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def write_lines(path: Path, count: int, *, max_bytes: int | None = None) -> LogWriter:
    writer = LogWriter(path, max_bytes)
    for i in range(1, count + 1):
        writer.write(LEVELS[i % 5], "agent" if i % 2 else "volundr.host", f"message {i}")
    return writer


def seqs(page_lines: list[dict[str, object]]) -> list[object]:
    return [line["seq"] for line in page_lines]


def test_the_tail_is_the_last_lines_oldest_first_with_exactly_the_contract_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.jsonl"
    write_lines(path, 250).write("ERROR", "volundr.provision", "boom", fatal=True)
    page = read_log(path, LogQuery(lines=3))
    assert page.total == 251 and page.last_seq == 251
    assert seqs(page.lines) == [249, 250, 251]
    last = page.lines[-1]
    assert set(last) == {"seq", "time", "timestamp", "level", "logger", "message"}
    assert last["message"] == "boom" and str(last["time"]).endswith("+00:00")


def test_level_is_a_minimum_and_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    write_lines(path, 100)
    page = read_log(path, LogQuery(lines=1000, min_level=parse_level("warn")))
    assert {line["level"] for line in page.lines} == {"WARNING", "ERROR", "CRITICAL"}
    assert len(page.lines) == 60 and page.total == 100
    assert parse_level("Error") == parse_level("ERROR") == 40
    with pytest.raises(InvalidRequest, match="Invalid level: loud"):
        parse_level("loud")


def test_since_keeps_lines_at_or_after_the_time(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    writer = write_lines(path, 5)
    cut = time.time()
    time.sleep(0.01)
    for i in range(3):
        writer.write("INFO", "agent", f"late {i}")
    page = read_log(path, LogQuery(lines=100, since=cut))
    assert [line["message"] for line in page.lines] == ["late 0", "late 1", "late 2"]


def test_an_empty_or_missing_log_is_an_empty_page(tmp_path: Path) -> None:
    assert read_log(tmp_path / "none.jsonl", LogQuery()).lines == []
    (tmp_path / "empty.jsonl").write_text("")
    page = read_log(tmp_path / "empty.jsonl", LogQuery())
    assert page.total == 0 and page.lines == [] and page.last_seq == 0


def test_torn_and_unterminated_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    write_lines(path, 3).close()
    with open(path, "a") as fh:
        fh.write('garbage\n{"seq": 4, "time": "half-writ')
    page = read_log(path, LogQuery())
    assert seqs(page.lines) == [1, 2, 3]
    after = read_log(path, LogQuery(after_seq=1))
    assert seqs(after.lines) == [2, 3] and after.last_seq == 3


def test_rotation_caps_the_log_and_drops_the_oldest_lines(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    cap = 20_000
    write_lines(path, 2000, max_bytes=cap).close()
    older = rotated_path(path)
    assert path.stat().st_size <= cap // 2 and older.stat().st_size <= cap // 2
    page = read_log(path, LogQuery(lines=2000))
    assert seqs(page.lines)[-1] == 2000
    assert seqs(page.lines) == list(range(2001 - len(page.lines), 2001))  # contiguous
    assert page.total == len(page.lines) < 2000
    # a writer restarted right after a rotation (no current file) continues the numbering
    path.replace(older)
    assert LogWriter(path, cap).write("INFO", "agent", "after") == 2001


def test_following_reads_after_a_seq_across_the_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    write_lines(path, 600, max_bytes=40_000).close()
    first = json.loads(rotated_path(path).read_text().splitlines()[0])["seq"]
    page = read_log(path, LogQuery(lines=50, after_seq=first + 10))
    assert seqs(page.lines) == list(range(first + 11, first + 61))
    assert page.last_seq == first + 60
    rest = read_log(path, LogQuery(lines=2000, after_seq=page.last_seq))
    assert seqs(rest.lines) == list(range(first + 61, 601))
    assert read_log(path, LogQuery(after_seq=600)).lines == []
    errors = read_log(path, LogQuery(lines=5, after_seq=first, min_level=40))
    assert all(line["level"] in ("ERROR", "CRITICAL") for line in errors.lines)
    assert len(errors.lines) == 5 and errors.last_seq == seqs(errors.lines)[-1]


def test_a_20_mb_log_is_tailed_in_well_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    line = {"seq": 0, "time": "2026-04-11T10:31:02.734000+00:00", "timestamp": 1775903462.734,
            "level": "INFO", "logger": "agent", "message": "x" * 150}
    with open(path, "w") as fh:
        seq = 0
        while fh.tell() < 20 * 1024 * 1024:
            seq += 1
            line["seq"] = seq
            fh.write(json.dumps(line) + "\n")
    started = time.perf_counter()
    page = read_log(path, LogQuery(lines=100))
    elapsed = time.perf_counter() - started
    assert seqs(page.lines) == list(range(seq - 99, seq + 1)) and page.total == seq
    assert elapsed < 0.3, f"tail of a 20 MB log took {elapsed:.3f} s"
    started = time.perf_counter()
    middle = read_log(path, LogQuery(lines=100, after_seq=seq // 2))
    assert seqs(middle.lines)[0] == seq // 2 + 1
    assert time.perf_counter() - started < 0.3
