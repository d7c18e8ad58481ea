"""The local runtime with real host processes: poll, stop, re-attach, restart, clean-up."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from volundr.domain.errors import RuntimeFailure
from volundr.domain.models import AgentTemplate
from volundr.ports import Phase, RuntimeStatus
from volundr.runtime.local import LocalRuntime


def agent(*argv: str) -> AgentTemplate:
    return AgentTemplate(name="test-agent", kind="command", command=argv)


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def marked(session_id: str) -> list[psutil.Process]:
    """Live (non-zombie) processes carrying the session's marker."""
    found = []
    for proc in psutil.process_iter():
        try:
            if (
                proc.environ().get("VOLUNDR_SESSION_ID") == session_id
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def gone(status: RuntimeStatus) -> bool:
    return status.phase == Phase.GONE


async def read_pid(path: Path) -> int:
    for _ in range(250):
        text = path.read_text().strip() if path.exists() else ""  # noqa: ASYNC240
        if text:
            return int(text)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} was never written")


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process that must survive whatever the runtime does."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


async def test_start_returns_the_state_and_names(launch, wait_for, runtime):
    state = await launch()
    assert set(state) >= {"pid", "create_time", "pgid", "port", "session_dir", "workspace"}
    assert state["pgid"] == state["pid"] == os.getpgid(state["pid"])
    assert state["workspace"] == str(Path(state["session_dir"]) / "workspace")
    assert (await wait_for(state)).phase == Phase.READY


async def test_launched_names_the_pod_and_the_workspace(runtime, make_spec):
    spec = make_spec()
    launched = await runtime.start(spec)
    try:
        assert launched.pod_name == f"local-{launched.state['pid']}"
        assert launched.code_endpoint == f"file://{launched.state['workspace']}"
    finally:
        await runtime.stop(launched.state, grace_s=1.0)


async def test_clone_failure_is_read_back_through_poll(tmp_path: Path, launch, wait_for):
    missing = tmp_path / "nowhere" / "repo"
    state = await launch(repo=str(missing))
    status = await wait_for(state, until=gone)
    assert status.error == f"clone failed: repository not found: {missing}"


async def test_an_ext_url_is_never_executed(tmp_path: Path, launch, wait_for):
    marker = tmp_path / "pwned"
    state = await launch(repo=f"ext::sh -c touch% {marker}")
    status = await wait_for(state, until=gone)
    assert status.error is not None and status.error.startswith("Unsupported repository")
    assert not marker.exists()


async def test_stop_kills_daemonized_grandchildren(tmp_path: Path, launch, wait_for, runtime):
    pid_file = tmp_path / "daemon.pid"
    agent_script = script(
        tmp_path / "agent.sh",
        f"setsid sh -c 'sleep 1000 & echo $! > {pid_file}' </dev/null >/dev/null 2>&1 &\n"
        "exec sleep 1000\n",
    )
    state = await launch(agent=agent(str(agent_script)))
    assert (await wait_for(state)).phase == Phase.READY
    daemon = psutil.Process(await read_pid(pid_file))
    await asyncio.sleep(0.1)  # let the intermediate shell exit so the daemon is re-parented
    assert daemon.ppid() == state["pid"], "the host (subreaper) adopts the daemon"
    assert daemon.pid in {p.pid for p in marked(state["session_id"])}
    await runtime.stop(state, grace_s=1.0)
    assert marked(state["session_id"]) == []
    assert not daemon.is_running() or daemon.status() == psutil.STATUS_ZOMBIE


async def test_stop_sweeps_marked_processes_after_the_host_died(
    tmp_path: Path, launch, wait_for, runtime
):
    pid_file = tmp_path / "daemon.pid"
    agent_script = script(
        tmp_path / "agent.sh",
        f"setsid sh -c 'sleep 1000 & echo $! > {pid_file}' </dev/null >/dev/null 2>&1 &\n"
        "exec sleep 1000\n",
    )
    state = await launch(agent=agent(str(agent_script)))
    await wait_for(state)
    daemon_pid = await read_pid(pid_file)
    os.kill(state["pid"], signal.SIGKILL)  # the host dies without cleaning up
    await wait_for(state, until=gone)
    assert psutil.pid_exists(daemon_pid)
    await runtime.stop(state, grace_s=0.5)
    assert marked(state["session_id"]) == []


