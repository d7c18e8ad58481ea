"""The launch spec handed from a runtime to its session host, and its JSON encoding.

Both sides of the contract live here: a runtime calls `encode_spec`, the host calls
`parse_spec`. The JSON object carries the fields of `volundr.ports.LaunchSpec` (with `agent`
as an object) plus `session_dir`, `max_line_bytes`, `stop_grace_s`, `early_exit_s`,
`max_log_bytes` and `orphan_check_s`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from volundr.domain.models import AgentTemplate
from volundr.ports import LaunchSpec

FD_ENV = "VOLUNDR_HOST_FD"
SESSION_MARKER_ENV = "VOLUNDR_SESSION_ID"
"""Set in the environment of the host and of everything it starts; lets a runtime find strays."""

DEFAULT_EARLY_EXIT_S = 0.1
DEFAULT_ORPHAN_CHECK_S = 5.0


class SpecError(ValueError):
    """The spec is missing, not JSON, or lacks a field; the message names the problem."""


@dataclass(frozen=True)
class HostSpec:
    """A parsed spec. Paths are absolute; `early_exit_s` is the start-failure window."""

    launch: LaunchSpec
    session_dir: Path
    max_line_bytes: int
    stop_grace_s: float
    early_exit_s: float = DEFAULT_EARLY_EXIT_S
    max_log_bytes: int | None = None
    """Cap of the session log (current file + rotated one); None = unbounded."""
    orphan_check_s: float = DEFAULT_ORPHAN_CHECK_S
    """How often the host checks that `session_dir` still exists (it stops once it does not:
    no server can reach or stop it any more)."""

    @property
    def workspace(self) -> Path:
        return self.session_dir / "workspace"

    @property
    def log_path(self) -> Path:
        return log_path_of(self.session_dir)


def log_path_of(session_dir: Path) -> Path:
    """Where the host of `session_dir` writes its JSON-lines log."""
    return session_dir / "logs" / "session.jsonl"


def encode_spec(spec: HostSpec) -> str:
    """The JSON text a runtime writes to the host's stdin."""
    body: dict[str, Any] = asdict(spec.launch)
    body["agent"]["command"] = list(spec.launch.agent.command)
    body["allowed_http_hosts"] = list(spec.launch.allowed_http_hosts)
    body["session_dir"] = str(spec.session_dir)
    body["max_line_bytes"] = spec.max_line_bytes
    body["stop_grace_s"] = spec.stop_grace_s
    body["early_exit_s"] = spec.early_exit_s
    body["max_log_bytes"] = spec.max_log_bytes
    body["orphan_check_s"] = spec.orphan_check_s
    return json.dumps(body)


def parse_spec(text: str) -> HostSpec:
    """Parse the spec read from stdin; raises SpecError on any missing or mistyped field."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"launch spec is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError("launch spec must be a JSON object")
    try:
        agent_raw = _field(raw, "agent", dict)
        agent = AgentTemplate(
            name=_field(agent_raw, "name", str),
            kind=_field(agent_raw, "kind", str),
            command=tuple(_str_list(agent_raw, "command")),
            env=_str_dict(agent_raw, "env"),
            stop_on_exit=bool(agent_raw.get("stop_on_exit", False)),
            model=str(agent_raw.get("model", "")),
        )
        launch = LaunchSpec(
            session_id=_field(raw, "session_id", str),
            repo=_field(raw, "repo", str),
            branch=_field(raw, "branch", str),
            base_branch=_field(raw, "base_branch", str),
            model=_field(raw, "model", str),
            agent=agent,
            prompt=_field(raw, "prompt", str),
            system_prompt=str(raw.get("system_prompt", "")),
            env=_str_dict(raw, "env"),
            token=str(raw.get("token", "")),
            callback_url=str(raw.get("callback_url", "")),
            allow_local_repos=bool(raw.get("allow_local_repos", False)),
            allowed_http_hosts=tuple(_str_list(raw, "allowed_http_hosts")),
        )
        session_dir = Path(_field(raw, "session_dir", str))
        max_line_bytes = int(raw.get("max_line_bytes", 16_384))
        stop_grace_s = float(raw.get("stop_grace_s", 10.0))
        early_exit_s = float(raw.get("early_exit_s", DEFAULT_EARLY_EXIT_S))
        raw_log_cap = raw.get("max_log_bytes")
        max_log_bytes = int(raw_log_cap) if raw_log_cap is not None else None
        orphan_check_s = float(raw.get("orphan_check_s", DEFAULT_ORPHAN_CHECK_S))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"invalid launch spec: {exc}") from None
    if not session_dir.is_absolute():
        raise SpecError("invalid launch spec: session_dir must be absolute")
    if max_line_bytes < 64:
        raise SpecError("invalid launch spec: max_line_bytes must be at least 64")
    return HostSpec(
        launch, session_dir, max_line_bytes, max(stop_grace_s, 0.0), early_exit_s,
        max_log_bytes if max_log_bytes and max_log_bytes > 0 else None,
        orphan_check_s if orphan_check_s > 0 else DEFAULT_ORPHAN_CHECK_S,
    )


def _field(raw: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = raw.get(name)
    if not isinstance(value, kind):
        expected = {"dict": "an object", "str": "a string"}.get(kind.__name__, kind.__name__)
        raise TypeError(f"field '{name}' must be {expected}")
    return value


def _str_list(raw: dict[str, Any], name: str) -> list[str]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"field '{name}' must be a list of strings")
    return value


def _str_dict(raw: dict[str, Any], name: str) -> dict[str, str]:
    value = raw.get(name, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(f"field '{name}' must be an object of strings")
    return dict(value)
