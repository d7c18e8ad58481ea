"""The launch spec (with the session token) reaches the host on a pipe, never through the
environment: the agent runs as the same user and could read `/proc/<pid>/environ`."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

TOKEN = "vst_0123456789abcdef0123456789abcdef_do-not-leak"


def environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


async def test_the_token_is_in_no_environment(launch, wait_for) -> None:
    state = await launch(token=TOKEN)
    await wait_for(state)
    async with httpx.AsyncClient(trust_env=False) as client:
        health = (await client.get(f"http://127.0.0.1:{state['port']}/health")).json()
    agent_pid = health["agent"]["pid"]
    for pid in (state["pid"], agent_pid):
        env = environ(pid)
        assert TOKEN.encode() not in env
        assert b"VOLUNDR_HOST_SPEC" not in env
        assert f"VOLUNDR_SESSION_ID={state['session_id']}".encode() in env
    assert os.readlink(f"/proc/{state['pid']}/fd/0") == "/dev/null"


async def test_a_host_without_a_spec_on_stdin_exits_2(tmp_path: Path) -> None:
    import asyncio
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "volundr.host", stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "VOLUNDR_HOST_FD": "99"},
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"a spec on stdin" in err
