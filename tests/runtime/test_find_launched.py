"""The local runtime finds a session's hosts without their saved state (a server died
before saving it)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.runtime.test_local_runtime import agent, marked
from volundr.ports import Phase
from volundr.runtime.local import LocalRuntime


async def test_a_host_whose_state_was_never_saved_is_found_by_a_fresh_runtime(
    tmp_path: Path, make_repo, launch, wait_for
):
    state = await launch(repo=str(make_repo()), agent=agent("sleep", "60"))
    await wait_for(state)
    assert len(marked(state["session_id"])) >= 2, "the host and its agent carry the marker"
    fresh = LocalRuntime(sessions_dir=tmp_path / "sessions", max_line_bytes=256)

    found = await fresh.find_launched(state["session_id"])

    assert len(found) == 1, "the agent is not a host"
    (launched,) = found
    same = ("session_id", "pid", "pgid", "port", "session_dir", "workspace")
    assert {k: launched.state[k] for k in same} == {k: state[k] for k in same}
    assert abs(launched.state["create_time"] - state["create_time"]) < 0.05
    assert launched.pod_name == f"local-{state['pid']}"
    assert launched.code_endpoint == f"file://{state['workspace']}"
    status = await fresh.poll(launched.state)
    assert (status.phase, status.branch) == (Phase.READY, "master")
    await fresh.stop(launched.state, grace_s=1.0)
    assert marked(state["session_id"]) == []
    assert await fresh.find_launched(state["session_id"]) == []


async def test_every_host_of_a_session_is_found(launch, wait_for, runtime):
    first = await launch()
    second = await launch(session_id=first["session_id"])
    await wait_for(first)
    await wait_for(second)
    other = await launch()

    found = await runtime.find_launched(first["session_id"])

    assert sorted(f.state["pid"] for f in found) == sorted([first["pid"], second["pid"]])
    assert {f.state["port"] for f in found} == {first["port"], second["port"]}
    assert [f.state["pid"] for f in await runtime.find_launched(other["session_id"])] == [
        other["pid"]
    ]


async def test_nothing_is_found_for_a_session_without_a_host(runtime):
    assert await runtime.find_launched(str(uuid.uuid4())) == []
    assert await runtime.find_launched("../escape") == []
