"""The in-memory fake runtime used by the API tests."""

from __future__ import annotations

import asyncio

import pytest

from volundr.domain.errors import RuntimeFailure
from volundr.ports import Phase
from volundr.runtime.fake import (
    FailingRuntime,
    FakeRuntime,
    InstantRuntime,
    NeverReadyRuntime,
    SlowRuntime,
)


async def test_instant_is_ready_at_once_and_records_the_launch(make_spec):
    runtime = InstantRuntime()
    spec = make_spec(branch="dev")
    launched = await runtime.start(spec)
    status = await runtime.poll(launched.state)
    assert (status.phase, status.branch) == (Phase.READY, "dev")
    assert runtime.launched == [spec.session_id] and runtime.specs[spec.session_id] is spec
    assert launched.pod_name.startswith("fake-")


async def test_slow_is_provisioning_until_its_delay_passed(make_spec):
    runtime = SlowRuntime(delay_s=0.1)
    launched = await runtime.start(make_spec())
    assert (await runtime.poll(launched.state)).phase == Phase.PROVISIONING
    await asyncio.sleep(0.12)
    assert (await runtime.poll(launched.state)).phase == Phase.READY


async def test_never_ready_and_failing(make_spec):
    never = NeverReadyRuntime()
    assert (await never.poll((await never.start(make_spec())).state)).phase == Phase.PROVISIONING
    failing = FailingRuntime()
    status = await failing.poll((await failing.start(make_spec())).state)
    assert (status.phase, status.error) == (Phase.FAILED, "fake runtime failed to provision")


async def test_start_error_raises_runtime_failure(make_spec):
    with pytest.raises(RuntimeFailure, match="no capacity"):
        await FakeRuntime(start_error="no capacity").start(make_spec())


async def test_stop_is_idempotent_and_a_stopped_launch_is_gone(make_spec):
    runtime = InstantRuntime()
    spec = make_spec()
    launched = await runtime.start(spec)
    await runtime.stop(launched.state, grace_s=1.0)
    await runtime.stop(launched.state, grace_s=1.0)
    assert runtime.stopped == [spec.session_id]
    assert (await runtime.poll(launched.state)).phase == Phase.GONE
    relaunched = await runtime.start(spec)
    assert (await runtime.poll(relaunched.state)).phase == Phase.READY


async def test_the_fake_finds_the_launches_of_a_session_not_stopped_yet(make_spec):
    runtime = InstantRuntime()
    spec = make_spec()
    first = await runtime.start(spec)
    second = await runtime.start(spec)
    await runtime.start(make_spec())
    assert await runtime.find_launched(spec.session_id) == [first, second]
    await runtime.stop(first.state, grace_s=0)
    assert await runtime.find_launched(spec.session_id) == [second]
    assert await runtime.find_launched("unknown") == []


async def test_agent_exit_and_workspace_removal_are_recorded(make_spec):
    runtime = InstantRuntime()
    spec = make_spec()
    launched = await runtime.start(spec)
    runtime.finish_agent(spec.session_id, 2)
    assert (await runtime.poll(launched.state)).agent_exit_code == 2
    await runtime.remove_workspace(spec.session_id)
    await runtime.remove_workspace(spec.session_id)
    assert runtime.removed == [spec.session_id]


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fake runtime mode"):
        FakeRuntime("sometimes")  # type: ignore[arg-type]
