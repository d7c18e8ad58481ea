"""Identity mode `headers` (API §1): 401, visibility (404), roles (403), tenants, order."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory

MUTATORS = "Requires one of: volundr:admin, volundr:developer"


@pytest.fixture
async def headers_server(live_server: LiveServerFactory) -> LiveServer:
    return await live_server(auth={"mode": "headers"})


async def create(client: httpx.AsyncClient, name: str = "a") -> dict[str, Any]:
    response = await client.post("/sessions", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_requests_without_a_user_header_are_401(headers_server: LiveServer) -> None:
    anonymous = headers_server.api
    sid = str(uuid.uuid4())
    for method, path, body in [
        ("GET", "/sessions", None),
        ("POST", "/sessions", {"name": "a"}),
        ("GET", f"/sessions/{sid}", None),
        ("PUT", f"/sessions/{sid}", {}),
        ("DELETE", f"/sessions/{sid}", None),
        ("POST", f"/sessions/{sid}/stop", None),
        ("POST", "/sessions/archive-stopped", None),
    ]:
        response = await anonymous.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "Missing required header: x-auth-user-id"}
        assert response.headers["www-authenticate"] == "Bearer"
    empty = headers_server.as_user("")
    assert (await empty.get("/sessions")).status_code == 401


async def test_identity_is_checked_before_the_schema(headers_server: LiveServer) -> None:
    anonymous = headers_server.api
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/sessions", {"json": {"name": "Bad"}}),
        ("POST", "/sessions", {"json": {}}),
        ("GET", "/sessions/not-a-uuid", {}),
        ("GET", "/sessions", {"params": {"status": "bogus"}}),
        ("POST", "/sessions", {"content": b"{not json",
                               "headers": {"content-type": "application/json"}}),
    ]
    for method, path, kwargs in requests:
        response = await anonymous.request(method, path, **kwargs)
        assert response.status_code == 401, (method, path, kwargs, response.text)


async def test_health_needs_no_identity(headers_server: LiveServer) -> None:
    assert (await headers_server.http.get("/health")).json() == {"status": "healthy"}
    assert (await headers_server.http.get("/health/ready")).json() == {"status": "ready"}


async def test_the_caller_owns_what_it_creates(headers_server: LiveServer) -> None:
    alice = headers_server.as_user("alice", tenant="acme", email="alice@acme.io")
    body = await create(alice)
    assert (body["owner_id"], body["tenant_id"]) == ("alice", "acme")
    default_tenant = await create(headers_server.as_user("bob"))
    assert default_tenant["tenant_id"] == "default"


async def test_users_only_see_their_own_sessions(headers_server: LiveServer) -> None:
    alice = headers_server.as_user("alice")
    bob = headers_server.as_user("bob")
    mine = await create(alice, "mine")
    theirs = await create(bob, "theirs")
    assert [s["id"] for s in (await alice.get("/sessions")).json()] == [mine["id"]]
    assert [s["id"] for s in (await bob.get("/sessions")).json()] == [theirs["id"]]

    hidden = theirs["id"]
    for method, path in [
        ("GET", f"/sessions/{hidden}"),
        ("PUT", f"/sessions/{hidden}"),
        ("DELETE", f"/sessions/{hidden}"),
        ("POST", f"/sessions/{hidden}/start"),
        ("POST", f"/sessions/{hidden}/stop"),
        ("POST", f"/sessions/{hidden}/archive"),
        ("POST", f"/sessions/{hidden}/restore"),
    ]:
        response = await alice.request(method, path, json={} if method == "PUT" else None)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": f"Session not found: {hidden}"}
    assert (await bob.get(f"/sessions/{hidden}")).json()["status"] in {
        "starting", "provisioning", "running",
    }


async def test_admins_see_their_tenant_and_nothing_else(
    headers_server: LiveServer, wait_for_status: Any
) -> None:
    alice = headers_server.as_user("alice")
    bob = headers_server.as_user("bob")
    admin = headers_server.as_user("root", roles="volundr:admin")
    foreign = headers_server.as_user("alice", tenant="other")
    foreign_admin = headers_server.as_user("boss", tenant="other", roles="admin")
    a = await create(alice, "a")
    b = await create(bob, "b")
    f = await create(foreign, "f")

    assert [s["id"] for s in (await admin.get("/sessions")).json()] == [b["id"], a["id"]]
    assert [s["id"] for s in (await foreign_admin.get("/sessions")).json()] == [f["id"]]
    assert [s["id"] for s in (await foreign.get("/sessions")).json()] == [f["id"]]
    # the same user id in another tenant is another person
    assert (await foreign.get(f"/sessions/{a['id']}")).status_code == 404
    assert (await foreign_admin.get(f"/sessions/{a['id']}")).status_code == 404
    assert (await foreign_admin.post(f"/sessions/{a['id']}/stop")).status_code == 404

    await wait_for_status(alice, a["id"], "running")
    stopped = await admin.post(f"/sessions/{a['id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["owner_id"] == "alice"
    assert (await admin.post("/sessions/archive-stopped")).json() == [a["id"]]


async def test_viewers_read_their_own_but_cannot_mutate(
    headers_server: LiveServer, wait_for_status: Any
) -> None:
    developer = headers_server.as_user("vic")
    viewer = headers_server.as_user("vic", roles="volundr:viewer")
    own = await create(developer, "own")
    await wait_for_status(developer, own["id"], "running")
    sid = own["id"]

    assert (await viewer.get(f"/sessions/{sid}")).status_code == 200
    assert [s["id"] for s in (await viewer.get("/sessions")).json()] == [sid]
    for method, path, body in [
        ("POST", "/sessions", {"name": "a"}),
        ("POST", f"/sessions/{sid}/stop", None),
        ("POST", f"/sessions/{sid}/start", None),
        ("POST", f"/sessions/{sid}/archive", None),
        ("POST", f"/sessions/{sid}/restore", None),
        ("PUT", f"/sessions/{sid}", {"name": "x"}),
        ("DELETE", f"/sessions/{sid}", None),
        ("POST", "/sessions/archive-stopped", None),
    ]:
        response = await viewer.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json() == {"detail": MUTATORS}
    assert (await viewer.get(f"/sessions/{sid}")).json()["status"] == "running"

    # visibility before role: someone else's session is 404 even for a viewer
    other = await create(headers_server.as_user("walt"), "other")
    assert (await viewer.post(f"/sessions/{other['id']}/stop")).status_code == 404


async def test_role_is_checked_before_state_and_semantics(
    headers_server: LiveServer, wait_for_status: Any
) -> None:
    developer = headers_server.as_user("vic")
    viewer = headers_server.as_user("vic", roles="viewer")
    sid = (await create(developer))["id"]
    await wait_for_status(developer, sid, "running")
    # 403 before 409: starting a running session as a viewer
    assert (await viewer.post(f"/sessions/{sid}/start")).status_code == 403
    # 403 before the semantic 422s of create and start
    for body in [
        {"name": "a", "agent": "nope"},
        {"name": "a", "template_name": "t"},
        {"name": "a", "profile_name": "p"},
        {"name": "a", "credential_names": ["c"]},
        {"name": "a", "source": {"type": "local_mount", "local_path": "/x"}},
        {"name": "a", "source": {"repo": "/srv/git/x"}},
    ]:
        response = await viewer.post("/sessions", json=body)
        assert response.status_code == 403, (body, response.text)
    response = await viewer.post(f"/sessions/{sid}/start", json={"profile_name": "p"})
    assert response.status_code == 403, response.text
    # 409 before the semantic 422 of start
    response = await developer.post(f"/sessions/{sid}/start", json={"profile_name": "p"})
    assert response.status_code == 409, response.text
    assert response.json() == {
        "detail": f"Cannot start session {sid}: current status is running"
    }


def b64(values: list[str]) -> str:
    return base64.b64encode(json.dumps(values).encode()).decode()


ROLE_FORMS: list[tuple[str | None, bool, bool]] = [
    # (x-auth-roles, sees the whole tenant, may mutate)
    (None, False, True),
    ("", False, True),
    ("bogus", False, True),
    ("developer", False, True),
    ("volundr:developer", False, True),
    ("viewer", False, False),
    ("volundr:viewer", False, False),
    ("viewer, admin", True, True),
    ("admin , ,viewer", True, True),
    ("volundr:viewer,volundr:developer", False, True),
    (b64(["volundr:admin"]), True, True),
    (b64(["viewer"]), False, False),
    (b64(["unknown"]), False, True),
]


async def test_roles_header_forms(headers_server: LiveServer) -> None:
    other = await create(headers_server.as_user("someone-else"))
    for number, (roles, can_see_tenant, can_mutate) in enumerate(ROLE_FORMS):
        caller = headers_server.as_user(f"caller-{number}", roles=roles)
        visible = [s["id"] for s in (await caller.get("/sessions")).json()]
        assert (other["id"] in visible) is can_see_tenant, roles
        response = await caller.post("/sessions", json={"name": "mine"})
        assert response.status_code == (201 if can_mutate else 403), roles


async def test_local_repositories_are_off_by_default_outside_mode_none(
    headers_server: LiveServer,
) -> None:
    alice = headers_server.as_user("alice")
    response = await alice.post("/sessions", json={"name": "a", "source": {"repo": "/srv/x"}})
    assert response.status_code == 422
    assert response.json() == {"detail": "Local repositories are not allowed on this server"}


async def test_mode_none_ignores_identity_headers(server: LiveServer) -> None:
    spoofed = server.as_user("mallory", tenant="evil", roles="viewer")
    body = await create(spoofed)
    assert (body["owner_id"], body["tenant_id"]) == ("local", "default")


async def test_non_ascii_identities_are_read_as_utf8(headers_server: LiveServer) -> None:
    headers = {"x-auth-user-id": "jürgen".encode(), "x-auth-email": "jürgen@exämple.org".encode()}
    me = await headers_server.api.get("/me", headers=headers)
    assert me.status_code == 200, me.text
    assert (me.json()["user_id"], me.json()["email"]) == ("jürgen", "jürgen@exämple.org")
    latin1 = await headers_server.api.get("/me", headers={"x-auth-user-id": b"j\xfcrgen"})
    assert latin1.json()["user_id"] == "jürgen"  # not UTF-8: HTTP's Latin-1
