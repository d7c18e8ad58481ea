"""Recovery at server start (API §3.6): sessions left active by a previous process."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.app_fixtures import LiveServerFactory, build_session
from volundr.config import Settings
from volundr.domain.models import Session, SessionStatus
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
