"""Input rules of the contract (names, repositories, branches, env), as pure functions.

Each rule raises `ValueError` with the exact user-facing message, so schema validators can
reuse it (pydantic reports it as `Value error, <message>`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_SCP_LIKE = re.compile(
    r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>[^/].*|/.+)$"
)
_BARE_HOST_PATH = re.compile(r"^(?P<host>[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?/(?P<path>.+)$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def session_name(raw: str) -> str:
    """Trim and check a session name (API §4.2.2); returns the name to store."""
    name = raw.strip()
    if not name:
        raise ValueError("Session name must not be empty")
    if len(name) > 63:
        raise ValueError("Session name must be at most 63 characters (RFC 1123 hostname limit)")
    if name != name.lower():
        raise ValueError("Session name must be lowercase — uppercase characters are not allowed")
    if " " in name:
        raise ValueError("Session name must not contain spaces — use hyphens instead")
    if name.startswith("-"):
        raise ValueError("Session name must start with a letter or digit, not a hyphen")
    if name.endswith("-"):
        raise ValueError("Session name must end with a letter or digit, not a hyphen")
    if not NAME_PATTERN.match(name):
        raise ValueError(
            "Session name may only contain lowercase letters (a-z), digits (0-9), and hyphens (-)"
        )
    return name


def branch_name(value: str) -> str:
    """Check a git branch name (API §4.2.4); `""` is allowed (the caller decides)."""
    if value == "":
        return value
    problem = _branch_problem(value)
    if problem:
        raise ValueError(f"Invalid branch name '{value}': {problem}")
    return value


def _branch_problem(value: str) -> str | None:
    checks: list[tuple[bool, str]] = [
        (len(value) > 255, "must be at most 255 characters"),
        (value == "@", "must not be '@'"),
        (value == "HEAD", "must not be 'HEAD' (git's name for the current commit)"),
        (value.startswith("-"), "must not start with '-'"),
        (".." in value, "must not contain '..'"),
        (bool(_BRANCH_FORBIDDEN.search(value)),
         "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"),
        (value.startswith("/") or value.endswith("/"), "must not start or end with '/'"),
        ("//" in value, "must not contain '//'"),
        (any(part.startswith(".") for part in value.split("/")),
         "no path component may start with '.'"),
        (value.endswith("."), "must not end with '.'"),
        (value.endswith(".lock"), "must not end with '.lock'"),
        ("@{" in value, "must not contain '@{'"),
    ]
    return next((message for failed, message in checks if failed), None)


class RepoKind(StrEnum):
    EMPTY = "empty"
    HTTPS = "https"
    SSH = "ssh"
    SCP = "scp"
    BARE_HOST = "bare_host"
    HTTP = "http"
    LOCAL = "local"


@dataclass(frozen=True)
class RepoRef:
    """A repository value that passed the format rule; `host`/`path` per its kind."""

    kind: RepoKind
    value: str
    host: str = ""
    local_path: str = ""


def repository(value: str) -> RepoRef:
    """Classify `source.repo` by the format rule (API §4.2.3); raises on unsupported forms.

    Server policy (plain http hosts, local repositories) is checked later by
    `check_repo_policy`, because its errors are string 422s, not schema errors.
    """
    if value == "":
        return RepoRef(RepoKind.EMPTY, value)
    if _has_space_or_control(value):
        raise ValueError("Unsupported repository: whitespace or control characters")
    if value.startswith("-"):
        raise ValueError("Unsupported repository: must not start with '-'")
    if "::" in value.split("/", 1)[0]:
        raise ValueError("Unsupported repository: transport helpers (<name>::) are not allowed")
    if value.startswith("/"):
        return RepoRef(RepoKind.LOCAL, value, local_path=value)
    if "://" in value:
        return _url_repository(value)
    scp = _SCP_LIKE.match(value)
    if scp:
        return RepoRef(RepoKind.SCP, value, host=scp["host"])
    bare = _BARE_HOST_PATH.match(value)
    if bare:
        return RepoRef(RepoKind.BARE_HOST, value, host=bare["host"])
    raise ValueError("Unsupported repository: not a URL, scp-style address or absolute path")


def _has_space_or_control(value: str) -> bool:
    """Any whitespace (Unicode too, e.g. NBSP) or control character (C0, DEL, C1)."""
    return any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value)


def _url_repository(value: str) -> RepoRef:
    scheme = value.split("://", 1)[0].lower()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"Unsupported repository: malformed URL ({exc})") from None
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError("Unsupported repository: file URLs must be file:///absolute/path")
        return RepoRef(RepoKind.LOCAL, value, local_path=parts.path)
    if scheme not in ("https", "ssh", "http"):
        raise ValueError(f"Unsupported repository: scheme '{scheme}' is not allowed")
    host = parts.hostname or ""
    if not host or not _HOSTNAME.match(host if ":" not in host else f"[{host}]"):
        raise ValueError("Unsupported repository: URL has no valid host")
    if scheme in ("https", "http") and (parts.username or parts.password):
        raise ValueError("Repository URL must not contain credentials; use credential_names")
    if not parts.path.strip("/"):
        raise ValueError("Unsupported repository: URL has no repository path")
    kind = {"https": RepoKind.HTTPS, "ssh": RepoKind.SSH, "http": RepoKind.HTTP}[scheme]
    return RepoRef(kind, value, host=host)


def model_id(value: str) -> str:
    """Check a model id: it becomes an agent's command-line argument, so it must not read
    as an option (leading `-`) or hold whitespace or control characters; `""` is allowed
    (the agent's own default)."""
    if value.startswith("-"):
        raise ValueError(f"Invalid model id '{value}': must not start with '-'")
    if _has_space_or_control(value):
        raise ValueError(
            f"Invalid model id {value!r}: must not contain whitespace or control characters"
        )
    return value


def env_vars(env: dict[str, str]) -> dict[str, str]:
    """Check agent environment variables given at create (API §4.2.1)."""
    if len(env) > 64:
        raise ValueError("At most 64 environment variables are allowed")
    for name, value in env.items():
        if not ENV_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"Invalid environment variable name: {name!r}")
        if name.startswith("VOLUNDR_"):
            raise ValueError(f"Environment variable names must not start with VOLUNDR_: {name}")
        if len(value) > 8192:
            raise ValueError(f"Environment variable {name} is longer than 8192 characters")
    return env
