"""The Codex adapter on the recorded transcripts."""

from __future__ import annotations

from tests.agents.transcripts import RECORDED_CWD, codex_totals, lines
from volundr.host.agents.base import Activity, CheckHead, Emit, Output, Resume, Usage
from volundr.host.agents.codex import CodexAdapter


def replay(adapter: CodexAdapter, name: str) -> list[Output]:
    adapter.begin_turn()
    out: list[Output] = []
    for line in lines(name):
        out += adapter.feed(line)
    return out + adapter.end_turn(0)


def test_argv_for_a_new_and_a_resumed_thread() -> None:
    adapter = CodexAdapter(("codex",), RECORDED_CWD)
    assert adapter.argv("hi", "gpt-5-codex", None) == [
        "codex", "exec", "--json", "--model", "gpt-5-codex", "hi",
    ]  # fmt: skip
    assert adapter.argv("next", "", "t-1") == ["codex", "exec", "--json", "resume", "t-1", "next"]


def test_thread_events_map_to_session_events() -> None:
    adapter = CodexAdapter(("codex",), RECORDED_CWD)
    adapter.argv("p", "gpt-5-codex", None)
    out = replay(adapter, "codex_turn1")
    events = [(o.event_type, o.data.get("path") or o.data.get("exit_code"))
              for o in out if isinstance(o, Emit)]  # fmt: skip
    assert events == [
        ("message_assistant", None),
        ("tool_use", None),
        ("file_created", "greet.py"),
        ("tool_use", None),
        ("terminal_command", 2),
        ("tool_use", None),
        ("terminal_command", 0),
        ("message_assistant", None),
    ]
    assert sum(isinstance(o, CheckHead) for o in out) == 1
    assert [o.agent_session_id for o in out if isinstance(o, Resume)] == [
        "0199a213-81c0-7800-8aa1-bbab2a035a53"
    ]
    (usage,) = [o for o in out if isinstance(o, Usage)]
    assert (usage.tokens, usage.tokens_out) == codex_totals("codex_turn1")[0]
    assert (usage.model, usage.cost, usage.message_count) == ("gpt-5-codex", None, 2)
    assert [o.state for o in out if isinstance(o, Activity)][-1] == "idle"


def test_a_failed_turn_is_an_error() -> None:
    adapter = CodexAdapter(("codex",), RECORDED_CWD)
    adapter.begin_turn()
    out = adapter.feed(b'{"type":"turn.failed","error":{"message":"rate limited"}}')
    assert isinstance(out[0], Emit) and out[0].data == {"message": "rate limited"}
    assert adapter.feed(b"garbage") == [] and adapter.feed(b'{"type":"new.kind"}') == []
    assert adapter.end_turn(1) == [], "the failure was already reported"
