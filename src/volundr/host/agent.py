"""The agent process: its argv and environment from the template, and its output capture.

Kinds (API §0.2 `agents.templates`): `command` runs `command` with `{prompt}`/`{model}`
replaced in each argument (plain text replacement, never a shell); `claude-code` and `codex`
treat `command` as the executable prefix and append their own flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from volundr.domain.models import AgentTemplate
from volundr.host.agentlog import agent_line
from volundr.host.logwriter import LogWriter, cut_line
from volundr.host.procs import ChildReaper
from volundr.host.spec import SESSION_MARKER_ENV

_CHUNK = 64 * 1024
PARSE_MAX_BYTES = 8 * 1024 * 1024
"""Longest stdout line handed whole to `on_stdout` (stream-json lines carry file contents)."""


class AgentError(Exception):
    """The agent cannot be started; the message is meant for the user."""


def build_argv(
    template: AgentTemplate, prompt: str, model: str, resume: str | None = None
) -> list[str]:
    """The agent's argv (per its adapter). Raises AgentError when the template has no
    command or an unknown kind."""
    from volundr.host.agents import AdapterError, adapter_for

    try:
        adapter = adapter_for(template, Path.cwd())
    except AdapterError as exc:
        raise AgentError(str(exc)) from None
    return adapter.argv(prompt, model, resume)


def runs_per_message(template: AgentTemplate) -> bool:
    """Turn-based agents (claude-code, codex) need a prompt to run; `command` always runs."""
    return template.kind in ("claude-code", "codex")


def build_env(
    base: Mapping[str, str],
    template: AgentTemplate,
    spec_env: Mapping[str, str],
    prompt: str,
    session_id: str,
) -> dict[str, str]:
    """Host env, then template env, then the session's env, then the Volundr markers."""
    env = {**base, **template.env, **spec_env}
    env["VOLUNDR_INITIAL_PROMPT"] = prompt
    env[SESSION_MARKER_ENV] = session_id
    return env


def find_executable(argv0: str, env: Mapping[str, str], cwd: Path) -> str | None:
    """The path that will be executed, None when it does not exist or is not executable."""
    if os.sep in argv0:
        path = Path(argv0) if os.path.isabs(argv0) else cwd / argv0
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(argv0, path=env.get("PATH", os.defpath))


def resolve_executable(agent: str, argv0: str, env: Mapping[str, str], cwd: Path) -> str:
    """The path that will be executed for template `agent`; AgentError saying why not:
    `agent '<agent>' not installed: <argv0> not found[ in PATH]`, or `agent '<agent>'
    could not be started: <path> is not executable` (or `is a directory`)."""
    found = find_executable(argv0, env, cwd)
    if found is not None:
        return found
    if os.sep in argv0:
        path = Path(argv0) if os.path.isabs(argv0) else cwd / argv0
        if path.is_dir():
            raise AgentError(f"agent '{agent}' could not be started: {path} is a directory")
        if path.exists():
            raise AgentError(f"agent '{agent}' could not be started: {path} is not executable")
        raise AgentError(f"agent '{agent}' not installed: {argv0} not found")
    for directory in env.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(directory or ".") / argv0
        if candidate.is_file():
            raise AgentError(
                f"agent '{agent}' could not be started: {candidate} is not executable"
            )
    raise AgentError(f"agent '{agent}' not installed: {argv0} not found in PATH")


