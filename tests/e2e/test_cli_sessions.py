"""The CLI reading a local session: its log (snapshot, followed live, Ctrl-C) and its diff."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.conftest import ServerProcess, wait_status
from volundr.cli import app

RUN_AGENT = """\
echo "greeting=$GREETING"
echo "careful now" >&2
echo "changed by the agent" >> README.md
echo "new" > NEW.txt
sleep 0.5
echo "agent done"
"""
LOG_LINE = re.compile(r"^\S+\+00:00 (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ .*$")


def _config(agent: Path) -> dict[str, object]:
    return {
        "agents": {
            "default": "script",
            "templates": {"script": {"kind": "command", "command": [str(agent)],
                                     "stop_on_exit": True}},
        },
        "runtime": {"stop_grace_s": 1, "stop_timeout_s": 10, "health_interval_s": 0.2},
    }  # fmt: skip


def test_follow_prints_the_run_until_it_ends_and_diff_shows_its_changes(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script(RUN_AGENT)))
    runner = CliRunner(env={"VOLUNDR_SERVER": server.url})
    created = runner.invoke(app, [
        "sessions", "create", "cli-run", "--repo", str(git_repo), "--branch", "feature/cli",
        "--base-branch", "main", "--env", "GREETING=hello=world", "--json",
    ])  # fmt: skip
    assert created.exit_code == 0, created.output
    sid = json.loads(created.stdout)["id"]

    followed = runner.invoke(app, ["sessions", "logs", sid, "--follow"])
    assert followed.exit_code == 0, followed.output
    lines = followed.stdout.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), lines
    messages = [line.split(" ", 3)[1:] for line in lines]
    assert ["INFO", "agent", "greeting=hello=world"] in messages
    assert ["WARNING", "agent", "careful now"] in messages
    assert messages.index(["INFO", "agent", "agent done"]) > messages.index(
        ["INFO", "agent", "greeting=hello=world"]
    )
    assert any("feature/cli not found: creating it from main" in line for line in lines)
    assert followed.stderr == "session stopped: end of log\n"
    unknown = str(uuid.uuid4())
    missing = runner.invoke(app, ["sessions", "logs", unknown, "--follow"])
    assert (missing.exit_code, missing.stderr) == (1, f"error: 404: Session not found: {unknown}\n")

    warnings = runner.invoke(app, ["sessions", "logs", sid, "--level", "warning"])
    assert warnings.exit_code == 0, warnings.output
    assert warnings.stdout.splitlines() == [line for line in lines if " WARNING " in line]
    last = runner.invoke(app, ["sessions", "logs", sid, "--lines", "1"])
    assert last.stdout.splitlines() == lines[-1:]
    bad_level = runner.invoke(app, ["sessions", "logs", sid, "--level", "loud"])
    assert bad_level.exit_code == 1
    assert "error: 422: Invalid level: loud" in bad_level.stderr

    text = runner.invoke(app, ["sessions", "diff", sid])
    assert text.exit_code == 0, text.output
    assert "+++ b/NEW.txt\n@@ -0,0 +1 @@\n+new\n" in text.stdout
    assert " hello\n+changed by the agent\n" in text.stdout
    one = runner.invoke(app, ["sessions", "diff", sid, "--path", "README.md", "--base", "start"])
    assert "+changed by the agent" in one.stdout and "NEW.txt" not in one.stdout
    files = runner.invoke(app, ["sessions", "diff", sid, "--files"])
    assert files.exit_code == 0, files.output
    rows = [re.split(r"\s*│\s*", row.strip("│ ")) for row in files.stdout.splitlines()]
    assert ["added", "1", "0", "NEW.txt"] in rows
    assert ["modified", "1", "0", "README.md"] in rows
    bad_base = runner.invoke(app, ["sessions", "diff", sid, "--base", "yesterday"])
    assert bad_base.exit_code == 2


def test_ctrl_c_ends_a_follow_with_status_130_and_no_traceback(
    server_factory: Callable[[dict[str, object]], ServerProcess],
    git_repo: Path,
    agent_script: Callable[[str], Path],
) -> None:
    server = server_factory(_config(agent_script('echo "agent waiting"\nexec sleep 600\n')))
    with server.client() as api:
        sid = api.post("/sessions", json={"name": "idle", "source": {"repo": str(git_repo)}}
                       ).json()["id"]  # fmt: skip
        wait_status(api, sid, {"running"})
        follower = subprocess.Popen(
            [sys.executable, "-m", "volundr", "sessions", "logs", sid, "-f", "--server",
             server.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert follower.stdout is not None
        for line in follower.stdout:
            if line.endswith(" INFO agent agent waiting\n"):
                break
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=10)
        assert follower.returncode == 130
        assert stderr == ""
        assert api.post(f"/sessions/{sid}/stop").json()["status"] == "stopped"
