"""Logs, diffs and workspaces of real sessions: local runtime, session hosts, git, agents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.diff.helpers import git, make_origin
from volundr.runtime.local import LocalRuntime

WaitFor = Any
AGENT = """#!/bin/sh
run=$(cat .run 2>/dev/null || echo 0); run=$((run + 1)); echo $run > .run
echo "run $run" > "run-$run.txt"
git add "run-$run.txt" && git commit --quiet -m "agent run $run"
echo "edited in run $run" >> README.md
echo "agent says hello"
echo "agent complains" >&2
touch .done-$run
exec sleep 600
"""


@pytest.fixture
async def live(
    live_server: LiveServerFactory, tmp_path: Path, git_env: dict[str, str]
) -> LiveServer:
    agent = tmp_path / "agent.sh"
    agent.write_text(AGENT)
    agent.chmod(0o755)
    home = tmp_path / "volundr-home"
    runtime = LocalRuntime(sessions_dir=home / "sessions", stop_grace_s=0.5)
    return await live_server(
        runtime=runtime, home=home,
        agents={"default": "script",
                "templates": {"script": {"kind": "command", "command": [str(agent)]}}},
        runtime_settings={"stop_grace_s": 0.5, "health_interval_s": 60},
    )  # fmt: skip


async def wait_file(path: Path, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    for _ in range(int(timeout / 0.02)):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"{path} never appeared")


async def files(live: LiveServer, sid: str, base: str) -> list[str]:
    response = await live.api.get(f"/sessions/{sid}/diff/files", params={"base": base})
    assert response.status_code == 200, response.text
    return [f["path"] for f in response.json()["files"]]


async def messages(live: LiveServer, sid: str) -> list[tuple[str, str, str]]:
    body = (await live.api.get(f"/sessions/{sid}/logs", params={"lines": 2000})).json()
    return [(ln["level"], ln["logger"], ln["message"]) for ln in body["lines"]]


async def test_a_session_diffs_logs_and_workspace_across_runs(
    live: LiveServer, tmp_path: Path, wait_for_status: WaitFor
) -> None:
    origin = make_origin(tmp_path / "origin", {"README.md": "hello\n"}, default="master",
                         branches=("feature/a/b",))
    created = await live.api.post("/sessions", json={"name": "real",
                                                     "source": {"repo": str(origin)}})
    sid = created.json()["id"]
    await wait_for_status(live.api, sid, "running", timeout=15)
    workspace = live.settings.sessions_dir / sid / "workspace"
    await wait_file(workspace / ".done-1")

    assert await files(live, sid, "start") == [".done-1", ".run", "README.md", "run-1.txt"]
    assert await files(live, sid, "last-commit") == [".done-1", ".run", "README.md"]
    assert "feature_a_b.txt" not in await files(live, sid, "default-branch")
    logged = await messages(live, sid)
    assert any(lg == "volundr.provision" and m.startswith("cloning ") for _, lg, m in logged)
    assert ("INFO", "agent", "agent says hello") in logged
    assert ("WARNING", "agent", "agent complains") in logged
    assert any("agent script started" in m for _, _, m in logged)

    assert (await live.api.post(f"/sessions/{sid}/stop")).status_code == 200
    assert await files(live, sid, "start") == [".done-1", ".run", "README.md", "run-1.txt"]
    ws = (await live.api.get(f"/workspaces/{sid}")).json()
    assert ws["status"] == "archived" and ws["path"] == str(workspace)

    # a restart reuses the workspace: the work of run 1 is kept, `start` still covers it
    await live.api.post(f"/sessions/{sid}/start")
    await wait_for_status(live.api, sid, "running", timeout=15)
    await wait_file(workspace / ".done-2")
    assert "run-1.txt" in await files(live, sid, "start")
    assert "run-2.txt" in await files(live, sid, "start")
    assert any(m == "reusing the existing workspace" for _, _, m in await messages(live, sid))
    await live.api.post(f"/sessions/{sid}/stop")

    # a deleted workspace is cloned afresh at the next start
    assert (await live.api.delete(f"/workspaces/{sid}")).status_code == 204
    assert not workspace.exists()
    await live.api.post(f"/sessions/{sid}/start")
    await wait_for_status(live.api, sid, "running", timeout=15)
    await wait_file(workspace / ".done-1")
    assert await files(live, sid, "start") == [".done-1", ".run", "README.md", "run-1.txt"]
    assert git(workspace, "log", "--format=%s") == "agent run 1\ninitial"
    await live.api.post(f"/sessions/{sid}/stop")


FLOOD = """#!/bin/sh
head -c 20000000 /dev/zero | tr '\\0' 'x' | fold -w 200
echo
echo "flood done"
touch .flooded
exec sleep 600
"""


async def test_a_flooding_agent_is_capped_and_its_log_stays_fast_to_read(
    live_server: LiveServerFactory, tmp_path: Path, git_env: dict[str, str],
    wait_for_status: WaitFor,
) -> None:
    agent = tmp_path / "flood.sh"
    agent.write_text(FLOOD)
    agent.chmod(0o755)
    home = tmp_path / "volundr-home"
    cap = 2_000_000
    live = await live_server(
        runtime=LocalRuntime(sessions_dir=home / "sessions", stop_grace_s=0.5,
                             max_log_bytes=cap),
        home=home,
        agents={"default": "flood",
                "templates": {"flood": {"kind": "command", "command": [str(agent)]}}},
        runtime_settings={"stop_grace_s": 0.5, "health_interval_s": 60},
    )  # fmt: skip
    sid = (await live.api.post("/sessions", json={"name": "flood"})).json()["id"]
    await wait_for_status(live.api, sid, "running", timeout=15)
    logs = live.settings.sessions_dir / sid / "logs"
    loop = asyncio.get_running_loop()
    while not await asyncio.to_thread((live.settings.sessions_dir / sid / "workspace"
                                       / ".flooded").exists):
        started = loop.time()
        assert (await live.api.get(f"/sessions/{sid}")).status_code == 200
        assert loop.time() - started < 2.0, "the API stalled during the flood"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # let the host write the last lines
    sizes = [(logs / name).stat().st_size for name in ("session.jsonl", "session.jsonl.1")]
    assert all(size <= cap // 2 for size in sizes), sizes
    started = loop.time()
    body = (await live.api.get(f"/sessions/{sid}/logs", params={"lines": 100})).json()
    assert loop.time() - started < 1.0  # generous: other tests may share the machine
    assert body["returned"] == 100 and body["lines"][-1]["message"] == "flood done"
    assert body["total"] < 100_000 < body["lines"][-1]["seq"]  # the oldest were dropped
    assert body["session_status"] == "running"
    await live.api.post(f"/sessions/{sid}/stop")
