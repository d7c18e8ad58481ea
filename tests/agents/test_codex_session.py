"""A session running the fake Codex agent end to end; Codex reports no cost, so the server
prices its usage from the configured catalogue."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from tests.agents.helpers import agent_config, events, eventually
from tests.agents.transcripts import codex_totals
from tests.e2e.conftest import (
    ServerProcess,
    git,
    wait_status,
)

CATALOGUE = [{"id": "gpt-5-codex", "name": "GPT-5 Codex", "provider": "cloud",
              "tier": "frontier", "color": "#10A37F", "cost_per_million_tokens": 5,
              "input_cost_per_million": 1.25, "output_cost_per_million": 10}]  # fmt: skip


def priced(tokens: int, tokens_out: int) -> Decimal:
    raw = (Decimal(tokens_out) * 10 + Decimal(tokens - tokens_out) * Decimal("1.25")) / 10**6
    return raw.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def test_a_codex_session_is_reported_and_priced(
    server_factory: Callable[[dict[str, object]], ServerProcess], git_repo: Path
) -> None:
    server = server_factory(agent_config("codex", models=CATALOGUE))
    turns = codex_totals("codex_turn1", "codex_turn2")
    with server.client() as api:
        created = api.post("/sessions", json={
            "name": "greet", "initial_prompt": "Add a greet module", "model": "gpt-5-codex",
            "source": {"repo": str(git_repo)},
        })  # fmt: skip
        sid = created.json()["id"]
        assert wait_status(api, sid, {"running", "failed"}, timeout=20)["status"] == "running"
        eventually(lambda: api.get(f"/sessions/{sid}").json(),
                   lambda s: s["tokens_used"] == turns[0][0] and s["activity_state"] == "idle")
        sent = api.post(f"/sessions/{sid}/messages", json={"content": "Add a test"})
        assert sent.status_code == 202 and sent.json()["turn"] == 2
        total = sum(t for t, _ in turns)
        session = eventually(lambda: api.get(f"/sessions/{sid}").json(),
                             lambda s: s["tokens_used"] == total and s["activity_state"] == "idle")
        assert Decimal(str(session["cost"])) == sum(priced(*t) for t in turns)
        types = [e["event_type"] for e in events(api, sid)]
        assert types.count("git_commit") == 2 and types.count("file_created") == 2
        assert types.count("token_usage") == 2 and "error" not in types
        workspace = server.home / "sessions" / sid / "workspace"
        hashes = [e["data"]["hash"] for e in events(api, sid) if e["event_type"] == "git_commit"]
        assert hashes == git("log", "--format=%H", "-2", "--reverse", cwd=workspace).split()
        assert api.post(f"/sessions/{sid}/stop").status_code == 200