async def test_stop_is_idempotent(launch, wait_for, runtime):
    state = await launch()
    await wait_for(state)
    await runtime.stop(state, grace_s=1.0)
    await runtime.stop(state, grace_s=1.0)
    assert (await runtime.poll(state)).phase == Phase.GONE


async def test_a_stale_state_never_touches_an_unrelated_process(runtime, bystander):
    """The pid was reused: same pid, different start time. Nothing may be signalled."""
    real = psutil.Process(bystander.pid).create_time()
    stale: dict[str, Any] = {
        "session_id": "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e",
        "pid": bystander.pid,
        "pgid": bystander.pid,
        "create_time": real - 1000.0,
        "port": 9,
        "session_dir": "/nonexistent",
        "workspace": "/nonexistent/workspace",
    }
    status = await runtime.poll(stale)
    assert status.phase == Phase.GONE
    assert status.error == f"host process {bystander.pid} exited"
    await runtime.stop(stale, grace_s=0.2)
    await asyncio.sleep(0.1)
    assert bystander.poll() is None, "the bystander must still run"


async def test_garbage_state_polls_as_gone(runtime):
    status = await runtime.poll({"pid": "x"})
    assert status.phase == Phase.GONE and status.error


async def test_a_new_runtime_instance_reattaches(
    tmp_path: Path, make_repo, launch, wait_for, runtime
):
    state = await launch(repo=str(make_repo()))
    await wait_for(state)
    fresh = LocalRuntime(sessions_dir=tmp_path / "sessions", max_line_bytes=256)
    status = await fresh.poll(state)
    assert (status.phase, status.branch) == (Phase.READY, "master")
    await fresh.stop(state, grace_s=1.0)
    assert (await fresh.poll(state)).phase == Phase.GONE
    assert marked(state["session_id"]) == []


async def test_restart_on_an_existing_workspace_keeps_uncommitted_work(
    make_repo, launch, wait_for, runtime
):
    origin = make_repo()
    state = await launch(repo=str(origin))
    await wait_for(state)
    notes = Path(state["workspace"]) / "notes.txt"
    notes.write_text("work in progress")
    await runtime.stop(state, grace_s=1.0)
    again = await launch(session_id=state["session_id"], repo=str(origin), branch="feature/a/b")
    status = await wait_for(again)
    assert (status.phase, status.branch) == (Phase.READY, "feature/a/b")
    assert notes.read_text() == "work in progress"


async def test_a_failed_earlier_run_does_not_explain_a_later_exit(tmp_path: Path, launch, wait_for):
    first = await launch(repo=str(tmp_path / "missing"))
    await wait_for(first, until=gone)
    second = await launch(session_id=first["session_id"])
    await wait_for(second)
    os.kill(second["pid"], signal.SIGKILL)
    status = await wait_for(second, until=gone)
    assert status.error == f"host process {second['pid']} exited on signal 9"


async def test_an_interpreter_that_cannot_run_the_host_is_reported(tmp_path: Path, make_spec):
    bad_python = script(tmp_path / "python", "echo 'No module named volundr' >&2; exit 1\n")
    runtime = LocalRuntime(sessions_dir=tmp_path / "sessions", python=str(bad_python))
    launched = await runtime.start(make_spec())
    for _ in range(100):
        status = await runtime.poll(launched.state)
        if status.phase == Phase.GONE:
            break
        await asyncio.sleep(0.02)
    assert status.error == (
        f"host process {launched.state['pid']} exited with status 1: No module named volundr"
    )


async def test_a_missing_interpreter_is_a_runtime_failure(tmp_path: Path, make_spec):
    runtime = LocalRuntime(sessions_dir=tmp_path / "sessions", python="/no/such/python")
    with pytest.raises(RuntimeFailure, match="could not launch the session host"):
        await runtime.start(make_spec())


async def test_server_settings_never_reach_the_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch, wait_for
):
    monkeypatch.setenv("VOLUNDR_DATABASE_URL", "postgresql://admin:hunter2@db/volundr")
    env_file = tmp_path / "env"
    state = await launch(agent=agent("sh", "-c", f"env > {env_file}; exec sleep 60"))
    await wait_for(state)
    for _ in range(100):
        if env_file.exists() and "VOLUNDR_SESSION_ID" in env_file.read_text():
            break
        await asyncio.sleep(0.02)
    names = {line.split("=", 1)[0] for line in env_file.read_text().splitlines()}
    assert {n for n in names if n.startswith("VOLUNDR_")} == {
        "VOLUNDR_SESSION_ID",
        "VOLUNDR_INITIAL_PROMPT",
    }


