"""The JSON-lines session log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from volundr.host.logwriter import LogWriter, cut_line, last_fatal_message


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_carry_seq_utc_time_level_logger_and_extras(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "session.jsonl"
    writer = LogWriter(path)
    writer.write("INFO", "agent", "hello")
    writer.write("ERROR", "volundr.provision", "boom", fatal=True)
    writer.close()
    first, second = read(path)
    assert first["seq"] == 1 and second["seq"] == 2
    assert str(first["time"]).endswith("+00:00")
    parsed = datetime.fromisoformat(str(first["time"]))
    assert abs(parsed.timestamp() - float(first["timestamp"])) < 1e-3  # type: ignore[arg-type]
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "INFO", "logger": "agent", "message": "hello",
    }  # fmt: skip
    assert second["fatal"] is True and "fatal" not in first


def test_seq_continues_from_an_existing_file_even_after_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    writer = LogWriter(path)
    for i in range(3):
        writer.write("INFO", "agent", f"line {i}")
    writer.close()
    with open(path, "a") as fh:
        fh.write('{"seq": 4, "time": "tor')  # a crash mid-write
    writer = LogWriter(path)
    assert writer.write("INFO", "agent", "after restart") == 4
    writer.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["message"] == "after restart"


def test_cut_line_marks_truncation_and_never_splits_a_character() -> None:
    assert cut_line(b"short", 10) == "short"
    assert cut_line("é".encode() * 10, 5) == "éé …[truncated]"


def test_last_fatal_message_ignores_lines_before_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    writer = LogWriter(path)
    writer.write("ERROR", "volundr.provision", "old failure", fatal=True)
    offset = path.stat().st_size
    writer.write("INFO", "volundr.host", "stopping")
    writer.close()
    assert last_fatal_message(path) == "old failure"
    assert last_fatal_message(path, offset) is None
    assert last_fatal_message(tmp_path / "missing.jsonl") is None
