"""Agent adapters: how to invoke an agent and how to read its output.

`claude-code` and `codex` parse their JSON-lines streams into events, usage and activity;
`command` only logs its output.
"""

from __future__ import annotations

from pathlib import Path

from volundr.domain.models import AgentTemplate
from volundr.host.agents.base import Adapter, AdapterError
from volundr.host.agents.claude_code import ClaudeCodeAdapter
from volundr.host.agents.codex import CodexAdapter
from volundr.host.agents.command import CommandAdapter


def adapter_for(template: AgentTemplate, workspace: Path) -> Adapter:
    """The adapter of `template.kind`; AdapterError for an empty command or unknown kind."""
    if not template.command:
        raise AdapterError(f"agent '{template.name}' has no command")
    if template.kind == "claude-code":
        return ClaudeCodeAdapter(template.command, workspace)
    if template.kind == "codex":
        return CodexAdapter(template.command, workspace)
    if template.kind == "command":
        return CommandAdapter(template.command)
    raise AdapterError(f"agent '{template.name}' has an unknown kind '{template.kind}'")


__all__ = ["Adapter", "AdapterError", "adapter_for"]
