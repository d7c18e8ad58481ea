"""Agent output lines as log lines: stream levels, unless a structured line states its own."""

from __future__ import annotations

import pytest

from volundr.host.agentlog import LogLine, agent_line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"level":"ERROR","message":"structured error line"}',
         LogLine("ERROR", "agent", "structured error line")),
        ('{"level": "warn", "msg": "low disk", "logger": "aider.io"}',
         LogLine("WARNING", "aider.io", "low disk")),
        ('  {"level":"Debug","message":"","extra":1}  ', LogLine("DEBUG", "agent", "")),
        ('{"level":"critical","message":"x","logger":""}', LogLine("CRITICAL", "agent", "x")),
    ],
)  # fmt: skip
def test_a_structured_line_is_logged_at_its_level_with_its_message(
    text: str, expected: LogLine
) -> None:
    assert agent_line(text, "INFO") == expected


@pytest.mark.parametrize(
    "text",
    [
        "plain output",
        '{"level":"loud","message":"x"}',  # not a level
        '{"level":"ERROR","message":42}',  # not a string message
        '{"level":"ERROR"}',
        '{"type":"assistant","message":{"content":[]}}',  # stream-json: no level
        '["level", "ERROR"]',
        '{"level":"ERROR","message":"cut …[truncated]',
    ],
)
def test_other_lines_keep_the_level_of_their_stream_and_are_logged_as_written(
    text: str,
) -> None:
    assert agent_line(text, "WARNING") == LogLine("WARNING", "agent", text)