async def test_remove_workspace_is_idempotent_and_stays_inside(tmp_path: Path, launch, runtime):
    state = await launch()
    await runtime.stop(state, grace_s=1.0)
    session_dir = Path(state["session_dir"])
    assert session_dir.exists()  # noqa: ASYNC240
    await runtime.remove_workspace(state["session_id"])
    await runtime.remove_workspace(state["session_id"])
    assert not session_dir.exists()  # noqa: ASYNC240
    for bad in ("..", "../x", "a/b", "/etc", ""):
        with pytest.raises(RuntimeFailure):
            await runtime.remove_workspace(bad)


async def test_concurrent_removals_of_one_workspace_all_succeed(tmp_path: Path, runtime):
    session_id = "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"
    tree = tmp_path / "sessions" / session_id / "workspace"
    for d in range(40):
        (tree / f"d{d}").mkdir(parents=True)
        for f in range(25):
            (tree / f"d{d}" / f"f{f}").write_text("x")
    await asyncio.gather(*(runtime.remove_workspace(session_id) for _ in range(4)))
    assert not tree.parent.exists()


def test_python_default_is_this_interpreter(tmp_path: Path) -> None:
    assert LocalRuntime(sessions_dir=tmp_path)._python == sys.executable


async def test_an_agent_ignoring_sigterm_is_killed_after_the_host_grace(launch, wait_for, runtime):
    state = await launch(agent=agent("sh", "-c", "trap '' TERM; exec sleep 1000"))
    await wait_for(state)
    await runtime.stop(state, grace_s=3.0)  # the host's own grace (1 s) runs out first
    assert marked(state["session_id"]) == []


async def test_a_short_stop_grace_escalates_to_sigkill(launch, wait_for, runtime):
    state = await launch(agent=agent("sh", "-c", "trap '' TERM; exec sleep 1000"))
    await wait_for(state)
    await runtime.stop(state, grace_s=0.1)
    assert marked(state["session_id"]) == []


async def test_exited_orphans_are_reaped_by_the_host(launch, wait_for):
    state = await launch(agent=agent("sh", "-c", "setsid sh -c 'sleep 0.1 &'; exec sleep 60"))
    await wait_for(state)
    await asyncio.sleep(0.5)
    children = psutil.Process(state["pid"]).children()
    assert [c.status() for c in children] == [psutil.STATUS_SLEEPING]


async def test_stop_during_provisioning_ends_everything(tmp_path: Path, make_spec):
    runtime = LocalRuntime(sessions_dir=tmp_path / "sessions", stop_grace_s=1.0, early_exit_s=30)
    spec = make_spec()
    launched = await runtime.start(spec)
    for _ in range(250):
        if marked(spec.session_id) and len(marked(spec.session_id)) >= 2:
            break  # host and agent both run; the host is still inside its early-exit window
        await asyncio.sleep(0.02)
    assert (await runtime.poll(launched.state)).phase == Phase.PROVISIONING
    await runtime.stop(launched.state, grace_s=2.0)
    assert marked(spec.session_id) == []
    assert (await runtime.poll(launched.state)).error == (
        f"host process {launched.state['pid']} exited with status 0"
    )


async def test_a_host_whose_session_directory_was_removed_stops_itself(
    tmp_path: Path, make_spec, wait_for
):
    """Nobody can reach or stop a host once its data is gone: it must not run forever."""
    runtime = LocalRuntime(sessions_dir=tmp_path / "sessions", stop_grace_s=0.5,
                           orphan_check_s=0.1)  # fmt: skip
    launched = await runtime.start(make_spec(agent=agent("sleep", "1000")))
    state = launched.state
    try:
        assert (await wait_for(state, on=runtime)).phase == Phase.READY
        assert len(marked(state["session_id"])) >= 2, "the host and its agent run"
        await asyncio.to_thread(shutil.rmtree, state["session_dir"])
        await wait_for(state, until=gone, on=runtime, within_s=5)
        for _ in range(100):
            if not marked(state["session_id"]):
                break
            await asyncio.sleep(0.05)
        assert marked(state["session_id"]) == []
    finally:
        await runtime.stop(state, grace_s=0.5)
