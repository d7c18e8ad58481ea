"""The CLI over what the server records: messages, events, chronicles, workspaces, models and
stats (fake runtime: sessions run at once and accept messages)."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner

from tests.e2e.conftest import ServerProcess, wait_status
from volundr.cli import app

CATALOGUE = [
    {"id": "big", "name": "Big One", "provider": "cloud", "tier": "frontier",
     "color": "#7C3AED", "input_cost_per_million": 5, "output_cost_per_million": 25},
    {"id": "mid", "name": "Middle", "provider": "cloud", "tier": "balanced",
     "color": "#2563EB", "cost_per_million_tokens": 3},
    {"id": "home", "name": "At Home", "provider": "local", "tier": "execution",
     "color": "#F59E0B", "vram_required": "8GB"},
]  # fmt: skip


def _table_rows(output: str) -> list[list[str]]:
    return [[cell.strip() for cell in row.strip("│").split("│")]
            for row in output.splitlines() if row.startswith("│")]  # fmt: skip


def test_a_run_seen_through_messages_events_chronicle_workspaces_and_stats(
    server_factory: Callable[[dict[str, object]], ServerProcess],
) -> None:
    """One server for all (a server start costs more than every command together)."""
    server = server_factory({"runtime": {"kind": "fake"}, "models": CATALOGUE})
    runner = CliRunner(env={"VOLUNDR_SERVER": server.url})
    models = runner.invoke(app, ["models"])
    assert models.exit_code == 0, models.output
    assert _table_rows(models.stdout) == [
        ["big", "Big One", "cloud", "frontier", "$5.00 in, $25.00 out /M"],
        ["mid", "Middle", "cloud", "balanced", "$3.00/M"],
        ["home", "At Home", "local", "execution", "—"],
    ]
    created = runner.invoke(app, ["sessions", "create", "chatty", "--model", "mid", "--json"])
    sid = json.loads(created.stdout)["id"]
    with server.client() as api:
        wait_status(api, sid, {"running"})
        for tokens, model, provider in ((100_000, "mid", "cloud"), (1_234, "home", "local")):
            usage = {"tokens": tokens, "model": model, "provider": provider}
            assert api.post(f"/sessions/{sid}/usage", json=usage).status_code == 201
    stats = runner.invoke(app, ["stats"])
    assert stats.exit_code == 0, stats.output
    assert [line.strip() for line in stats.stdout.splitlines()] == [
        "active sessions 1",
        "total sessions 1",
        "tokens today 101,234 (cloud 100,000, local 1,234)",
        "cost today $0.30",
    ]

    sent = runner.invoke(app, ["sessions", "send", sid, "please add tests"])
    assert (sent.exit_code, sent.stdout) == (0, f"sent turn 1 to {sid}\n")
    transitions = runner.invoke(app, ["sessions", "events", sid, "--type", "session_status"])
    assert transitions.exit_code == 0, transitions.output
    assert [line.split()[1:] for line in transitions.stdout.splitlines()] == [
        ["session_status", '{"from":null,"to":"created","error":null}'],
        ["session_status", '{"from":"created","to":"starting","error":null}'],
        ["session_status", '{"from":"starting","to":"provisioning","error":null}'],
        ["session_status", '{"from":"provisioning","to":"running","error":null}'],
    ]
    first = runner.invoke(app, ["sessions", "events", sid, "--limit", "1", "--json"])
    assert [e["data"]["to"] for e in json.loads(first.stdout)] == ["created"]
    unknown = runner.invoke(app, ["sessions", "events", sid, "--type", "gossip"])
    assert (unknown.exit_code, unknown.stderr) == (1, "error: 422: Invalid event_type: gossip\n")
    no_chronicle = runner.invoke(app, ["sessions", "chronicle", sid])
    assert no_chronicle.exit_code == 1
    assert no_chronicle.stderr == f"error: 404: No chronicle found for session: {sid}\n"
    busy = runner.invoke(app, ["workspaces", "delete", sid])
    assert busy.exit_code == 1
    assert busy.stderr == (
        f"error: 409: Cannot delete workspace of session {sid}: session is running\n"
    )
    assert [sid, "active"] == _table_rows(runner.invoke(app, ["workspaces", "list"]).stdout)[0][:2]

    assert runner.invoke(app, ["sessions", "stop", sid]).exit_code == 0
    not_running = runner.invoke(app, ["sessions", "send", sid, "hello?"])
    assert not_running.exit_code == 1
    assert "Cannot send a message to session" in not_running.stderr
    chronicle = runner.invoke(app, ["sessions", "chronicle", sid])
    assert chronicle.exit_code == 0, chronicle.output
    assert "status complete" in chronicle.stdout and "project chatty" in chronicle.stdout
    assert "token_usage 101234" in chronicle.stdout and "cost $0.30" in chronicle.stdout
    deleted = runner.invoke(app, ["workspaces", "delete", sid])
    assert (deleted.exit_code, deleted.stdout) == (0, f"deleted the workspace of session {sid}\n")
    assert sid not in runner.invoke(app, ["workspaces", "list"]).stdout
    tombstones = runner.invoke(app, ["workspaces", "list", "--status", "deleted"])
    assert _table_rows(tombstones.stdout) == [[sid, "deleted", "—", "chatty"]]
    bad_status = runner.invoke(app, ["workspaces", "list", "--status", "gone"])
    assert bad_status.exit_code == 1
    assert "status: Input should be 'active', 'archived' or 'deleted'" in bad_status.stderr
