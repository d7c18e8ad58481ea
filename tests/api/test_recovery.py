"""Recovery at server start (API §3.6): sessions left active by a previous process."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.app_fixtures import LiveServerFactory, build_session
from volundr.config import Settings
from volundr.domain.models import Session, SessionStatus
from volundr.ports import Launched, LaunchSpec
from volundr.runtime.fake import InstantRuntime, NeverReadyRuntime
from volundr.store import migrate
from volundr.store.sql import SqlStore

RUN_FIELDS = {
    "chat_endpoint": "ws://127.0.0.1:8080/s/x/session",
    "code_endpoint": "file:///old/workspace",
    "pod_name": "local-4242",
    "activity_state": "active",
    "activity_metadata": {"turn_count": 2},
}


class HangsAfterLaunchRuntime(InstantRuntime):
    """Launches, then never returns from `start`: the state is never saved, as when the
    server dies between launching a host and recording it."""

    def __init__(self) -> None:
        super().__init__()
        self.hanging = asyncio.Event()
        """Set once a launch happened and `start` hangs."""

    async def start(self, spec: LaunchSpec) -> Launched:
        await super().start(spec)
        self.hanging.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def database_url(home: Path) -> str:
    home.mkdir(parents=True, exist_ok=True)
    return Settings(home=home).sqlalchemy_url


async def seed(home: Path, sessions: list[Session]) -> None:
    """Write sessions into the database of a server that is not running."""
    store = SqlStore(database_url(home))
    try:
        await migrate.upgrade(store.engine)
        async with store.transaction() as tx:
            for session in sessions:
                await tx.insert_session(session)
    finally:
        await store.close()


def gone(status: SessionStatus, name: str, **fields: Any) -> Session:
    """A session whose stored runtime state the (fresh) fake runtime does not know."""
    return build_session(name=name, status=status, **{**RUN_FIELDS, **fields})


def alive(status: SessionStatus, name: str, **fields: Any) -> Session:
    """A session whose stored runtime state a fresh fake runtime reports as alive."""
    state = {"fake": True, "launch_id": f"launch-{name}", "started_at": time.time(),
             "branch": "main"}
    return gone(status, name, runtime_state=state, **fields)


async def test_sessions_whose_runtime_is_gone_are_reconciled_before_serving(
    live_server: LiveServerFactory, tmp_path: Path, session_events: Any
) -> None:
    home = tmp_path / "home"
    rows = {
        "starting": gone(SessionStatus.STARTING, "starting", pod_name=None, code_endpoint=None),
        "provisioning": gone(SessionStatus.PROVISIONING, "provisioning"),
        "running": gone(SessionStatus.RUNNING, "running"),
        "stopping": gone(SessionStatus.STOPPING, "stopping"),
        "created": build_session(name="created"),
        "stopped": build_session(name="stopped", status=SessionStatus.STOPPED),
        "failed": build_session(name="failed", status=SessionStatus.FAILED, error="old"),
        "archived": build_session(name="archived", status=SessionStatus.ARCHIVED),
    }
    await seed(home, list(rows.values()))
    live = await live_server(home=home)

    expected = {
        "starting": ("failed", "Start interrupted by a server restart"),
        "provisioning": ("failed", "Runtime lost during provisioning"),
        "running": ("failed", "Runtime exited unexpectedly: fake runtime stopped"),
        "stopping": ("stopped", None),
        "created": ("created", None),
        "stopped": ("stopped", None),
        "failed": ("failed", "old"),
        "archived": ("archived", None),
    }
    # no waiting: recovery is finished before the first request is served
    for name, (status, error) in expected.items():
        body = (await live.api.get(f"/sessions/{rows[name].id}")).json()
        assert (body["status"], body["error"]) == (status, error), name
        if name in ("starting", "provisioning", "running", "stopping"):
            assert body["chat_endpoint"] is None and body["code_endpoint"] is None, name
            assert body["activity_state"] is None and body["activity_metadata"] == {}, name
            assert await session_events(live, rows[name].id) == [(name, status, error)]
        else:
            assert await session_events(live, rows[name].id) == [], name
    assert (await live.api.get(f"/sessions/{rows['running'].id}")).json()["pod_name"] == (
        "local-4242"
    )


async def test_sessions_whose_runtime_lives_are_reattached(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: Any
) -> None:
    home = tmp_path / "home"
    provisioning = alive(SessionStatus.PROVISIONING, "provisioning",
                         run_started_at=datetime.now(UTC))
    running = alive(SessionStatus.RUNNING, "running")
    stopping = alive(SessionStatus.STOPPING, "stopping")
    await seed(home, [provisioning, running, stopping])
    runtime = InstantRuntime()
    live = await live_server(runtime=runtime, home=home)

    reattached = await wait_for_status(live.api, provisioning.id, "running")
    assert reattached["pod_name"] == "local-4242"
    kept = (await live.api.get(f"/sessions/{running.id}")).json()
    assert (kept["status"], kept["error"]) == ("running", None)
    assert kept["chat_endpoint"] == RUN_FIELDS["chat_endpoint"]
    finished = (await live.api.get(f"/sessions/{stopping.id}")).json()
    assert finished["status"] == "stopped"
    assert runtime.stopped == [stopping.id]
    # a re-attached session can be stopped as usual
    stopped = await live.api.post(f"/sessions/{running.id}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"


async def test_the_provisioning_timeout_still_counts_from_the_start(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: Any
) -> None:
    home = tmp_path / "home"
    long_ago = datetime.now(UTC) - timedelta(seconds=120)
    stuck = alive(SessionStatus.PROVISIONING, "stuck", run_started_at=long_ago)
    await seed(home, [stuck])
    live = await live_server(
        runtime=NeverReadyRuntime(), home=home, runtime_settings={"provision_timeout_s": 60}
    )
    failed = await wait_for_status(live.api, stuck.id, "failed", timeout=3)
    assert failed["error"] == "Provisioning timed out: not ready after 60 s"


async def test_a_server_restart_reattaches_running_sessions(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: Any
) -> None:
    home = tmp_path / "home"
    runtime = InstantRuntime()  # its "hosts" outlive the server, like detached processes
    first = await live_server(runtime=runtime, home=home)
    sid = (await first.api.post("/sessions", json={"name": "keep-me"})).json()["id"]
    running = await wait_for_status(first.api, sid, "running")
    await first.shutdown()

    second = await live_server(runtime=runtime, home=home)
    after = (await second.api.get(f"/sessions/{sid}")).json()
    assert after == running
    assert runtime.launched == [sid] and runtime.stopped == []
    stopped = await second.api.post(f"/sessions/{sid}/stop")
    assert stopped.json()["status"] == "stopped"
    assert runtime.stopped == [sid]


async def test_a_start_interrupted_after_launching_continues_with_that_runtime(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: Any, session_events: Any
) -> None:
    home = tmp_path / "home"
    runtime = HangsAfterLaunchRuntime()
    first = await live_server(runtime=runtime, home=home)
    sid = (await first.api.post("/sessions", json={"name": "interrupted"})).json()["id"]
    await asyncio.wait_for(runtime.hanging.wait(), 5)
    assert (await first.api.get(f"/sessions/{sid}")).json()["status"] == "starting"
    (launched,) = await runtime.find_launched(sid)
    await first.shutdown()

    second = await live_server(runtime=runtime, home=home)
    # re-attached before serving: the launch is recorded, the readiness wait resumes
    recorded = (await second.api.get(f"/sessions/{sid}")).json()
    assert recorded["status"] in ("provisioning", "running")
    assert recorded["pod_name"] == launched.pod_name
    running = await wait_for_status(second.api, sid, "running")
    assert (running["error"], running["code_endpoint"]) == (None, launched.code_endpoint)
    assert runtime.launched == [sid] and runtime.stopped == []
    assert await session_events(second, sid) == [
        (None, "created", None), ("created", "starting", None),
        ("starting", "provisioning", None), ("provisioning", "running", None),
    ]  # fmt: skip
    stopped = await second.api.post(f"/sessions/{sid}/stop")
    assert stopped.json()["status"] == "stopped"
    assert runtime.stopped == [sid]


async def test_several_runtimes_of_a_starting_session_are_all_stopped(
    live_server: LiveServerFactory, tmp_path: Path, make_spec: Any
) -> None:
    home = tmp_path / "home"
    starting = build_session(name="twice", status=SessionStatus.STARTING,
                             run_started_at=datetime.now(UTC))  # fmt: skip
    await seed(home, [starting])
    runtime = InstantRuntime()
    for _ in range(2):
        await runtime.start(make_spec(session_id=starting.id))

    live = await live_server(runtime=runtime, home=home)

    body = (await live.api.get(f"/sessions/{starting.id}")).json()
    assert (body["status"], body["error"]) == ("failed", "Start interrupted by a server restart")
    assert body["pod_name"] is None
    assert runtime.stopped == [starting.id, starting.id]
    assert await runtime.find_launched(starting.id) == []


async def test_a_runtime_found_while_starting_keeps_the_timeout_counted_from_the_start(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: Any, make_spec: Any
) -> None:
    home = tmp_path / "home"
    long_ago = datetime.now(UTC) - timedelta(seconds=120)
    stuck = build_session(name="stuck", status=SessionStatus.STARTING, run_started_at=long_ago)
    await seed(home, [stuck])
    runtime = NeverReadyRuntime()
    await runtime.start(make_spec(session_id=stuck.id))
    live = await live_server(
        runtime=runtime, home=home, runtime_settings={"provision_timeout_s": 60}
    )
    failed = await wait_for_status(live.api, stuck.id, "failed", timeout=3)
    assert failed["error"] == "Provisioning timed out: not ready after 60 s"
    assert runtime.stopped == [stuck.id]
