"""Shared fixtures.

Store and served app (defined in `tests/app_fixtures.py`, used by tests/store and tests/api):
- `empty_db_url`: async SQLAlchemy URL of an empty database: a SQLite file in `tmp_path`, or,
  when `VOLUNDR_TEST_DB_URL` is set (e.g. `postgresql+asyncpg://postgres@/volundr_test
  ?host=/tmp/pg`), that PostgreSQL database with every table dropped first, so the same store
  tests run on both engines.
- `store`: a migrated `SqlStore` on `empty_db_url`, closed after the test.
- `make_session`: `make_session(**fields)` → a valid domain `Session` (status `created`,
  owner `local`, tenant `default`), any field overridden.
- `live_server`: factory, `await live_server(runtime=None, home=None, runtime_settings=None,
  **settings)` builds `create_app(Settings(home=tmp_path / "home", **settings), runtime=...)`
  (`runtime_settings` is the `runtime` section of Settings) and serves it with a
  real `uvicorn.Server` on 127.0.0.1 (a free port bound before serving) as a task in the
  test's own event loop, waits for `started`, and returns a `LiveServer`: `base_url`, `api`
  (`httpx.AsyncClient` on `<base>/api/v1/volundr`), `http` (on `<base>`), `app`, `runtime`
  (`fake`: the same, typed as the `FakeRuntime` whose `launched`/`stopped`/`removed`/`specs`
  tests assert on), `settings`, `store`, `as_user(user, tenant=, roles=, email=)` (a client
  sending identity
  headers) and `force_status(id, status, **fields)` (writes the store directly). The runtime
  defaults to an `InstantRuntime`. Servers are shut down at teardown (`should_exit`, awaited).
- `server`: one `LiveServer` with an `InstantRuntime`, identity mode `none`.
- `shared_server`: the same, shared by a whole module (module-scoped loop: the module sets
  `pytestmark = pytest.mark.asyncio(loop_scope="module")`); for tests that only touch the
  sessions they create. Saves ~0.3 s of uvicorn start/stop per test.
- `wait_for_status`: `await wait_for_status(api, id, status, timeout=5.0)` polls
  `GET /sessions/{id}` until `status`; returns the session body, fails on timeout.
- `session_events`: `await session_events(live, id)` → `(from, to, error)` of every
  `session_status` event of the session, in server order (SQL on the app's store).

Git and session hosts (used by tests/host and tests/runtime):
- `git_env`: isolates git from the user's configuration (HOME, GIT_CONFIG_GLOBAL, no
  system config) and sets author/committer identity by environment; returns the env.
- `run_git`: `run_git(cwd, *args)` → stdout of a git command (raises on failure).
- `make_repo`: builds a real repository (default branch `master`, extra branches, files).
- `runtime`: a LocalRuntime over a temporary sessions dir, with tiny timeouts.
- `make_spec`: `make_spec(**fields)` → a LaunchSpec (command agent `sleep 60`, no repo).
- `launch`: builds a LaunchSpec (command agent by default) and starts a host through
  `runtime`; every host started this way is stopped at teardown.
- `wait_for`: polls a runtime state until a predicate on its RuntimeStatus holds.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import (  # noqa: F401 - fixtures are registered by import
    empty_db_url,
    live_server,
    make_session,
    server,
    session_events,
    shared_server,
    store,
    wait_for_status,
)
from volundr.domain.models import AgentTemplate
from volundr.ports import LaunchSpec, Phase, RuntimeStatus
from volundr.runtime.local import LocalRuntime

RepoFactory = Callable[..., Path]


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "gitconfig"
    config.write_text("")
    values = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd`; returns stripped stdout, raises on failure."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def run_git(git_env: dict[str, str]) -> Callable[..., str]:
    """`run_git(cwd, *args)` → stripped stdout of git (isolated config), raises on failure."""
    return git


@pytest.fixture
def make_repo(tmp_path: Path, git_env: dict[str, str]) -> RepoFactory:
    """`make_repo(name, default="master", branches=(...), files={...})` → repository path.

    Each extra branch gets one commit adding `<branch with / → _>.txt`.
    """

    def factory(
        name: str = "origin",
        *,
        default: str = "master",
        branches: Iterable[str] = ("feature/a/b",),
        files: dict[str, str] | None = None,
    ) -> Path:
        repo = tmp_path / "repos" / name
        repo.mkdir(parents=True)
        git(repo, "init", "--quiet", f"--initial-branch={default}")
        for path, text in (files or {"README.md": "hello\n"}).items():
            (repo / path).write_text(text)
        git(repo, "add", "--all")
        git(repo, "commit", "--quiet", "-m", "initial")
        for branch in branches:
            git(repo, "checkout", "--quiet", "-b", branch, default)
            (repo / f"{branch.replace('/', '_')}.txt").write_text(branch)
            git(repo, "add", "--all")
            git(repo, "commit", "--quiet", "-m", f"on {branch}")
        git(repo, "checkout", "--quiet", default)
        return repo

    return factory


@pytest.fixture
def runtime(tmp_path: Path, git_env: dict[str, str]) -> LocalRuntime:
    return LocalRuntime(sessions_dir=tmp_path / "sessions", max_line_bytes=256, stop_grace_s=1.0)


def _make_spec(**overrides: Any) -> LaunchSpec:
    """A LaunchSpec for a command agent that idles; override any field."""
    fields: dict[str, Any] = {
        "session_id": str(uuid.uuid4()),
        "repo": "",
        "branch": "",
        "base_branch": "",
        "model": "",
        "agent": AgentTemplate(name="script", kind="command", command=("sleep", "60")),
        "prompt": "",
        "system_prompt": "",
        "env": {},
        "token": "secret-token",
        "callback_url": "",
        "allow_local_repos": True,
    }
    fields.update(overrides)
    return LaunchSpec(**fields)


SpecFactory = Callable[..., LaunchSpec]


@pytest.fixture
def make_spec() -> SpecFactory:
    """`make_spec(**fields)` → a LaunchSpec for a command agent that idles (`sleep 60`)."""
    return _make_spec


Launch = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def launch(runtime: LocalRuntime) -> AsyncIterator[Launch]:
    """`await launch(**spec_fields)` → runtime state; hosts are stopped at teardown."""
    states: list[dict[str, Any]] = []

    async def start(**overrides: Any) -> dict[str, Any]:
        launched = await runtime.start(_make_spec(**overrides))
        states.append(launched.state)
        return launched.state

    yield start
    for state in states:
        await runtime.stop(state, grace_s=0.5)


WaitFor = Callable[..., Awaitable[RuntimeStatus]]


@pytest.fixture
def wait_for(runtime: LocalRuntime) -> WaitFor:
    """`await wait_for(state, until=lambda s: ..., within_s=10)`; default: out of PROVISIONING."""

    async def wait(
        state: dict[str, Any],
        until: Callable[[RuntimeStatus], bool] = lambda s: s.phase != Phase.PROVISIONING,
        within_s: float = 10.0,
        on: LocalRuntime | None = None,
    ) -> RuntimeStatus:
        deadline = time.monotonic() + within_s
        while True:
            status = await (on or runtime).poll(state)
            if until(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; last status {status}")
            await asyncio.sleep(0.02)

    return wait
