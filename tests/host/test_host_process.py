"""The session host as a real process (started through the local runtime): readiness,
/health, callbacks, agent start and capture, failures and the session log."""

from __future__ import annotations

import asyncio
import hashlib
import json
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from volundr.domain.logs import LEVELS, LogQuery
from volundr.domain.models import AgentTemplate
from volundr.ports import Phase, RuntimeStatus


def read_log(state: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(state["session_dir"]) / "logs" / "session.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def agent(*argv: str, kind: str = "command") -> AgentTemplate:
    return AgentTemplate(name="test-agent", kind=kind, command=argv)


async def health(state: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"http://127.0.0.1:{state['port']}/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def log_lines(state: dict[str, Any], count: int, logger: str = "agent") -> list[Any]:
    for _ in range(250):
        lines = [line for line in read_log(state) if line["logger"] == logger]
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} {logger} lines, got {read_log(state)}")


async def eventually_read(path: Path) -> str:
    """The file's text once it exists (the agent writes it shortly after start)."""
    for _ in range(250):
        text = _read_if_exists(path)
        if text is not None:
            return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def _read_if_exists(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def failed(status: RuntimeStatus) -> bool:
    return status.phase in (Phase.FAILED, Phase.GONE)


@dataclass
class Callbacks:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    async def wait(self, count: int) -> list[dict[str, Any]]:
        """The runtime reports (`…/runtime/report`) once there are `count` of them."""
        for _ in range(250):
            reports = [c for c in self.received if c["path"].endswith("/runtime/report")]
            if len(reports) >= count:
                return reports
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} callbacks, got {self.received}")


@pytest.fixture
async def callbacks() -> AsyncIterator[Callbacks]:
    """A tiny API stand-in recording the host's POSTs (path, headers, JSON body)."""
    box = Callbacks(url="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, path, _ = head[0].split(" ")
        headers = {
            k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        box.received.append(
            {"method": method, "path": path, "headers": headers, "body": json.loads(body)}
        )
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    box.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield box
    server.close()
    await server.wait_closed()


async def test_host_clones_a_local_repo_and_becomes_ready(make_repo, run_git, launch, wait_for):
    origin = make_repo()
    state = await launch(repo=str(origin))
    status = await wait_for(state)
    assert status.phase == Phase.READY and status.branch == "master"
    body = await health(state)
    assert set(body) == {"status", "error", "branch", "agent"}
    assert body["status"] == "ready" and body["error"] is None
    assert isinstance(body["agent"]["pid"], int) and body["agent"]["exit_code"] is None
    messages = [
        line["message"] for line in read_log(state) if line["logger"] == "volundr.provision"
    ]
    sha = run_git(origin, "rev-parse", "master")
    assert messages == [f"cloning {origin} …", f"checked out master at {sha}"]


async def test_empty_repo_value_starts_from_an_empty_repository(launch, wait_for):
    state = await launch(repo="", branch="main")
    status = await wait_for(state)
    assert (status.phase, status.branch) == (Phase.READY, "main")
    assert (Path(state["workspace"]) / ".git").is_dir()


async def test_unknown_paths_are_404_and_other_methods_405(launch, wait_for):
    state = await launch()
    await wait_for(state)
    async with httpx.AsyncClient(trust_env=False) as client:
        base = f"http://127.0.0.1:{state['port']}"
        assert (await client.get(f"{base}/nope")).status_code == 404
        assert (await client.post(f"{base}/health")).status_code == 405


async def test_ready_is_reported_with_the_session_token(make_repo, launch, wait_for, callbacks):
    state = await launch(repo=str(make_repo()), callback_url=callbacks.url, token="tok-123")
    await wait_for(state)
    (call,) = await callbacks.wait(1)
    assert call["method"] == "POST"
    assert call["path"] == f"/api/v1/volundr/sessions/{state['session_id']}/runtime/report"
    assert call["headers"]["authorization"] == "Bearer tok-123"
    assert call["body"] == {"phase": "ready", "error": None, "branch": "master", "exit_code": None}
    logs = (Path(state["session_dir"]) / "logs").iterdir()
    assert all("tok-123" not in path.read_text() for path in logs)


async def test_missing_agent_fails_with_not_installed(launch, wait_for, callbacks):
    state = await launch(agent=agent("no-such-agent-xyz"), callback_url=callbacks.url)
    status = await wait_for(state, until=failed)
    assert status.phase == Phase.FAILED, "/health shows the failure before the host exits"
    message = "agent 'test-agent' not installed: no-such-agent-xyz not found in PATH"
    assert status.error == message
    (call,) = await callbacks.wait(1)
    assert call["body"]["phase"] == "failed"
    assert call["body"]["error"] == message
    gone = await wait_for(state, until=lambda s: s.phase == Phase.GONE)
    assert gone.error == message
    fatal = [line for line in read_log(state) if line.get("fatal")]
    assert [(f["level"], f["logger"]) for f in fatal] == [("ERROR", "volundr.provision")]


async def test_turn_based_agent_without_prompt_is_ready_but_not_started(
    tmp_path: Path, launch, wait_for
):
    ran = tmp_path / "ran"
    fake_claude = script(tmp_path / "claude", f"touch {ran}\n")
    state = await launch(agent=agent(str(fake_claude), kind="claude-code"), prompt="")
    assert (await wait_for(state)).phase == Phase.READY
    assert (await health(state))["agent"] == {"pid": None, "exit_code": None}
    await asyncio.sleep(0.2)
    assert not ran.exists()


async def test_turn_based_agent_must_be_installed_even_without_prompt(launch, wait_for):
    state = await launch(agent=agent("no-such-claude", kind="claude-code"), prompt="")
    status = await wait_for(state, until=failed)
    assert status.error == "agent 'test-agent' not installed: no-such-claude not found in PATH"


async def test_an_agent_file_that_cannot_run_says_why(tmp_path: Path, launch, wait_for):
    plain = tmp_path / "agent-bin"
    plain.write_text("#!/bin/sh\n")
    orphan = script(tmp_path / "orphan", "")
    orphan.write_text("#!/nonexistent/interpreter\n")
    expected = {
        "/nonexistent/agent-bin": "agent 'test-agent' not installed: /nonexistent/agent-bin "
        "not found",
        str(plain): f"agent 'test-agent' could not be started: {plain} is not executable",
        str(tmp_path): f"agent 'test-agent' could not be started: {tmp_path} is a directory",
        str(orphan): f"agent 'test-agent' could not be started: {orphan}: interpreter not found",
    }
    states = {argv0: await launch(agent=agent(argv0)) for argv0 in expected}
    for argv0, state in states.items():
        assert (await wait_for(state, until=failed)).error == expected[argv0]


async def test_prompt_and_model_reach_the_agent(tmp_path: Path, launch, wait_for):
    out = tmp_path / "out"
    agent_script = script(
        tmp_path / "agent.sh",
        f'printf "%s\\n" "$@" > {out}.args\n'
        f'printf "%s" "$VOLUNDR_INITIAL_PROMPT" > {out}.prompt\n'
        f'printf "%s" "$VOLUNDR_SESSION_ID" > {out}.sid\n'
        "exec sleep 60\n",
    )
    prompt = 'it\'s "done"; echo $HOME `id`'
    state = await launch(
        agent=agent(str(agent_script), "--task={prompt}", "{model}"), prompt=prompt, model="m-1"
    )
    assert (await wait_for(state)).phase == Phase.READY
    assert await eventually_read(Path(f"{out}.sid")) == state["session_id"]
    assert await eventually_read(Path(f"{out}.args")) == f"--task={prompt}\nm-1\n"
    assert await eventually_read(Path(f"{out}.prompt")) == prompt


async def test_agent_output_is_logged_with_levels_and_long_lines_cut(launch, wait_for):
    command = f"echo out; echo err >&2; echo {'x' * 1000}; exec sleep 60"
    state = await launch(agent=agent("sh", "-c", command))
    await wait_for(state)
    lines = await log_lines(state, 3)
    stdout = [line["message"] for line in lines if line["level"] == "INFO"]
    stderr = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert stdout == ["out", "x" * 256 + " …[truncated]"]
    assert stderr == ["err"]
    seqs = [line["seq"] for line in read_log(state)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_last_line_without_newline_is_logged_when_the_agent_exits(launch, wait_for):
    state = await launch(agent=agent("sh", "-c", "printf 'partial'; sleep 0.2"))
    await wait_for(state, until=lambda s: s.agent_exit_code == 0)
    assert [line["message"] for line in await log_lines(state, 1)] == ["partial"]


async def test_agent_failing_at_once_fails_the_start(launch, wait_for, callbacks):
    state = await launch(
        agent=agent("sh", "-c", "echo bad flag >&2; exit 3"), callback_url=callbacks.url
    )
    status = await wait_for(state, until=failed)
    assert status.error == "agent exited with status 3 before ready"
    (call,) = await callbacks.wait(1)
    assert call["body"]["phase"] == "failed"
    assert any(line["message"] == "bad flag" for line in read_log(state))


async def test_later_agent_exit_is_reported_and_the_host_stays(launch, wait_for, callbacks):
    state = await launch(agent=agent("sh", "-c", "sleep 0.4; exit 5"), callback_url=callbacks.url)
    assert (await wait_for(state)).phase == Phase.READY
    status = await wait_for(state, until=lambda s: s.agent_exit_code is not None)
    assert (status.phase, status.agent_exit_code) == (Phase.READY, 5)
    ready, exited = await callbacks.wait(2)
    assert ready["body"]["phase"] == "ready"
    assert exited["body"] == {
        "phase": "agent_exited",
        "error": None,
        "branch": status.branch,
        "exit_code": 5,
    }


async def test_stop_logs_stopping_and_the_host_exits_zero(launch, wait_for, runtime):
    state = await launch()
    await wait_for(state)
    await runtime.stop(state, grace_s=2.0)
    status = await runtime.poll(state)
    assert status.phase == Phase.GONE
    assert status.error == f"host process {state['pid']} exited with status 0"
    assert "stopping" in [line["message"] for line in read_log(state)]


async def test_log_seq_continues_when_the_session_restarts(launch, wait_for, runtime):
    state = await launch()
    await wait_for(state)
    await runtime.stop(state, grace_s=2.0)
    again = await launch(session_id=state["session_id"])
    await wait_for(again)
    seqs = [line["seq"] for line in read_log(again)]
    assert len(seqs) > 4 and seqs == list(range(1, len(seqs) + 1))


async def test_health_shows_the_exit_of_the_last_turn_only_while_no_turn_runs(
    tmp_path: Path, launch, wait_for, runtime
):
    """A turn-based agent: /health's exit code belongs to the finished turn; a new turn
    clears it, so the server never takes a running turn for an exited agent."""
    marker = tmp_path / "second-turn"
    fake_claude = script(
        tmp_path / "claude", f"if [ -f {marker} ]; then sleep 0.5; else touch {marker}; fi\n"
    )
    state = await launch(
        agent=agent(str(fake_claude), kind="claude-code"), prompt="go", token="tok"
    )
    first = await wait_for(state, until=lambda s: s.agent_exit_code is not None)
    assert (first.phase, first.agent_exit_code) == (Phase.READY, 0)
    control = hashlib.sha256(b"tok").hexdigest()
    assert await runtime.send_message({**state, "control_key": control}, "more") == 2
    during = await health(state)
    assert during["agent"]["exit_code"] is None
    assert during["agent"]["pid"] not in (None, first.extra["agent_pid"])
    after = await wait_for(state, until=lambda s: s.agent_exit_code is not None)
    assert after.agent_exit_code == 0


async def test_structured_agent_lines_are_logged_at_the_level_they_state(launch, wait_for, runtime):
    command = (
        "echo '{\"level\":\"ERROR\",\"message\":\"structured error line\"}'; "
        "echo '{\"level\":\"debug\",\"msg\":\"quiet\",\"logger\":\"tool\"}' >&2; "
        "echo plain; exec sleep 60"
    )
    state = await launch(agent=agent("sh", "-c", command))
    await wait_for(state)
    await log_lines(state, 2)
    await log_lines(state, 1, logger="tool")
    page = await runtime.read_logs(state["session_id"], LogQuery(min_level=LEVELS["ERROR"]))
    assert [(ln["level"], ln["logger"], ln["message"]) for ln in page.lines] == [
        ("ERROR", "agent", "structured error line"),
    ]
    quiet = [ln for ln in read_log(state) if ln["logger"] == "tool"]
    assert [(ln["level"], ln["message"]) for ln in quiet] == [("DEBUG", "quiet")]
    plain = [ln for ln in read_log(state) if ln["message"] == "plain"]
    assert [ln["level"] for ln in plain] == ["INFO"]