class Agent:
    """A running agent: a child of the host in the host's process group.

    stdout lines go to the log at INFO, stderr lines at WARNING (logger `agent`) unless a
    structured line states its level (`agentlog`), both read concurrently in chunks so a
    full pipe never blocks the agent; lines longer than `max_line_bytes` are cut. `wait`
    returns on process exit even if a daemonized grandchild keeps the pipes open.
    """

    def __init__(
        self,
        writer: LogWriter,
        reaper: ChildReaper,
        max_line_bytes: int,
        on_stdout: Callable[[bytes], None] | None = None,
    ) -> None:
        self._writer = writer
        self._reaper = reaper
        self._max_line_bytes = max_line_bytes
        self._on_stdout = on_stdout
        self._proc: asyncio.subprocess.Process | None = None
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path) -> int:
        """Spawn template `name`'s agent; raises AgentError (`not installed`, …). Returns its
        pid."""
        executable = resolve_executable(name, argv[0], env, cwd)
        try:
            async with self._reaper.spawning():
                self._proc = await asyncio.create_subprocess_exec(
                    executable, *argv[1:],
                    cwd=cwd,
                    env=dict(env),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                self._reaper.manage(self._proc.pid)
        except FileNotFoundError:  # the file is there: its interpreter (#!) is not
            raise AgentError(
                f"agent '{name}' could not be started: {executable}: interpreter not found"
            ) from None
        except OSError as exc:
            raise AgentError(
                f"agent '{name}' could not be started: {executable}: {exc.strerror}"
            ) from None
        except ValueError as exc:  # e.g. a NUL in an argument or the environment
            raise AgentError(f"agent '{name}' could not be started: {exc}") from None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._pumps = [
            asyncio.create_task(self._pump(self._proc.stdout, "INFO", self._on_stdout)),
            asyncio.create_task(self._pump(self._proc.stderr, "WARNING")),
        ]
        return self._proc.pid

    async def wait(self) -> int:
        """The exit status once the process exited: its code, or 128+N for signal N."""
        assert self._proc is not None
        code = await self._proc.wait()
        self._reaper.release(self._proc.pid)
        return 128 - code if code < 0 else code

    async def drain(self, timeout_s: float = 0.5) -> None:
        """Give the pumps up to `timeout_s` to log what is left in the pipes.

        They keep running afterwards if a grandchild still holds the pipes open.
        """
        if self._pumps:
            await asyncio.wait(self._pumps, timeout=timeout_s)

    async def close(self, timeout_s: float = 1.0) -> None:
        """At shutdown: wait for the (killed) process to be reaped, then stop the pumps."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), timeout_s)
        for task in self._pumps:
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _pump(
        self,
        stream: asyncio.StreamReader,
        level: str,
        raw: Callable[[bytes], None] | None = None,
    ) -> None:
        await _pump_lines(
            stream, self._max_line_bytes, lambda line: self._emit(level, line),
            raw=raw, raw_max_bytes=PARSE_MAX_BYTES,
        )  # fmt: skip

    def _emit(self, level: str, line: str) -> None:
        entry = agent_line(line, level)
        self._writer.write(entry.level, entry.logger, entry.message)


async def _pump_lines(
    stream: asyncio.StreamReader,
    max_bytes: int,
    emit: Callable[[str], None],
    *,
    raw: Callable[[bytes], None] | None = None,
    raw_max_bytes: int = 0,
) -> None:
    """Feed `emit` one decoded line at a time; a line over `max_bytes` is cut, its rest dropped.

    With `raw`, every whole line of at most `raw_max_bytes` is also given to `raw` as bytes
    (after `emit`); longer lines are only logged, cut.
    """
    limit = max(max_bytes, raw_max_bytes) if raw else max_bytes
    buf = bytearray()
    dropping = False

    def deliver(line: bytes, whole: bool = True) -> None:
        emit(cut_line(line, max_bytes))
        if raw is not None and whole:
            raw(line)

    while chunk := await stream.read(_CHUNK):
        buf += chunk
        while (newline := buf.find(b"\n")) >= 0:
            line = bytes(buf[:newline]).rstrip(b"\r")
            del buf[: newline + 1]
            if dropping:
                dropping = False
            else:
                deliver(line)
        if len(buf) > limit:
            if not dropping:
                deliver(bytes(buf), whole=False)
            dropping = True
            buf.clear()
    if buf and not dropping:
        deliver(bytes(buf).rstrip(b"\r"))
