"""An in-memory runtime for tests: no processes, behaviour chosen by `mode`.

Modes: `instant` (READY at once), `slow` (READY `delay_s` after start), `never-ready`
(PROVISIONING forever), `failing` (FAILED with "fake runtime failed to provision").
`start_error` makes `start` itself raise RuntimeFailure. A stopped launch polls as GONE;
`find_launched` lists the launches of a session not stopped yet (the object outlives a
test's server, as detached hosts outlive a real one). The state is plain JSON (as stored
in the session row); what happened is recorded in `launched`, `stopped`, `removed` and
`specs` for assertions.

Workspace reads (logs, diffs, sizes): with `sessions_dir`, from real files laid out as the
local runtime does (`<sessions_dir>/<id>/workspace`, `logs/session.jsonl`, `start.json`),
so tests can put a real git repository there; without it, every workspace is empty.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from volundr.domain.diffs import DiffBase, DiffSummary, FileDiff, FullDiff, normalize_path
from volundr.domain.errors import AgentBusy, RuntimeFailure
from volundr.domain.logs import LogPage, LogQuery
from volundr.ports import Launched, LaunchSpec, Phase, RuntimeStatus
from volundr.runtime.files import SessionFiles

FakeMode = Literal["instant", "slow", "never-ready", "failing"]
FAILED_MESSAGE = "fake runtime failed to provision"
DEFAULT_BRANCH = "main"


class FakeRuntime:
    """Implements `volundr.ports.Runtime` in memory."""

    name = "fake"

    def __init__(
        self, mode: FakeMode = "instant", *, delay_s: float = 0.5, start_error: str | None = None,
        sessions_dir: Path | None = None,
    ) -> None:
        self.files = SessionFiles(sessions_dir) if sessions_dir is not None else None
        if mode not in ("instant", "slow", "never-ready", "failing"):
            raise ValueError(f"unknown fake runtime mode: {mode}")
        self.mode: FakeMode = mode
        self.delay_s = delay_s
        self.start_error = start_error
        self.launched: list[str] = []
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.specs: dict[str, LaunchSpec] = {}
        self._launches: dict[str, Launched] = {}
        self._stopped_launches: set[str] = set()
        self._agent_exits: dict[str, int] = {}
        self.messages: dict[str, list[str]] = {}
        self.busy: set[str] = set()
        """Sessions whose agent answers `send_message` with AgentBusy."""

    async def start(self, spec: LaunchSpec) -> Launched:
        if self.start_error is not None:
            raise RuntimeFailure(self.start_error)
        launch_id = uuid.uuid4().hex
        self.launched.append(spec.session_id)
        self.specs[spec.session_id] = spec
        self._agent_exits.pop(spec.session_id, None)  # a new launch runs a new agent
        state = {
            "fake": True,
            "launch_id": launch_id,
            "session_id": spec.session_id,
            "started_at": time.time(),
            "branch": spec.branch or DEFAULT_BRANCH,
        }
        launched = Launched(
            state=state,
            pod_name=f"fake-{launch_id[:8]}",
            code_endpoint=f"file:///fake/{spec.session_id}/workspace",
        )
        self._launches[launch_id] = launched
        return launched

    async def find_launched(self, session_id: str) -> list[Launched]:
        return [
            launched for launch_id, launched in self._launches.items()
            if launched.state["session_id"] == session_id
            and launch_id not in self._stopped_launches
        ]  # fmt: skip

    async def poll(self, state: dict[str, Any]) -> RuntimeStatus:
        launch_id = state.get("launch_id")
        if not isinstance(launch_id, str) or launch_id in self._stopped_launches:
            return RuntimeStatus(Phase.GONE, error="fake runtime stopped")
        branch = str(state.get("branch", DEFAULT_BRANCH))
        if self.mode == "failing":
            return RuntimeStatus(Phase.FAILED, error=FAILED_MESSAGE)
        if self.mode == "never-ready":
            return RuntimeStatus(Phase.PROVISIONING)
        started_at = float(state.get("started_at", 0.0))
        if self.mode == "slow" and time.time() - started_at < self.delay_s:
            return RuntimeStatus(Phase.PROVISIONING)
        exit_code = self._agent_exits.get(str(state.get("session_id")))
        return RuntimeStatus(Phase.READY, branch=branch, agent_exit_code=exit_code)

    async def stop(self, state: dict[str, Any], *, grace_s: float) -> None:
        launch_id = state.get("launch_id")
        if isinstance(launch_id, str) and launch_id not in self._stopped_launches:
            self._stopped_launches.add(launch_id)
            self.stopped.append(str(state.get("session_id")))

    async def remove_workspace(self, session_id: str) -> None:
        if session_id not in self.removed:
            self.removed.append(session_id)
        if self.files is not None:
            await asyncio.to_thread(
                shutil.rmtree, self.files.session_dir(session_id), ignore_errors=True
            )

    async def send_message(self, state: dict[str, Any], content: str) -> int:
        session_id = str(state.get("session_id"))
        if session_id in self.busy:
            raise AgentBusy(session_id)
        sent = self.messages.setdefault(session_id, [])
        sent.append(content)
        return len(sent)

    def finish_agent(self, session_id: str, exit_code: int) -> None:
        """Make later polls of `session_id` report that its agent exited with `exit_code`
        (until the session's next launch)."""
        self._agent_exits[session_id] = exit_code

    # ------------------------------------------------------------------ workspace reads

    async def read_logs(self, session_id: str, query: LogQuery) -> LogPage:
        if self.files is None:
            return LogPage(0, [], query.after_seq or 0)
        return await self.files.read_logs(session_id, query)

    async def workspace_ready(self, session_id: str) -> bool:
        return self.files is None or await self.files.workspace_ready(session_id)

    async def diff_files(self, session_id: str, base: DiffBase) -> DiffSummary:
        if self.files is None:
            return DiffSummary(base.label, None, [])
        return await self.files.diff_files(session_id, base)

    async def diff(self, session_id: str, base: DiffBase, *, max_bytes: int) -> FullDiff:
        if self.files is None:
            return FullDiff(DiffSummary(base.label, None, []), "", False)
        return await self.files.diff(session_id, base, max_bytes)

    async def file_diff(
        self, session_id: str, base: DiffBase, path: str, *, max_bytes: int
    ) -> FileDiff:
        if self.files is None:
            return FileDiff(normalize_path(path), None, False, False)
        return await self.files.file_diff(session_id, base, path, max_bytes)

    async def workspace_size(self, session_id: str) -> int | None:
        return None if self.files is None else await self.files.size(session_id)

    def workspace_path(self, session_id: str) -> str | None:
        return None if self.files is None else self.files.workspace_path(session_id)


class InstantRuntime(FakeRuntime):
    """READY as soon as it is polled."""

    def __init__(self) -> None:
        super().__init__("instant")


class SlowRuntime(FakeRuntime):
    """PROVISIONING for `delay_s` after start, then READY."""

    def __init__(self, delay_s: float = 0.5) -> None:
        super().__init__("slow", delay_s=delay_s)


class NeverReadyRuntime(FakeRuntime):
    """PROVISIONING forever (exercises the provisioning timeout)."""

    def __init__(self) -> None:
        super().__init__("never-ready")


class FailingRuntime(FakeRuntime):
    """Launches, then polls as FAILED with `FAILED_MESSAGE`."""

    def __init__(self) -> None:
        super().__init__("failing")
