"""Who sees and changes which workspace (API §1.3, §9.2), and bulk deletes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.workspaces.helpers import create

ADMINS = "Requires one of: volundr:admin"
MUTATORS = "Requires one of: volundr:admin, volundr:developer"
WaitFor = Any


@pytest.fixture
async def headers_server(live_server: LiveServerFactory) -> LiveServer:
    return await live_server(auth={"mode": "headers"})


async def stopped(client: httpx.AsyncClient, wait_for_status: WaitFor, name: str) -> str:
    sid = await create(client, name)
    await wait_for_status(client, sid, "running")
    assert (await client.post(f"/sessions/{sid}/stop")).status_code == 200
    return sid


async def test_a_workspace_is_visible_to_its_owner_and_the_tenant_admins_only(
    headers_server: LiveServer, wait_for_status: WaitFor
) -> None:
    alice = headers_server.as_user("alice")
    bob = headers_server.as_user("bob")
    admin = headers_server.as_user("root", roles="admin")
    other_admin = headers_server.as_user("root2", tenant="other", roles="admin")
    viewer = headers_server.as_user("alice", roles="viewer")
    sid = await stopped(alice, wait_for_status, "alices")
    bobs = await stopped(bob, wait_for_status, "bobs")

    assert [w["session_id"] for w in (await alice.get("/workspaces")).json()] == [sid]
    assert [w["session_id"] for w in (await admin.get("/workspaces")).json()] == []  # own only
    assert (await alice.get(f"/workspaces/{sid}")).status_code == 200
    assert (await viewer.get(f"/workspaces/{sid}")).status_code == 200
    assert (await admin.get(f"/workspaces/{sid}")).status_code == 200
    for outsider in (bob, other_admin):
        hidden = await outsider.get(f"/workspaces/{sid}")
        assert hidden.status_code == 404
        assert hidden.json() == {"detail": f"Workspace not found for session {sid}"}
        assert (await outsider.delete(f"/workspaces/{sid}")).status_code == 404

    for method, path in [("DELETE", f"/workspaces/{sid}"),
                         ("POST", f"/workspaces/{sid}/restore")]:
        denied = await viewer.request(method, path)
        assert denied.status_code == 403 and denied.json() == {"detail": MUTATORS}
    assert (await viewer.post("/workspaces/bulk-delete", json={"session_ids": []})).json() == {
        "detail": MUTATORS
    }

    listed = (await admin.get("/admin/workspaces")).json()
    assert sorted(w["session_id"] for w in listed) == sorted([sid, bobs])
    only_bob = (await admin.get("/admin/workspaces", params={"user_id": "bob"})).json()
    assert [w["session_id"] for w in only_bob] == [bobs]
    assert (await other_admin.get("/admin/workspaces")).json() == []
    assert (await admin.get("/admin/workspaces", params={"status": "nope"})).status_code == 422
    assert (await admin.delete(f"/workspaces/{bobs}")).status_code == 204  # admin may act


async def test_admin_endpoints_are_403_for_developers_and_viewers(
    headers_server: LiveServer,
) -> None:
    for roles in ("developer", "viewer"):
        client = headers_server.as_user("alice", roles=roles)
        listed = await client.get("/admin/workspaces")
        assert listed.status_code == 403 and listed.json() == {"detail": ADMINS}
        bulk = await client.post("/admin/workspaces/bulk-delete", json={"session_ids": []})
        assert bulk.status_code == 403 and bulk.json() == {"detail": ADMINS}
    anonymous = await headers_server.api.get("/admin/workspaces")
    assert anonymous.status_code == 401


async def test_bulk_delete_reports_each_id(
    headers_server: LiveServer, wait_for_status: WaitFor
) -> None:
    alice = headers_server.as_user("alice")
    bob = headers_server.as_user("bob")
    mine = await stopped(alice, wait_for_status, "mine")
    also_mine = await stopped(alice, wait_for_status, "also")
    running = await create(alice, "running")
    await wait_for_status(alice, running, "running")
    bobs = await stopped(bob, wait_for_status, "bobs")
    unknown = str(uuid.uuid4())

    response = await alice.post(
        "/workspaces/bulk-delete",
        json={"session_ids": [mine, unknown.upper(), running, bobs, also_mine, mine]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "deleted": 2,
        "failed": [
            {"session_id": unknown, "error": "Not found or not owned"},
            {"session_id": running, "error": "Session is active"},
            {"session_id": bobs, "error": "Not found or not owned"},
            {"session_id": mine, "error": "Not found or not owned"},  # already deleted
        ],
    }
    assert (await alice.get(f"/workspaces/{mine}")).status_code == 404
    assert (await bob.get(f"/workspaces/{bobs}")).status_code == 200
    empty = await alice.post("/workspaces/bulk-delete", json={"session_ids": []})
    assert empty.json() == {"deleted": 0, "failed": []}
    too_many = [str(uuid.uuid4()) for _ in range(1001)]
    assert (await alice.post("/workspaces/bulk-delete",
                             json={"session_ids": too_many})).status_code == 422
    assert (await alice.post("/workspaces/bulk-delete",
                             json={"session_ids": ["nope"]})).status_code == 422


async def test_admin_bulk_delete_covers_the_tenant(
    headers_server: LiveServer, wait_for_status: WaitFor
) -> None:
    alice = headers_server.as_user("alice")
    admin = headers_server.as_user("root", roles="admin")
    outsider = headers_server.as_user("eve", tenant="other")
    alices = await stopped(alice, wait_for_status, "alices")
    eves = await stopped(outsider, wait_for_status, "eves")
    unknown = str(uuid.uuid4())
    response = await admin.post(
        "/admin/workspaces/bulk-delete", json={"session_ids": [alices, eves, unknown]}
    )
    assert response.json() == {
        "deleted": 1,
        "failed": [{"session_id": eves, "error": "Not found"},
                   {"session_id": unknown, "error": "Not found"}],
    }  # fmt: skip
    assert (await outsider.get(f"/workspaces/{eves}")).status_code == 200
