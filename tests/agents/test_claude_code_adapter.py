"""The Claude Code adapter on the recorded transcripts: events, usage, activity, resume."""

from __future__ import annotations

from decimal import Decimal

from tests.agents.transcripts import RECORDED_CWD, claude_totals, lines
from volundr.host.agents.base import Activity, CheckHead, Emit, Output, Resume, Usage
from volundr.host.agents.claude_code import ClaudeCodeAdapter

SESSION = "5c2f0a8e-3d1b-4a6e-9c0f-7b2d4e6a8c10"


def replay(adapter: ClaudeCodeAdapter, name: str, exit_code: int = 0) -> list[Output]:
    adapter.begin_turn()
    out: list[Output] = []
    for line in lines(name):
        out += adapter.feed(line)
    return out + adapter.end_turn(exit_code)


def test_argv_appends_the_flags_to_the_prefix() -> None:
    adapter = ClaudeCodeAdapter(("npx", "claude"), RECORDED_CWD)
    assert adapter.argv("hi", "m", None) == [
        "npx", "claude", "-p", "hi", "--output-format", "stream-json", "--verbose", "--model", "m",
    ]  # fmt: skip
    assert adapter.argv("hi", "", "sid")[-2:] == ["--resume", "sid"]
    assert adapter.argv("--help me", "", None)[3] == " --help me", "never read as a flag"


def test_the_first_turn_becomes_events_in_order() -> None:
    out = replay(ClaudeCodeAdapter(("claude",), RECORDED_CWD), "claude_turn1")
    events = [(o.event_type, o.data.get("tool") or o.data.get("path")) for o in out
              if isinstance(o, Emit)]  # fmt: skip
    assert events == [
        ("message_assistant", None),
        ("tool_use", "Write"),
        ("file_created", "Write"),
        ("tool_use", "Edit"),
        ("file_modified", "Edit"),
        ("tool_use", "Bash"),
        ("terminal_command", None),
        ("message_assistant", None),
        ("tool_use", "Bash"),
        ("terminal_command", None),
        ("message_assistant", None),
    ]
    by_type = {o.event_type: o for o in out if isinstance(o, Emit)}
    assert by_type["file_created"].data == {
        "path": "greet.py", "tool": "Write", "insertions": 2, "deletions": 0,
    }  # fmt: skip
    assert by_type["file_modified"].data["path"] == "README.md"
    assert (by_type["file_modified"].data["insertions"],
            by_type["file_modified"].data["deletions"]) == (2, 0)  # fmt: skip
    commands = [o.data for o in out if isinstance(o, Emit) and o.event_type == "terminal_command"]
    assert [(c["command"], c["exit_code"]) for c in commands] == [
        ("ls tests/test_greet.py", 2),
        ('git add greet.py README.md && git commit -q -m "Add greet module"', 0),
    ]
    assert sum(isinstance(o, CheckHead) for o in out) == 1, "the commit is confirmed from HEAD"
    first = next(o for o in out if isinstance(o, Emit))
    assert (first.tokens_in, first.tokens_out, first.model) == (
        4 + 5120 + 11240, 38, "claude-sonnet-4-6"
    )
    assert first.data["content_length"] == len(first.data["content_preview"])


def test_results_become_one_usage_report_per_model() -> None:
    out = replay(ClaudeCodeAdapter(("claude",), RECORDED_CWD), "claude_turn1")
    usage = [o for o in out if isinstance(o, Usage)]
    assert [(u.model, u.tokens_in, u.tokens_out, u.cost) for u in usage] == [
        ("claude-sonnet-4-6", 31 + 61530 + 9876, 812, Decimal("0.067767")),
        ("claude-haiku-4-5-20251001", 1420, 96, Decimal("0.0019")),
    ]
    assert [u.message_count for u in usage] == [6, 1]
    assert len({u.key for u in usage}) == 2
    tokens, cost = claude_totals("claude_turn1")
    assert sum(u.tokens for u in usage) == tokens
    assert sum((u.cost or Decimal(0)) for u in usage) == cost


def test_activity_follows_tools_and_ends_idle() -> None:
    out = replay(ClaudeCodeAdapter(("claude",), RECORDED_CWD), "claude_turn1")
    states = [o.state for o in out if isinstance(o, Activity)]
    assert states == ["tool_executing", "active"] * 4 + ["idle"]


def test_the_agent_session_id_is_kept_for_resume() -> None:
    adapter = ClaudeCodeAdapter(("claude",), RECORDED_CWD)
    out = replay(adapter, "claude_turn1") + replay(adapter, "claude_turn2")
    assert {o.agent_session_id for o in out if isinstance(o, Resume)} == {SESSION}


def test_unknown_and_malformed_lines_are_skipped() -> None:
    adapter = ClaudeCodeAdapter(("claude",), RECORDED_CWD)
    adapter.begin_turn()
    for line in (b"not json", b"[1, 2]", b'{"type": "mystery"}', b"",
                 b'{"type": "assistant", "message": {"content": "oops"}}',
                 b'{"type": "user", "message": {"content": [{"type": "tool_result"}]}}',
                 b'{"type": "result", "modelUsage": {"m": "bad"}}'):  # fmt: skip
        adapter.feed(line)
    assert adapter.end_turn(0) == []


def test_a_turn_without_result_that_fails_is_an_error() -> None:
    adapter = ClaudeCodeAdapter(("claude",), RECORDED_CWD)
    adapter.begin_turn()
    (error,) = adapter.end_turn(1)
    assert isinstance(error, Emit) and error.event_type == "error"
    assert error.data["exit_code"] == 1


def test_an_error_result_is_reported() -> None:
    adapter = ClaudeCodeAdapter(("claude",), RECORDED_CWD)
    adapter.begin_turn()
    out = adapter.feed(
        b'{"type":"result","subtype":"error_max_turns","is_error":true,"session_id":"s",'
        b'"num_turns":30,"modelUsage":{"claude-opus-4-6":{"inputTokens":10,"outputTokens":5,'
        b'"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.000525}}}'
    )
    errors = [o for o in out if isinstance(o, Emit) and o.event_type == "error"]
    assert errors[0].data["subtype"] == "error_max_turns"
    (usage,) = [o for o in out if isinstance(o, Usage)]
    assert (usage.tokens, usage.cost) == (15, Decimal("0.000525"))


def test_malformed_assistant_lines_count_for_nothing() -> None:
    adapter = ClaudeCodeAdapter(("claude",), RECORDED_CWD)
    adapter.begin_turn()
    malformed = [
        b'{"type":"assistant","message":{"content":"notalist"}}',
        b'{"type":"assistant","message":{"model":"m","content":"notalist"}}',
        b'{"type":"assistant","message":"notanobject"}',
        b'{"type":"assistant","message":{"id":"m1","model":"m","content":[1,{"no":"type"}]}}',
        b'{"type":"assistant","message":{"id":"m2","model":"m","content":[]}}',
        b'{"type":"assistant"}',
    ]
    assert [adapter.feed(line) for line in malformed] == [[]] * len(malformed)
    well_formed = (
        b'{"type":"assistant","message":{"id":"m3","model":"m",'
        b'"content":[{"type":"text","text":"hi"}]}}'
    )
    assert [o.event_type for o in adapter.feed(well_formed) if isinstance(o, Emit)] == [
        "message_assistant"
    ]
    (usage,) = [o for o in adapter.feed(
        b'{"type":"result","uuid":"r","modelUsage":{"m":{"inputTokens":1,"outputTokens":1}}}'
    ) if isinstance(o, Usage)]  # fmt: skip
    assert usage.message_count == 1, "only the well-formed message counts"
