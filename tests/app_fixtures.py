"""Fixtures for the store and the served app (registered in `tests/conftest.py`).

The index of these fixtures is in the docstring of `tests/conftest.py`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from volundr import serving
from volundr.app import API_PREFIX, create_app
from volundr.config import Settings
from volundr.domain.clock import new_id
from volundr.domain.models import GitSource, Session, SessionStatus
from volundr.ports import Runtime
from volundr.runtime.fake import FakeRuntime, InstantRuntime
from volundr.store import migrate
from volundr.store.sql import SqlStore
from volundr.store.tables import metadata
from volundr.store.tables import session_events as session_events_table

TEST_DB_URL_ENV = "VOLUNDR_TEST_DB_URL"
StatusEvent = tuple[str | None, str, str | None]

# ------------------------------------------------------------------ store


@pytest.fixture
async def empty_db_url(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get(TEST_DB_URL_ENV)
    if not url:
        yield f"sqlite+aiosqlite:///{tmp_path / 'volundr.db'}"
        return
    store = SqlStore(url)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await store.close()
    yield url


@pytest.fixture
async def store(empty_db_url: str) -> AsyncIterator[SqlStore]:
    sql_store = SqlStore(empty_db_url)
    await migrate.upgrade(sql_store.engine)
    try:
        yield sql_store
    finally:
        await sql_store.close()


def build_session(**fields: Any) -> Session:
    """A valid `created` session of user `local` in tenant `default`; any field overridden."""
    now = fields.pop("created_at", None) or datetime.now(UTC)
    values: dict[str, Any] = {
        "id": new_id(),
        "name": "s",
        "model": "",
        "agent": "claude-code",
        "source": GitSource(),
        "status": SessionStatus.CREATED,
        "owner_id": "local",
        "tenant_id": "default",
        "created_at": now,
        "updated_at": now,
        "last_active": now,
    }
    values.update(fields)
    return Session(**values)


@pytest.fixture
def make_session() -> Callable[..., Session]:
    return build_session


# ------------------------------------------------------------------ live server


@cache
def _ssl_context() -> ssl.SSLContext:
    """One context for every test client: building one per client costs ~40 ms."""
    return ssl.create_default_context()


def api_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=10, verify=_ssl_context()
    )


@dataclass
class LiveServer:
    """A served app: real sockets, real HTTP, the test's event loop."""

    base_url: str
    api: httpx.AsyncClient
    http: httpx.AsyncClient
    app: FastAPI
    runtime: Runtime
    settings: Settings
    uvicorn_server: uvicorn.Server
    task: asyncio.Task[None]
    sock: socket.socket
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def fake(self) -> FakeRuntime:
        """The runtime, as the fake it is in these tests (for its records of what happened)."""
        assert isinstance(self.runtime, FakeRuntime)
        return self.runtime

    @property
    def store(self) -> SqlStore:
        sql_store: SqlStore = self.app.state.store
        return sql_store

    def as_user(
        self,
        user_id: str | None,
        *,
        tenant: str | None = None,
        roles: str | None = None,
        email: str | None = None,
    ) -> httpx.AsyncClient:
        """An API client sending identity headers (for `auth.mode = headers`)."""
        given = {
            "x-auth-user-id": user_id,
            "x-auth-tenant": tenant,
            "x-auth-roles": roles,
            "x-auth-email": email,
        }
        client = api_client(
            self.base_url + API_PREFIX, {k: v for k, v in given.items() if v is not None}
        )
        self._clients.append(client)
        return client

    async def force_status(self, session_id: str, status: str, **fields: Any) -> None:
        """Write a status (and fields) straight into the store, bypassing the lifecycle."""
        async with self.store.transaction() as tx:
            session = await tx.get_session(session_id)
            assert session is not None
            expected = session.version
            session.status = SessionStatus(status)
            for name, value in fields.items():
                setattr(session, name, value)
            assert await tx.update_session(session, expected)

    async def shutdown(self) -> None:
        for client in [*self._clients, self.api, self.http]:
            await client.aclose()
        self.uvicorn_server.should_exit = True
        try:
            await asyncio.wait_for(self.task, 15)
        finally:
            self.sock.close()


