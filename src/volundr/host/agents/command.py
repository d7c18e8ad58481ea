"""`command` agents: any command line; output goes to the log only."""

from __future__ import annotations

import re

from volundr.host.agents.base import Output

_PLACEHOLDER = re.compile(r"\{(prompt|model)\}")


class CommandAdapter:
    kind = "command"
    accepts_messages = False

    def __init__(self, command: tuple[str, ...]) -> None:
        self._command = command

    def argv(self, prompt: str, model: str, resume: str | None) -> list[str]:
        """`{prompt}` and `{model}` replaced in each argument (plain text, never a shell), in
        one pass: a prompt that mentions `{model}` reaches the agent as written."""
        values = {"prompt": prompt, "model": model}
        return [_PLACEHOLDER.sub(lambda m: values[m[1]], arg) for arg in self._command]

    def begin_turn(self) -> None:
        pass

    def feed(self, line: bytes) -> list[Output]:
        return []

    def end_turn(self, exit_code: int) -> list[Output]:
        return []
