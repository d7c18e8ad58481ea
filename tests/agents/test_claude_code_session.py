"""A session running the fake Claude Code agent, end to end: real `volundr serve`, local
runtime, real host, real git. The transcript's own figures are the expected results."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.agents.helpers import LossyProxy, activity_states, agent_config, events, eventually
from tests.agents.transcripts import claude_totals
from tests.e2e.conftest import (
    ServerProcess,
    git,
    session_processes,
    wait_status,
)

TURN1_TYPES = [
    "session_start", "message_user", "message_assistant", "tool_use", "file_created",
    "tool_use", "file_modified", "tool_use", "terminal_command", "message_assistant",
    "tool_use", "terminal_command", "git_commit", "message_assistant", "token_usage",
    "token_usage",
]  # fmt: skip
TURN2_TYPES = [
    "message_user", "message_assistant", "tool_use", "file_created", "tool_use",
    "terminal_command", "git_commit", "message_assistant", "token_usage",
]  # fmt: skip

ServerFactory = Callable[[dict[str, object]], ServerProcess]


def create(api: httpx.Client, repo: Path, prompt: str = "Add a greet module") -> str:
    created = api.post("/sessions", json={
        "name": "greet", "initial_prompt": prompt, "model": "claude-sonnet-4-6",
        "source": {"repo": str(repo)},
    })  # fmt: skip
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    running = wait_status(api, sid, {"running", "failed"}, timeout=20)
    assert running["status"] == "running", running["error"]
    return sid


def settled(api: httpx.Client, sid: str, tokens: int) -> dict[str, Any]:
    """The session once its usage reached `tokens` and the agent is idle."""
    return dict(eventually(
        lambda: api.get(f"/sessions/{sid}").json(),
        lambda s: s["tokens_used"] >= tokens and s["activity_state"] == "idle",
    ))  # fmt: skip


def test_a_claude_code_session_becomes_events_usage_and_activity(
    server_factory: ServerFactory, git_repo: Path
) -> None:
    server = server_factory(agent_config())
    tokens1, cost1 = claude_totals("claude_turn1")
    with server.client() as api:
        sid = create(api, git_repo)
        session = settled(api, sid, tokens1)
        assert session["tokens_used"] == tokens1
        assert Decimal(str(session["cost"])) == cost1
        assert session["message_count"] == 6 + 1

        stored = events(api, sid)
        assert [e["event_type"] for e in stored] == TURN1_TYPES
        workspace = server.home / "sessions" / sid / "workspace"
        commit = next(e for e in stored if e["event_type"] == "git_commit")
        assert commit["data"]["hash"] == git("rev-parse", "HEAD", cwd=workspace)
        assert commit["data"]["message"] == "Add greet module"
        failed = next(e for e in stored if e["event_type"] == "terminal_command")
        assert failed["data"]["exit_code"] == 2
        created = next(e for e in stored if e["event_type"] == "file_created")
        assert (created["data"]["path"], created["data"]["insertions"]) == ("greet.py", 2)
        assert len({e["event_id"] for e in stored if e["event_id"]}) == len(stored) - 2

        counts = api.get(f"/sessions/{sid}/events/counts").json()
        expected = Counter(TURN1_TYPES)
        assert {k: v for k, v in counts.items() if k != "session_status"} == expected

        buckets = api.get(f"/sessions/{sid}/events/tokens", params={"bucket_seconds": 60}).json()
        assert sum(b["tokens_in"] + b["tokens_out"] for b in buckets) == tokens1
        assert sum(Decimal(str(b["cost"])) for b in buckets) == cost1

        states = activity_states(server.home, sid)
        assert states == ["active"] + ["tool_executing", "active"] * 4 + ["idle"]

        # A follow-up message resumes the same Claude session (the fake agent refuses others).
        sent = api.post(f"/sessions/{sid}/messages", json={"content": "Add a test for greet"})
        assert sent.status_code == 202, sent.text
        assert sent.json() == {"session_id": sid, "turn": 2}
        busy = api.post(f"/sessions/{sid}/messages", json={"content": "again"})
        assert busy.status_code in (202, 409)
        tokens, cost = claude_totals("claude_turn1", "claude_turn2")
        if busy.status_code == 409:
            assert busy.json() == {"detail": f"Agent of session {sid} is busy"}
        session = settled(api, sid, tokens)
        assert session["tokens_used"] == tokens and Decimal(str(session["cost"])) == cost
        stored = events(api, sid)
        assert [e["event_type"] for e in stored][len(TURN1_TYPES):] == TURN2_TYPES
        assert "error" not in {e["event_type"] for e in stored}
        assert (workspace / "tests" / "test_greet.py").exists()

        assert api.post(f"/sessions/{sid}/stop").status_code == 200
        assert session_processes(sid) == []
        final = [e["event_type"] for e in events(api, sid)]
        assert final[-1] == "session_stop"
        check_chronicle(api, sid, workspace, tokens)


def check_chronicle(api: httpx.Client, sid: str, workspace: Path, tokens: int) -> None:
    """The run's chronicle, field by field, against the transcripts and the real repo."""
    session = api.get(f"/sessions/{sid}").json()
    chronicle = api.get(f"/sessions/{sid}/chronicle").json()
    assert chronicle["status"] == "complete" and chronicle["end_reason"] is None
    assert chronicle["summary"] == "Added `tests/test_greet.py` and committed it."
    assert (chronicle["project"], chronicle["repo"], chronicle["branch"]) == (
        Path(session["repo"]).name, session["repo"], session["branch"],
    )  # fmt: skip
    test_lines = len((workspace / "tests" / "test_greet.py").read_text().splitlines())
    assert chronicle["files"] == [
        {"path": "greet.py", "status": "new", "ins": 2, "del": 0},
        {"path": "README.md", "status": "mod", "ins": 2, "del": 0},
        {"path": "tests/test_greet.py", "status": "new", "ins": test_lines, "del": 0},
    ]
    assert [(c["hash"], c["msg"]) for c in chronicle["commits"]] == [
        (git("rev-parse", "--short=7", "HEAD", cwd=workspace), "Test greet"),
        (git("rev-parse", "--short=7", "HEAD~1", cwd=workspace), "Add greet module"),
    ]
    assert chronicle["token_usage"] == sum(chronicle["token_burn"]) == tokens
    assert chronicle["cost"] == session["cost"]
    assert isinstance(chronicle["duration_seconds"], int)
    timeline = api.get(f"/chronicles/{sid}/timeline").json()
    assert [e["type"] for e in timeline["events"]] == [
        "session", "file", "file", "terminal", "terminal", "git", "file", "terminal", "git",
    ]  # fmt: skip
    assert [e["exit"] for e in timeline["events"] if e["type"] == "terminal"] == [2, 0, 0]


