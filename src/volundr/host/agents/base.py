"""What adapters produce from an agent's output, and the adapter contract."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

log = logging.getLogger("volundr.agent")

PREVIEW_CHARS = 200


class AdapterError(Exception):
    """The template cannot be run (no command, unknown kind); the message is for the user."""


@dataclass(frozen=True)
class Emit:
    """A session event to report (API §6.1 types)."""

    event_type: str
    data: dict[str, Any] = field(default_factory=dict)
    tokens_in: int | None = None
    tokens_out: int | None = None
    duration_ms: int | None = None
    model: str | None = None


@dataclass(frozen=True)
class Usage:
    """One usage report: the agent's own figures for one model and one result.

    Token convention: `tokens_in` = input + cache-creation + cache-read tokens,
    `tokens_out` = output tokens; the report's tokens are their sum. `key` makes the
    report idempotent (`<result id>:<model>`).
    """

    model: str
    tokens_in: int
    tokens_out: int
    cost: Decimal | None
    message_count: int
    key: str

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass(frozen=True)
class Activity:
    state: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    """The agent's own session id, for `--resume` on the next turn."""

    agent_session_id: str


@dataclass(frozen=True)
class CheckHead:
    """A command may have moved HEAD (e.g. `git commit`): look now, report new commits."""


@dataclass(frozen=True)
class Summary:
    """What the agent said it did (e.g. Claude Code's result text): the chronicle summary."""

    text: str


Output = Emit | Usage | Activity | Resume | CheckHead | Summary


class Adapter(Protocol):
    """Turns one agent's invocation and output into reports. One instance per session.

    `feed` is called with each stdout line of the current turn, in order; it must never
    raise for unknown or malformed lines (they are logged and skipped).
    """

    kind: str
    accepts_messages: bool

    def argv(self, prompt: str, model: str, resume: str | None) -> list[str]:
        """The command line of one turn (`resume`: the agent session to continue)."""

    def begin_turn(self) -> None:
        """A new turn starts: forget the previous turn's state."""

    def feed(self, line: bytes) -> list[Output]:
        """What one stdout line means."""

    def end_turn(self, exit_code: int) -> list[Output]:
        """The process exited: what is still owed (e.g. an error when no result came)."""


def parse_line(line: bytes, agent: str) -> dict[str, Any] | None:
    """A JSON object line (floats as Decimal, so costs stay exact); None, logged, otherwise."""
    text = line.strip()
    if not text:
        return None
    try:
        obj = json.loads(text, parse_float=Decimal)
    except ValueError:
        shown = text.decode(errors="replace")
        log.info("%s: skipping a line that is not JSON: %.200s", agent, shown)
        return None
    if not isinstance(obj, dict):
        log.info("%s: skipping a JSON line that is not an object", agent)
        return None
    return obj


def preview(text: str) -> dict[str, Any]:
    """`content_length` and a short `content_preview` of a message."""
    return {"content_length": len(text), "content_preview": text[:PREVIEW_CHARS]}


def as_int(value: Any) -> int:
    """A token count from JSON: non-negative int, anything else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return max(int(value), 0)
    return 0


def safe_prompt(prompt: str) -> str:
    """A prompt that the agent's option parser cannot read as a flag."""
    return " " + prompt if prompt.startswith("-") else prompt