def _bound_socket() -> socket.socket:
    """A listening-ready socket on a free loopback port.

    `proto` must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted connections of
    such sockets, and without it every response waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def start_live_server(
    home: Path, runtime: Runtime | None = None, settings: dict[str, Any] | None = None
) -> LiveServer:
    """Serve `create_app` on a free loopback port until `started` (see the conftest index)."""
    sock = _bound_socket()
    host, port = sock.getsockname()
    # As `volundr serve` does: session hosts call back to the address actually served.
    app_settings = Settings(home=home, **(settings or {})).served_at(host, port)
    chosen = runtime if runtime is not None else InstantRuntime()
    app = create_app(app_settings, runtime=chosen)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
    )
    server = serving.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn-{port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # re-raises the start-up error
            raise RuntimeError("uvicorn exited before it started")
        if loop.time() > deadline:
            server.should_exit = True
            sock.close()
            raise TimeoutError("uvicorn did not start within 15 s")
        await asyncio.sleep(0.005)
    base_url = f"http://{host}:{port}"
    return LiveServer(
        base_url=base_url,
        api=api_client(base_url + API_PREFIX),
        http=api_client(base_url),
        app=app,
        runtime=chosen,
        settings=app_settings,
        uvicorn_server=server,
        task=task,
        sock=sock,
    )


LiveServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServerFactory]:
    started: list[LiveServer] = []

    async def factory(
        runtime: Runtime | None = None,
        home: Path | None = None,
        runtime_settings: dict[str, Any] | None = None,
        **settings: Any,
    ) -> LiveServer:
        if runtime_settings is not None:
            settings["runtime"] = runtime_settings
        live = await start_live_server(home or tmp_path / "home", runtime, settings)
        started.append(live)
        return live

    try:
        yield factory
    finally:
        for live in reversed(started):
            if not live.task.done():
                await live.shutdown()


@pytest.fixture
async def server(live_server: LiveServerFactory) -> LiveServer:
    return await live_server()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """One default server for a whole module whose tests only touch their own sessions.

    The module must run its tests in the module's loop:
    `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
    """
    live = await start_live_server(tmp_path_factory.mktemp("shared") / "home")
    try:
        yield live
    finally:
        await live.shutdown()


# ------------------------------------------------------------------ helpers


async def join_new_threads(before: set[threading.Thread], timeout: float = 1.0) -> None:  # noqa: ASYNC109
    """Give threads started since `before` up to `timeout` s to end, while the loop runs.

    aiosqlite stops the worker thread of a connection that failed to open without awaiting
    it; if the loop closes first, the thread's last callback raises "Event loop is closed".
    Threads still alive after `timeout` (a server's pooled connections) are left alone.
    """
    step = 0.005
    for _ in range(int(timeout / step)):
        if not any(t.is_alive() for t in set(threading.enumerate()) - before):
            return
        await asyncio.sleep(step)


async def wait_for_status_of(
    api: httpx.AsyncClient, session_id: str, status: str, timeout: float = 5.0  # noqa: ASYNC109
) -> dict[str, Any]:
    """Poll `GET /sessions/{id}` until it reports `status`; fails on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await api.get(f"/sessions/{session_id}")
        last = response.json()
        if response.status_code == 200 and last["status"] == status:
            body: dict[str, Any] = last
            return body
        if loop.time() > deadline:
            pytest.fail(f"session {session_id} did not reach {status!r} in {timeout} s: {last}")
        await asyncio.sleep(0.01)


@pytest.fixture
def wait_for_status() -> Callable[..., Awaitable[dict[str, Any]]]:
    return wait_for_status_of


async def status_events_of(live: LiveServer, session_id: str) -> list[StatusEvent]:
    """`(from, to, error)` of every `session_status` event of a session, in server order."""
    table = session_events_table
    async with live.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(table.c.data)
            .where(table.c.session_id == session_id, table.c.event_type == "session_status")
            .order_by(table.c.server_seq)
        )
        return [(r[0]["from"], r[0]["to"], r[0]["error"]) for r in rows]


@pytest.fixture
def session_events() -> Callable[..., Awaitable[list[StatusEvent]]]:
    return status_events_of
