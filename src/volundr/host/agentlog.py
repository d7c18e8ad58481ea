"""How one line of agent output is logged (API §4.12).

stdout lines are `INFO`, stderr lines `WARNING`, both with logger `agent`, unless the line
is a structured one: a JSON object with a recognised `level` (case-insensitive `debug`,
`info`, `warning`/`warn`, `error`, `critical`) and a string `message` (or `msg`). Such a
line is logged at its level with that message, and under its own `logger` when it names
one. Anything else (other JSON too, e.g. Claude Code's stream-json) is logged as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

AGENT_LOGGER = "agent"
LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "warn": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}
_MAX_LOGGER_CHARS = 200


@dataclass(frozen=True)
class LogLine:
    level: str
    logger: str
    message: str


def agent_line(text: str, default_level: str) -> LogLine:
    """The log line for `text`, one line the agent wrote on a stream logged at
    `default_level`."""
    structured = _structured(text) if '"level"' in text else None
    return structured or LogLine(default_level, AGENT_LOGGER, text)


def _structured(text: str) -> LogLine | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        record = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    level = record.get("level")
    level = LEVELS.get(level.lower()) if isinstance(level, str) else None
    message = record.get("message", record.get("msg"))
    if level is None or not isinstance(message, str):
        return None
    logger = record.get("logger")
    if not isinstance(logger, str) or not logger.strip():
        logger = AGENT_LOGGER
    return LogLine(level, logger.strip()[:_MAX_LOGGER_CHARS], message)