def test_totals_are_exact_when_every_report_is_retried(
    tmp_path: Path, git_repo: Path
) -> None:
    """A proxy loses the answer to every first attempt: each report arrives twice."""
    home = tmp_path / "home"
    home.mkdir()
    config_path = home / "volundr.yaml"
    server = ServerProcess(home=home, config=config_path)
    proxy = LossyProxy(server.port)
    config = agent_config(callback_url=f"http://127.0.0.1:{proxy.port}")
    config_path.write_text(yaml.safe_dump(config))
    server.start()
    try:
        tokens, cost = claude_totals("claude_turn1")
        with server.client() as api:
            sid = create(api, git_repo)
            session = settled(api, sid, tokens)
            time.sleep(0.5)  # let any late duplicate land
            session = api.get(f"/sessions/{sid}").json()
            assert session["tokens_used"] == tokens
            assert Decimal(str(session["cost"])) == cost
            assert [e["event_type"] for e in events(api, sid)] == TURN1_TYPES
            assert api.post(f"/sessions/{sid}/stop").status_code == 200
        assert proxy.dropped >= 10
    finally:
        server.stop()
        proxy.close()


def test_killing_the_api_mid_session_loses_and_duplicates_nothing(
    server_factory: ServerFactory, git_repo: Path
) -> None:
    server = server_factory(agent_config(delay=0.12))
    tokens, cost = claude_totals("claude_turn1")
    with server.client() as api:
        sid = create(api, git_repo)
    time.sleep(0.4)
    server.kill()
    spool = server.home / "sessions" / sid / "spool" / "queue.jsonl"
    eventually(lambda: spool.stat().st_size, lambda size: size > 0, timeout=5)
    time.sleep(1.0)  # the agent keeps working; the host spools and retries
    server.start()
    with server.client() as api:
        session = settled(api, sid, tokens)
        time.sleep(0.5)
        session = api.get(f"/sessions/{sid}").json()
        assert session["status"] == "running"
        assert session["tokens_used"] == tokens
        assert Decimal(str(session["cost"])) == cost
        stored = events(api, sid)
        assert [e["event_type"] for e in stored] == TURN1_TYPES
        assert api.post(f"/sessions/{sid}/stop").status_code == 200
    assert spool.stat().st_size == 0, "everything was delivered"
