"""Building the agent's argv and environment from its template."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from volundr.domain.models import AgentTemplate
from volundr.host.agent import (
    AgentError,
    build_argv,
    build_env,
    find_executable,
    resolve_executable,
)


def template(kind: str, *command: str, **env: str) -> AgentTemplate:
    return AgentTemplate(name=kind, kind=kind, command=command, env=env)


def test_command_substitutes_prompt_and_model_in_every_argument() -> None:
    argv = build_argv(
        template("command", "aider", "--model={model}", "--message", "{prompt} ({model})"),
        "fix it; rm -rf /",
        "gpt",
    )
    assert argv == ["aider", "--model=gpt", "--message", "fix it; rm -rf / (gpt)"]


def test_placeholders_inside_the_prompt_or_model_reach_the_agent_as_written() -> None:
    argv = build_argv(
        template("command", "agent", "{prompt}", "{model}"), "use {model} and {prompt}", "m{prompt}"
    )
    assert argv == ["agent", "use {model} and {prompt}", "m{prompt}"]


def test_claude_code_appends_its_flags_and_the_model_when_set() -> None:
    t = template("claude-code", "npx", "claude")
    assert build_argv(t, "hi", "") == [
        "npx", "claude", "-p", "hi", "--output-format", "stream-json", "--verbose",
    ]  # fmt: skip
    assert build_argv(t, "hi", "sonnet")[-2:] == ["--model", "sonnet"]


def test_codex_puts_the_prompt_last() -> None:
    assert build_argv(template("codex", "codex"), "hi", "o3") == [
        "codex", "exec", "--json", "--model", "o3", "hi",
    ]  # fmt: skip
    assert build_argv(template("codex", "codex"), "hi", "") == ["codex", "exec", "--json", "hi"]


def test_empty_command_and_unknown_kind_are_errors() -> None:
    with pytest.raises(AgentError, match="no command"):
        build_argv(template("command"), "", "")
    with pytest.raises(AgentError, match="unknown kind"):
        build_argv(template("weird", "x"), "", "")


def test_env_layers_host_template_session_then_markers() -> None:
    env = build_env(
        {"PATH": "/bin", "A": "host", "B": "host"},
        template("command", "x", A="template", C="template"),
        {"C": "session"},
        "the prompt",
        "sid",
    )
    assert env["A"] == "template" and env["B"] == "host" and env["C"] == "session"
    assert env["VOLUNDR_INITIAL_PROMPT"] == "the prompt"
    assert env["VOLUNDR_SESSION_ID"] == "sid"


def test_find_executable_uses_the_agent_path_and_relative_paths_from_cwd(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    assert find_executable("tool", {"PATH": str(tool.parent)}, tmp_path) is None  # not +x
    tool.chmod(0o755)
    assert find_executable("tool", {"PATH": str(tool.parent)}, tmp_path) == str(tool)
    assert find_executable("tool", {"PATH": os.defpath}, tmp_path) is None
    assert find_executable("bin/tool", {}, tmp_path) == str(tmp_path / "bin" / "tool")
    assert find_executable(str(tool), {}, Path("/")) == str(tool)



def test_an_agent_that_cannot_be_found_or_run_is_named_with_the_reason(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    path = {"PATH": str(tool.parent)}
    with pytest.raises(AgentError) as caught:
        resolve_executable("aider", "/nonexistent/agent-bin", path, tmp_path)
    assert str(caught.value) == "agent 'aider' not installed: /nonexistent/agent-bin not found"
    with pytest.raises(AgentError) as caught:
        resolve_executable("aider", "nope", path, tmp_path)
    assert str(caught.value) == "agent 'aider' not installed: nope not found in PATH"
    for argv0 in ("tool", str(tool), "bin/tool"):
        with pytest.raises(AgentError) as caught:
            resolve_executable("aider", argv0, path, tmp_path)
        assert str(caught.value) == f"agent 'aider' could not be started: {tool} is not executable"
    tool.chmod(0o755)
    assert resolve_executable("aider", "tool", path, tmp_path) == str(tool)

async def test_output_lines_are_split_across_chunks_and_long_ones_cut() -> None:
    from volundr.host.agent import _pump_lines

    stream = asyncio.StreamReader()
    for chunk in (b"fir", b"st\r\nsec", b"ond\n", b"y" * 200_000, b"yyy\nlast"):
        stream.feed_data(chunk)
    stream.feed_eof()
    lines: list[str] = []
    await _pump_lines(stream, 100, lines.append)
    assert lines == ["first", "second", "y" * 100 + " …[truncated]", "last"]


async def test_an_argument_the_os_cannot_take_is_an_agent_error(tmp_path: Path) -> None:
    from volundr.host.agent import Agent
    from volundr.host.logwriter import LogWriter
    from volundr.host.procs import ChildReaper

    agent = Agent(LogWriter(tmp_path / "log.jsonl"), ChildReaper(), 1024)
    with pytest.raises(AgentError) as caught:
        await agent.start("script", ["true", "a\x00b"], dict(os.environ), tmp_path)
    assert str(caught.value).startswith("agent 'script' could not be started: ")
    assert "null" in str(caught.value)
