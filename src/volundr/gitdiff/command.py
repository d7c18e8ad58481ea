"""Running git read-only on a workspace: isolated configuration, bounded output."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_CONFIG = (
    "-c", "core.quotePath=false",
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false",
    "-c", "protocol.allow=never",
)  # fmt: skip
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Output:
    returncode: int
    stdout: bytes
    stderr: str
    truncated: bool = False
    """stdout was cut at the byte limit (the process was then killed)."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 or self.truncated

    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace").strip()


def base_env(workspace: Path) -> dict[str, str]:
    """The environment of every call: no user or system configuration, no prompts, no
    repository discovery above the workspace, no optional index writes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_LITERAL_PATHSPECS="1",
        GIT_CEILING_DIRECTORIES=str(workspace.parent),
        LC_ALL="C",
    )
    return env


async def disable_filters(env: dict[str, str], workspace: Path) -> None:
    """Neutralize every filter driver the workspace's own config defines (in `env`, as
    `git -c` would): the agent writes that config, and a `clean` or `process` command would
    otherwise run whenever git reads a working-tree file (a diff, an intent-to-add). Reading
    the config runs nothing; its driver names become `filter.<name>.clean=` (empty: no
    filter), `smudge=`, `process=` and `required=false`."""
    found = await run_git(
        ["config", "--includes", "--name-only", "--get-regexp", r"^filter\."],
        cwd=workspace, env=env,
    )  # fmt: skip
    names = {
        key.split(".", 1)[1].rsplit(".", 1)[0]
        for key in found.stdout.decode("utf-8", errors="surrogateescape").splitlines()
        if key.count(".") >= 2
    }
    overrides = [
        (f"filter.{name}.{part}", value)
        for name in sorted(names)
        for part, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))
    ]
    for index, (key, value) in enumerate(overrides):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if overrides:
        env["GIT_CONFIG_COUNT"] = str(len(overrides))


async def run_git(
    args: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None = None,
    limit: int | None = None,
) -> Output:
    """`git <config> <args>`; stdout is read up to `limit` bytes (then the process is killed
    and `truncated` set), so a huge diff never fills memory."""
    proc = await asyncio.create_subprocess_exec(
        "git", *_CONFIG, *args,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    feeding = asyncio.create_task(_feed(proc, stdin)) if stdin is not None else None
    errors = asyncio.create_task(proc.stderr.read())
    try:
        out, truncated = await _read_bounded(proc.stdout, limit)
        if truncated:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = await proc.wait()
        err = await errors
        if feeding is not None:
            await feeding
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        for task in (errors, feeding):
            if task is not None:
                task.cancel()
        await proc.wait()
        raise
    return Output(code, out, err.decode("utf-8", errors="replace"), truncated)


async def _read_bounded(stream: asyncio.StreamReader, limit: int | None) -> tuple[bytes, bool]:
    if limit is None:
        return await stream.read(), False
    buf = bytearray()
    while chunk := await stream.read(_READ_CHUNK):
        buf += chunk
        if len(buf) > limit:
            return bytes(buf), True
    return bytes(buf), False


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()
