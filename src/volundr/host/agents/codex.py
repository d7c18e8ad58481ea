"""Codex: `codex exec --json [--model m] <prompt>` (follow-ups: `… resume <thread id>
<prompt>`), one process per turn, JSON-lines thread events on stdout.

Read: `thread.started` (thread id), `item.started` / `item.completed` with items
`agent_message`, `command_execution`, `file_change`, `mcp_tool_call`, `web_search`,
`error`; `turn.completed` (usage: `input_tokens` — cached input included —,
`cached_input_tokens`, `output_tokens`), `turn.failed` and `error`. Codex reports no cost:
the server prices its usage from the model catalogue.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from volundr.host.agents.base import (
    Activity,
    Emit,
    Output,
    Resume,
    Usage,
    as_int,
    log,
    parse_line,
    preview,
    safe_prompt,
)
from volundr.host.agents.tools import FileChange, relative, shell_outputs, summarize

DEFAULT_MODEL = "codex"
"""Model name used in usage reports when the session gives none (the agent's default)."""
_FILE_KINDS = {"add": "created", "update": "modified", "delete": "deleted"}


class CodexAdapter:
    kind = "codex"
    accepts_messages = True

    def __init__(self, prefix: tuple[str, ...], workspace: Path) -> None:
        self._prefix = list(prefix)
        self._workspace = workspace
        self._model = DEFAULT_MODEL
        self._thread: str | None = None
        self._started: set[str] = set()
        self._messages = 0
        self._done = False

    def argv(self, prompt: str, model: str, resume: str | None) -> list[str]:
        self._model = model or DEFAULT_MODEL
        argv = [*self._prefix, "exec", "--json", *(["--model", model] if model else [])]
        if resume:
            argv += ["resume", resume]
        return [*argv, safe_prompt(prompt)]

    def begin_turn(self) -> None:
        self._started = set()
        self._messages = 0
        self._done = False

    def feed(self, line: bytes) -> list[Output]:
        obj = parse_line(line, self.kind)
        if obj is None:
            return []
        kind = str(obj.get("type") or "")
        try:
            return self._event(kind, obj)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            log.info("codex: skipping a malformed %s line: %s", kind, exc)
            return []

    def end_turn(self, exit_code: int) -> list[Output]:
        if self._done or exit_code == 0:
            return []
        message = f"agent exited with status {exit_code} before the turn completed"
        return [Emit("error", {"message": message, "exit_code": exit_code})]

    # ------------------------------------------------------------------ events

    def _event(self, kind: str, obj: dict[str, Any]) -> list[Output]:
        if kind == "thread.started" and isinstance(obj.get("thread_id"), str):
            self._thread = obj["thread_id"]
            return [Resume(obj["thread_id"])]
        if kind in ("item.started", "item.completed") and isinstance(obj.get("item"), dict):
            item = obj["item"]
            return self._started_item(item) if kind == "item.started" else self._item(item)
        if kind == "turn.completed":
            self._done = True
            return [*self._usage(obj.get("usage")), Activity("idle")]
        if kind == "turn.failed":
            self._done = True
            error = obj.get("error")
            error = error if isinstance(error, dict) else {}
            return [Emit("error", {"message": str(error.get("message", "turn failed"))[:1000]}),
                    Activity("idle")]  # fmt: skip
        if kind == "error":
            return [Emit("error", {"message": str(obj.get("message", ""))[:1000]})]
        if kind not in ("turn.started", "item.updated"):
            log.info("codex: skipping a line of unknown type %r", kind)
        return []

    def _started_item(self, item: dict[str, Any]) -> list[Output]:
        tool, data = _tool_of(item)
        if tool is None:
            return []
        self._started.add(str(item.get("id", "")))
        return [
            Emit("tool_use", {"tool": tool, **data}),
            Activity("tool_executing", {"tool": tool}),
        ]

    def _item(self, item: dict[str, Any]) -> list[Output]:
        kind = item.get("type")
        out: list[Output] = []
        tool, data = _tool_of(item)
        if tool is not None and str(item.get("id", "")) not in self._started:
            out.append(Emit("tool_use", {"tool": tool, **data}))
        if kind == "agent_message" and isinstance(item.get("text"), str):
            self._messages += 1
            out.append(Emit("message_assistant", preview(item["text"]), model=self._model))
        elif kind == "command_execution":
            command = str(item.get("command") or "")
            code = item.get("exit_code")
            completed = item.get("status") == "completed"
            exit_code = code if isinstance(code, int) else (0 if completed else 1)
            output = str(item.get("aggregated_output") or "")
            out.append(Emit("terminal_command", {"command": command, "exit_code": exit_code,
                                                 "output_preview": output[:200]}))  # fmt: skip
            out += shell_outputs(command, exit_code, self._workspace)
        elif kind == "file_change" and item.get("status") != "failed":
            for change in item.get("changes") or []:
                action = _FILE_KINDS.get(str(change.get("kind")))
                if action and isinstance(change.get("path"), str):
                    out.append(FileChange(action, relative(change["path"], self._workspace))
                               .emit("apply_patch"))  # fmt: skip
        elif kind == "error" or item.get("status") == "failed":
            message = item.get("message") or item.get("error") or f"{kind} failed"
            out.append(Emit("error", {"message": str(message)[:1000], "tool": tool}))
        if tool is not None:
            out.append(Activity("active"))
        return out

    def _usage(self, usage: Any) -> list[Output]:
        if not isinstance(usage, dict):
            return []
        tokens_in = as_int(usage.get("input_tokens"))
        tokens_out = as_int(usage.get("output_tokens"))
        if tokens_in + tokens_out == 0:
            return []
        key = f"{self._thread or 'thread'}:{uuid.uuid4()}:{self._model}"
        return [Usage(self._model, tokens_in, tokens_out, None, max(1, self._messages), key)]


def _tool_of(item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    kind = item.get("type")
    if kind == "command_execution":
        return "shell", {"command": str(item.get("command") or "")[:500]}
    if kind == "file_change":
        return "apply_patch", {"changes": summarize(item.get("changes") or [])}
    if kind == "mcp_tool_call":
        return f"{item.get('server', 'mcp')}.{item.get('tool', 'tool')}", {}
    if kind == "web_search":
        return "web_search", {"query": str(item.get("query") or "")[:500]}
    return None, {}
