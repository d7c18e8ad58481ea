"""Running git safely: a locked-down environment and option-proof argument lists.

Every git call gets `GIT_TERMINAL_PROMPT=0`, no askpass, `GIT_CONFIG_NOSYSTEM=1`, an
explicit protocol allow-list, `protocol.ext.allow=never`, an empty credential helper list
and a batch-mode ssh, so a clone can neither prompt nor run a transport helper. Callers put
`--` before user-supplied positional arguments.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

from volundr.host.procs import ChildReaper

_CONFIG = (
    "-c", "protocol.ext.allow=never",
    "-c", "credential.helper=",
    "-c", "core.askPass=",
    "-c", "advice.detachedHead=false",
)  # fmt: skip
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/@\s]+)@")
_MAX_MESSAGE = 500
_MAX_CAUSES = 2
_MAX_DETAILS = 10
"""Lines carrying git's message on (e.g. files) kept before `… and N more`."""
_ERROR_PREFIXES = ("fatal: ", "error: ")
_NOISE = (
    "hint:",
    "warning:",
    "cloning into",
    "please make sure you have the correct access rights",
    "and the repository exists",
    "please commit your changes or stash them",
    "please move or remove them",
    "aborting",
)
"""Lines that never say why a command failed (advice, progress)."""


def git_env(base: Mapping[str, str], *, allow_http: bool, allow_file: bool) -> dict[str, str]:
    """`base` plus the variables that keep git non-interactive and protocol-restricted."""
    protocols = (
        ["https", "ssh"] + (["http"] if allow_http else []) + (["file"] if allow_file else [])
    )
    env = dict(base)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        SSH_ASKPASS_REQUIRE="never",
        GCM_INTERACTIVE="never",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_ALLOW_PROTOCOL=":".join(protocols),
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
    )
    return env


def redact(text: str) -> str:
    """Hide URL user-info: all of it for http(s), the password part for other schemes."""

    def hide(match: re.Match[str]) -> str:
        scheme, info = match["scheme"], match["info"]
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        user = info.split(":", 1)[0]
        return f"{scheme}{user}:***@" if ":" in info else match.group(0)

    return _USERINFO.sub(hide, text)


def git_error(stderr: str) -> str:
    """Why a git command failed, as one redacted line of at most `_MAX_MESSAGE` chars.

    git's first `fatal:`/`error:` message (without the prefix), then the lines that carry
    it on (up to a blank line or git's next message: the files a checkout would overwrite,
    the paths of a conflict), joined as `message: a.txt, b.txt`; then in parentheses the
    lines printed just before it, which name the cause underneath (the transport's, e.g.
    `ssh: connect to host … port 22: Connection refused`). git's advice ("hint: …",
    "Please commit your changes …", "Aborting") is left out. Without such a message: the
    last meaningful line.
    """
    lines = [" ".join(line.split()) for line in stderr.splitlines()]
    lines = [line for line in lines if not line.lower().startswith(_NOISE)]
    primary = next((i for i, line in enumerate(lines) if line.startswith(_ERROR_PREFIXES)), None)
    if primary is None:
        meaningful = [line for line in lines if line]
        message = meaningful[-1] if meaningful else "unknown error"
    else:
        message = _strip_prefix(lines[primary]).rstrip(".")
        details = list(
            takewhile(lambda line: line and not line.startswith(_ERROR_PREFIXES),
                      lines[primary + 1 :])
        )  # fmt: skip
        if details:
            message = f"{message.rstrip(':')}: {_listed(details)}"
        causes = [line for line in lines[:primary] if line][-_MAX_CAUSES:]
        if causes:
            message += f" ({'; '.join(causes)})"
    message = redact(message)
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def _listed(details: list[str]) -> str:
    shown = ", ".join(details[:_MAX_DETAILS])
    more = len(details) - _MAX_DETAILS
    return f"{shown} and {more} more" if more > 0 else shown


def _strip_prefix(line: str) -> str:
    for prefix in _ERROR_PREFIXES:
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Git:
    """Runs git commands as children of the host, with the locked-down env."""

    def __init__(self, env: Mapping[str, str], reaper: ChildReaper) -> None:
        self._env = dict(env)
        self._reaper = reaper

    async def run(self, *args: str, cwd: Path) -> GitResult:
        """`git <config> <args>` in `cwd`; stdin is /dev/null; output decoded as UTF-8."""
        async with self._reaper.spawning():
            proc = await asyncio.create_subprocess_exec(
                "git", *_CONFIG, *args,
                cwd=cwd,
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            self._reaper.manage(proc.pid)
        try:
            out, err = await proc.communicate()
        finally:
            self._reaper.release(proc.pid)
        return GitResult(
            proc.returncode if proc.returncode is not None else -1,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
        )

    async def output(self, *args: str, cwd: Path) -> str | None:
        """Stripped stdout of a successful command, None when it failed."""
        result = await self.run(*args, cwd=cwd)
        return result.stdout.strip() if result.ok else None

    async def has_ref(self, ref: str, *, cwd: Path) -> bool:
        """Whether the fully qualified `ref` (e.g. `refs/remotes/origin/x`) names a commit."""
        return (
            await self.output("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=cwd)
            is not None
        )
