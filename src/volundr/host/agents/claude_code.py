"""Claude Code: `claude -p <prompt> --output-format stream-json --verbose [--model m]
[--resume <id>]`, one process per turn, newline-delimited JSON on stdout.

Lines read: `system`/`init` (agent session id, model), `assistant` messages (`text` and
`tool_use` blocks, `message.usage`), `user` messages with `tool_result` blocks (matched to
their tool use by id), and the final `result` (per-model `modelUsage` with `costUSD`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from volundr.host.agents.base import (
    Activity,
    Emit,
    Output,
    Resume,
    Summary,
    Usage,
    as_int,
    log,
    parse_line,
    preview,
    safe_prompt,
)
from volundr.host.agents.tools import (
    FileChange,
    count_lines,
    exit_code_of,
    line_changes,
    relative,
    shell_outputs,
    summarize,
)

FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
SHELL_TOOLS = frozenset({"Bash"})
SUMMARY_CHARS = 100_000
"""The chronicle takes summaries up to this long."""


@dataclass
class _Turn:
    pending: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    messages: dict[str, set[str]] = field(default_factory=dict)
    """model → ids of its assistant messages in this turn."""
    counted: set[str] = field(default_factory=set)
    result_seen: bool = False


class ClaudeCodeAdapter:
    kind = "claude-code"
    accepts_messages = True

    def __init__(self, prefix: tuple[str, ...], workspace: Path) -> None:
        self._prefix = list(prefix)
        self._workspace = workspace
        self._model = ""
        self._turn = _Turn()

    def argv(self, prompt: str, model: str, resume: str | None) -> list[str]:
        argv = [*self._prefix, "-p", safe_prompt(prompt), "--output-format", "stream-json",
                "--verbose"]  # fmt: skip
        if model:
            argv += ["--model", model]
        if resume:
            argv += ["--resume", resume]
        return argv

    def begin_turn(self) -> None:
        self._turn = _Turn()

    def feed(self, line: bytes) -> list[Output]:
        obj = parse_line(line, self.kind)
        if obj is None:
            return []
        kind = obj.get("type")
        try:
            if kind == "system":
                return self._system(obj)
            if kind == "assistant":
                return self._assistant(obj)
            if kind == "user":
                return self._user(obj)
            if kind == "result":
                return self._result(obj)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            log.info("claude-code: skipping a malformed %s line: %s", kind, exc)
            return []
        if kind != "stream_event":
            log.info("claude-code: skipping a line of unknown type %r", kind)
        return []

    def end_turn(self, exit_code: int) -> list[Output]:
        if self._turn.result_seen or exit_code == 0:
            return []
        message = f"agent exited with status {exit_code} before its result"
        return [Emit("error", {"message": message, "exit_code": exit_code})]

    # ------------------------------------------------------------------ lines

    def _system(self, obj: dict[str, Any]) -> list[Output]:
        if obj.get("subtype") != "init":
            return []
        if isinstance(obj.get("model"), str):
            self._model = obj["model"]
        sid = obj.get("session_id")
        return [Resume(sid)] if isinstance(sid, str) and sid else []

    def _assistant(self, obj: dict[str, Any]) -> list[Output]:
        """A well-formed message (a `message` object whose `content` lists typed blocks)
        counts for the usage reports' `message_count` once its blocks were read; anything
        else raises ValueError: the line is logged and skipped, and counts for nothing."""
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(content, list):
            raise ValueError("message.content is not a list")
        blocks = [b for b in content if isinstance(b, dict) and isinstance(b.get("type"), str)]
        if not blocks:
            raise ValueError("message.content has no content blocks")
        given = message.get("model")
        model: str = given if isinstance(given, str) else self._model
        msg_id = str(message.get("id") or uuid.uuid4())
        out: list[Output] = []
        for block in blocks:
            if block["type"] == "text" and isinstance(block.get("text"), str):
                out.append(self._text(block["text"], message, msg_id, model))
            elif block["type"] == "tool_use":
                out += self._tool_use(block)
        self._turn.messages.setdefault(model, set()).add(msg_id)
        return out

    def _text(self, text: str, message: dict[str, Any], msg_id: str, model: str) -> Emit:
        data = {**preview(text), "message_id": msg_id}
        usage = message.get("usage")
        if msg_id in self._turn.counted or not isinstance(usage, dict):
            return Emit("message_assistant", data, model=model or None)
        self._turn.counted.add(msg_id)
        cache_read = as_int(usage.get("cache_read_input_tokens"))
        cache_write = as_int(usage.get("cache_creation_input_tokens"))
        data.update(cache_read_tokens=cache_read, cache_creation_tokens=cache_write)
        tokens_in = as_int(usage.get("input_tokens")) + cache_read + cache_write
        return Emit("message_assistant", data, tokens_in=tokens_in,
                    tokens_out=as_int(usage.get("output_tokens")), model=model or None)  # fmt: skip

    def _tool_use(self, block: dict[str, Any]) -> list[Output]:
        name = str(block.get("name") or "tool")
        tool_id = str(block.get("id") or uuid.uuid4())
        given = block.get("input")
        tool_input: dict[str, Any] = given if isinstance(given, dict) else {}
        self._turn.pending[tool_id] = (name, tool_input)
        data = {"tool": name, "tool_use_id": tool_id, "input": summarize(_jsonable(tool_input))}
        return [Emit("tool_use", data), Activity("tool_executing", {"tool": name})]

    def _user(self, obj: dict[str, Any]) -> list[Output]:
        message = obj.get("message") or {}
        content = message.get("content")
        if not isinstance(content, list):
            return []
        structured = obj.get("tool_use_result")
        out: list[Output] = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                patch = structured if isinstance(structured, dict) else None
                out += self._tool_result(block, patch)
        if out and not self._turn.pending:
            out.append(Activity("active"))
        return out

    def _tool_result(
        self, block: dict[str, Any], structured: dict[str, Any] | None
    ) -> list[Output]:
        tool_id = str(block.get("tool_use_id") or "")
        name, tool_input = self._turn.pending.pop(tool_id, ("tool", {}))
        text = _result_text(block.get("content"))
        is_error = bool(block.get("is_error"))
        if name in SHELL_TOOLS:
            command = str(tool_input.get("command") or "")
            code = exit_code_of(text, is_error)
            data = {"command": command, "exit_code": code, "tool_use_id": tool_id,
                    "output_preview": text[:200]}  # fmt: skip
            if tool_input.get("description"):
                data["description"] = str(tool_input["description"])[:200]
            return [Emit("terminal_command", data), *shell_outputs(command, code, self._workspace)]
        if is_error:
            return [Emit("error", {"message": text[:1000], "tool": name, "tool_use_id": tool_id})]
        if name in FILE_TOOLS:
            change = self._file_change(name, tool_input, text, structured)
            return [change.emit(name)] if change else []
        return []

    def _file_change(
        self, name: str, tool_input: dict[str, Any], text: str, structured: dict[str, Any] | None
    ) -> FileChange | None:
        raw_path = tool_input.get("file_path") or tool_input.get("notebook_path")
        if not isinstance(raw_path, str) or not raw_path:
            return None
        path = relative(raw_path, self._workspace)
        patch = _patch_counts(structured)
        if name == "Write":
            content = str(tool_input.get("content") or "")
            created = (structured or {}).get("type") == "create" or "created" in text.lower()
            if created:
                return FileChange("created", path, count_lines(content), 0)
            ins, dels = patch if patch else (None, None)
            return FileChange("modified", path, ins, dels)
        if patch:
            return FileChange("modified", path, *patch)
        if name == "Edit":
            ins, dels = line_changes(str(tool_input.get("old_string") or ""),
                                     str(tool_input.get("new_string") or ""))  # fmt: skip
            return FileChange("modified", path, ins, dels)
        if name == "MultiEdit":
            total = [0, 0]
            for edit in tool_input.get("edits") or []:
                if isinstance(edit, dict):
                    ins, dels = line_changes(str(edit.get("old_string") or ""),
                                             str(edit.get("new_string") or ""))  # fmt: skip
                    total = [total[0] + ins, total[1] + dels]
            return FileChange("modified", path, total[0], total[1])
        return FileChange("modified", path)

    def _result(self, obj: dict[str, Any]) -> list[Output]:
        self._turn.result_seen = True
        out: list[Output] = []
        sid = obj.get("session_id")
        if isinstance(sid, str) and sid:
            out.append(Resume(sid))
        result_id = str(obj.get("uuid") or uuid.uuid4())
        out += self._usage(obj, result_id)
        subtype = str(obj.get("subtype") or "")
        text = obj.get("result")
        if obj.get("is_error") or subtype.startswith("error"):
            message = text if isinstance(text, str) else subtype
            out.append(Emit("error", {"message": str(message)[:1000], "subtype": subtype}))
        elif isinstance(text, str) and text.strip():
            out.append(Summary(text.strip()[:SUMMARY_CHARS]))
        meta = {
            "num_turns": as_int(obj.get("num_turns")),
            "duration_ms": as_int(obj.get("duration_ms")),
        }
        out.append(Activity("idle", meta))
        return out

    def _usage(self, obj: dict[str, Any], result_id: str) -> list[Output]:
        per_model = obj.get("modelUsage")
        reports: list[Output] = []
        if isinstance(per_model, dict) and per_model:
            for model, figures in per_model.items():
                if not isinstance(figures, dict):
                    continue
                tokens_in = (as_int(figures.get("inputTokens"))
                             + as_int(figures.get("cacheReadInputTokens"))
                             + as_int(figures.get("cacheCreationInputTokens")))  # fmt: skip
                tokens_out = as_int(figures.get("outputTokens"))
                cost = figures.get("costUSD")
                reports.append(self._report(str(model), tokens_in, tokens_out, cost, result_id))
        elif isinstance(obj.get("usage"), dict):
            usage = obj["usage"]
            tokens_in = (as_int(usage.get("input_tokens"))
                         + as_int(usage.get("cache_read_input_tokens"))
                         + as_int(usage.get("cache_creation_input_tokens")))  # fmt: skip
            reports.append(self._report(self._model or "unknown", tokens_in,
                                        as_int(usage.get("output_tokens")),
                                        obj.get("total_cost_usd"), result_id))  # fmt: skip
        return [r for r in reports if isinstance(r, Usage) and r.tokens > 0]

    def _report(
        self, model: str, tokens_in: int, tokens_out: int, cost: Any, result_id: str
    ) -> Usage:
        numeric = isinstance(cost, Decimal | int) and not isinstance(cost, bool)
        priced = Decimal(cost) if numeric else None
        count = max(1, len(self._turn.messages.get(model, ())))
        return Usage(model, tokens_in, tokens_out, priced, count, f"{result_id}:{model}")


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(str(b.get("text", "")) for b in texts)
    return ""


def _patch_counts(structured: dict[str, Any] | None) -> tuple[int, int] | None:
    """(insertions, deletions) from Claude Code's `tool_use_result.structuredPatch`."""
    hunks = (structured or {}).get("structuredPatch")
    if not isinstance(hunks, list) or not hunks:
        return None
    ins = dels = 0
    for hunk in hunks:
        for line in (hunk.get("lines") if isinstance(hunk, dict) else None) or []:
            if isinstance(line, str) and line.startswith("+"):
                ins += 1
            elif isinstance(line, str) and line.startswith("-"):
                dels += 1
    return ins, dels


def _jsonable(value: Any) -> Any:
    """Decimals (from exact parsing) back to plain JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
