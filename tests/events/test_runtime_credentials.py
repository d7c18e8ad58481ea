"""A session's runtime credential (API §1.3): its own session's report endpoints only, and
only while the run lasts."""

from __future__ import annotations

import uuid

import pytest

from tests.app_fixtures import LiveServer
from tests.usage.helpers import USAGE, running_session, runtime_token

pytestmark = pytest.mark.asyncio(loop_scope="module")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_run_token_may_report_on_its_session(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    token = runtime_token(shared_server, sid)
    headers = bearer(token)
    event = await api.post(f"/sessions/{sid}/events", json={"event_type": "error"},
                           headers=headers)  # fmt: skip
    usage = await api.post(f"/sessions/{sid}/usage", json=USAGE, headers=headers)
    activity = await api.post(f"/sessions/{sid}/activity", json={"state": "idle"},
                              headers=headers)  # fmt: skip
    assert (event.status_code, usage.status_code, activity.status_code) == (201, 201, 204)


async def test_a_wrong_or_foreign_token_is_refused(shared_server: LiveServer) -> None:
    api = shared_server.api
    a, b = await running_session(api, "a"), await running_session(api, "b")
    forged = runtime_token(shared_server, a)[:-4] + "AAAA"
    response = await api.post(f"/sessions/{a}/usage", json=USAGE, headers=bearer(forged))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token"}
    assert response.headers["www-authenticate"] == "Bearer"
    token_of_b = bearer(runtime_token(shared_server, b))
    foreign = await api.post(f"/sessions/{a}/usage", json=USAGE, headers=token_of_b)
    assert foreign.status_code == 404
    batch = {"events": [{"session_id": b, "event_type": "error"},
                        {"session_id": a, "event_type": "error"}]}  # fmt: skip
    assert (await api.post("/events/batch", json=batch, headers=token_of_b)).status_code == 404
    assert (await api.get(f"/sessions/{a}")).json()["tokens_used"] == 0


async def test_the_token_stops_working_when_the_run_ends(shared_server: LiveServer) -> None:
    api = shared_server.api
    sid = await running_session(api)
    headers = bearer(runtime_token(shared_server, sid))
    assert (await api.post(f"/sessions/{sid}/stop")).status_code == 200
    response = await api.post(f"/sessions/{sid}/events", json={"event_type": "session_stop"},
                              headers=headers)  # fmt: skip
    assert response.status_code == 401
    assert (await api.post(f"/sessions/{sid}/start")).status_code == 200
    assert (await api.post(f"/sessions/{sid}/events", json={"event_type": "error"},
                           headers=headers)).status_code == 401, "a new run has a new token"


async def test_a_malformed_runtime_token_is_401(shared_server: LiveServer) -> None:
    sid = await running_session(shared_server.api)
    for token in ("vst_", "vst_nothex_x", f"vst_{uuid.uuid4().hex}_"):
        response = await shared_server.api.post(
            f"/sessions/{sid}/activity", json={"state": "idle"}, headers=bearer(token)
        )
        assert response.status_code == 401
