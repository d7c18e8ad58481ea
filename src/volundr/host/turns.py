"""The agent's turns: one process per turn, its output parsed in order into reports.

A turn starts with the initial prompt or with a message (`POST /messages` on the host's
port, authenticated by the hash of the session token, which only the API knows besides the
host). One turn at a time: a message while a turn runs is answered 409. Turn-based agents
continue their own session (`--resume <id>`); the id is kept in `agent.json` beside the
workspace so a restarted session continues the same conversation.

Stdout lines go through one queue and one consumer per turn, so reports keep the order of
the output even when a line needs a look at the repository (a commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from volundr.domain.models import AgentTemplate
from volundr.host.agent import Agent, AgentError
from volundr.host.agents import Adapter, AdapterError, adapter_for
from volundr.host.agents.base import (
    Activity,
    CheckHead,
    Emit,
    Output,
    Resume,
    Summary,
    Usage,
    preview,
)
from volundr.host.gitwatch import HeadWatcher
from volundr.host.logwriter import LogWriter
from volundr.host.procs import ChildReaper
from volundr.host.reports import ReportSender

log = logging.getLogger("volundr.host")

ExitHook = Callable[[int], Awaitable[None]]
StartHook = Callable[[int | None], None]


class Turns:
    def __init__(
        self,
        *,
        template: AgentTemplate,
        session_dir: Path,
        workspace: Path,
        writer: LogWriter,
        reaper: ChildReaper,
        max_line_bytes: int,
        reports: ReportSender,
        token: str,
        on_start: StartHook,
        on_exit: ExitHook,
    ) -> None:
        self._template = template
        self._workspace = workspace
        self._state_path = session_dir / "agent.json"
        self._writer = writer
        self._reaper = reaper
        self._max_line_bytes = max_line_bytes
        self._reports = reports
        self._control = hashlib.sha256(token.encode()).hexdigest() if token else ""
        self._on_start = on_start
        self._on_exit = on_exit
        self._adapter: Adapter | None = None
        self._env: dict[str, str] = {}
        self._model = ""
        self._head: HeadWatcher | None = None
        self._agent: Agent | None = None
        self._busy = False
        self._halted = False
        self._turn = 0
        self._last_activity: tuple[str, str] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._resume = self._load_resume()

    def configure(self, env: Mapping[str, str], model: str, head: HeadWatcher | None) -> Adapter:
        """Once the workspace exists: the agent's environment, model and HEAD watcher.

        Raises AgentError for a template that cannot run (no command, unknown kind).
        """
        try:
            self._adapter = adapter_for(self._template, self._workspace)
        except AdapterError as exc:
            raise AgentError(str(exc)) from None
        self._env, self._model, self._head = dict(env), model, head
        return self._adapter

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def pid(self) -> int | None:
        return self._agent.pid if self._agent else None

    def argv(self, prompt: str) -> list[str]:
        assert self._adapter is not None
        return self._adapter.argv(prompt, self._model, self._resume)

    async def start(self, prompt: str) -> asyncio.Task[int]:
        """Spawn the next turn; the task ends (with the exit status) once the turn was fully
        reported. Raises AgentError when the agent cannot be started."""
        adapter = self._adapter
        assert adapter is not None and not self._busy
        self._busy = True
        self._turn += 1
        adapter.begin_turn()
        turn_based = adapter.accepts_messages
        if prompt:
            self._reports.event("message_user", {**preview(prompt), "turn": self._turn})
        if turn_based:
            self._activity(Activity("active", {"turn": self._turn}))
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        parse = lines.put_nowait if adapter.kind != "command" else None  # command: log only
        agent = Agent(self._writer, self._reaper, self._max_line_bytes, parse)
        try:
            await agent.start(
                self._template.name, self.argv(prompt), self._env, self._workspace
            )
        except BaseException:  # no turn runs: the next message must not find it busy
            self._busy = False
            if turn_based:
                self._activity(Activity("idle", {"turn_count": self._turn}))
            raise
        self._agent = agent
        self._on_start(agent.pid)
        consumer = asyncio.create_task(self._consume(adapter, lines))
        return asyncio.create_task(self._finish(adapter, agent, lines, consumer))

    def halt(self) -> None:
        """The host is stopping: the turn being killed is not reported as a failure."""
        self._halted = True

    async def drain(self, timeout_s: float = 0.5) -> None:
        if self._agent is not None:
            await self._agent.drain(timeout_s)

    async def close(self) -> None:
        if self._agent is not None:
            await self._agent.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ messages

    async def message_route(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """`POST /messages` `{"content"}` → 202 `{"turn"}`; 409 while a turn runs."""
        given = headers.get("authorization", "")
        if not self._control or not hmac.compare_digest(given, f"Bearer {self._control}"):
            return 401, {"detail": "Invalid control key"}
        adapter = self._adapter
        if adapter is None:
            return 409, {"detail": "The agent is not ready yet"}
        if not adapter.accepts_messages:
            return 422, {"detail": f"Agent {self._template.name} does not accept messages"}
        try:
            content = json.loads(body).get("content")
        except (ValueError, AttributeError):
            content = None
        if not isinstance(content, str) or not content:
            return 400, {"detail": "content must be a non-empty string"}
        if self._busy or self._halted:
            return 409, {"detail": "busy"}
        try:
            finished = await self.start(content)
        except AgentError as exc:
            return 502, {"detail": str(exc)}
        self._keep(self._after(finished))
        return 202, {"turn": self._turn}

    async def _after(self, finished: asyncio.Task[int]) -> None:
        await self._on_exit(await finished)

    # ------------------------------------------------------------------ output

    async def _consume(self, adapter: Adapter, lines: asyncio.Queue[bytes | None]) -> None:
        while (line := await lines.get()) is not None:
            for out in adapter.feed(line):
                await self._dispatch(out)

    async def _finish(
        self,
        adapter: Adapter,
        agent: Agent,
        lines: asyncio.Queue[bytes | None],
        consumer: asyncio.Task[None],
    ) -> int:
        try:
            code = await agent.wait()
            await agent.drain()
            lines.put_nowait(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(consumer), 5.0)
            if not self._halted:
                for out in adapter.end_turn(code):
                    await self._dispatch(out)
                await self._commits()
                if adapter.accepts_messages:
                    self._activity(Activity("idle", {"turn_count": self._turn}), force=False)
            return code
        finally:
            self._busy = False

    async def _dispatch(self, out: Output) -> None:
        if isinstance(out, Emit):
            self._reports.event(out.event_type, out.data, tokens_in=out.tokens_in,
                                tokens_out=out.tokens_out, duration_ms=out.duration_ms,
                                model=out.model)  # fmt: skip
        elif isinstance(out, Usage):
            self._reports.usage(out)
        elif isinstance(out, Activity):
            if out.state == "idle":
                out = Activity("idle", {**out.metadata, "turn_count": self._turn})
            self._activity(out)
        elif isinstance(out, Resume):
            self._save_resume(out.agent_session_id)
        elif isinstance(out, CheckHead):
            await self._commits()
        elif isinstance(out, Summary):
            self._reports.chronicle({"summary": out.text})

    async def _commits(self) -> None:
        if self._head is None:
            return
        for commit in await self._head.new_commits():
            data = {"hash": commit.sha, "message": commit.message, "branch": commit.branch}
            self._reports.event("git_commit", data)

    def _activity(self, activity: Activity, *, force: bool = True) -> None:
        """Report a change of activity (repeats of the same state are left out)."""
        key = (activity.state, json.dumps(activity.metadata, sort_keys=True, default=str))
        last = self._last_activity
        if last is not None and (key == last or (not force and key[0] == last[0])):
            return
        self._last_activity = key
        self._reports.activity(activity.state, activity.metadata)

    # ------------------------------------------------------------------ resume id

    def _load_resume(self) -> str | None:
        try:
            saved = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("kind") != self._template.kind:
            return None
        value = saved.get("agent_session_id")
        return value if isinstance(value, str) and value else None

    def _save_resume(self, agent_session_id: str) -> None:
        if agent_session_id == self._resume:
            return
        self._resume = agent_session_id
        record = {"kind": self._template.kind, "agent_session_id": agent_session_id}
        try:
            self._state_path.write_text(json.dumps(record))
        except OSError as exc:
            log.warning("could not keep the agent session id: %s", exc)

    def _keep(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
