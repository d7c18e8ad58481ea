"""Settings: the only reader of the environment and of the YAML configuration file.

Precedence (highest first): constructor arguments, `VOLUNDR_*` environment variables
(`__` separates nesting, e.g. `VOLUNDR_RUNTIME__STOP_GRACE_S=5`), the YAML file, defaults.

The file is strict: a key that is not a setting is refused (a typo would otherwise be
silently ignored). The environment is not: other programs' `VOLUNDR_*` variables
(`VOLUNDR_SERVER`, `VOLUNDR_SESSION_ID`, …) share the prefix.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from volundr.config_file import ConfigError, describe_errors, read_config_file
from volundr.domain.models import AgentTemplate
from volundr.domain.pricing import ModelInfo


def default_home() -> Path:
    return Path(os.path.expanduser("~/.local/share/volundr"))


class AuthSettings(BaseModel):
    mode: Literal["none", "headers"] = Field(
        "none",
        description="Identity mode: `none` makes every caller the local admin; `headers` "
        "trusts a proxy's `x-auth-*` headers. (`tokens` is not available yet and is refused, "
        "never served as `none`.)",
    )


class AgentTemplateSettings(BaseModel):
    kind: Literal["command", "claude-code", "codex"] = Field(
        "command", description="Adapter: `command` runs argv as is; others append their flags."
    )
    command: list[str] = Field(
        default_factory=list, description="argv; `{prompt}`/`{model}` substituted for `command`."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Extra agent environment.")
    stop_on_exit: bool = Field(
        False, description="Stop the session when the agent exits (0 → stopped, else failed)."
    )
    model: str = Field("", description="Model used when a create request gives none.")
    idle_timeout_s: float | None = Field(
        None, ge=0, description="Stop sessions idle this long (s); 0 = never; default: "
        "`agents.idle_timeout_s`."
    )

    @model_validator(mode="after")
    def _runnable(self) -> AgentTemplateSettings:
        """A `command` agent needs its argv; the others default to their CLI's name."""
        if not self.command and self.kind != "command":
            self.command = [_DEFAULT_EXECUTABLES[self.kind]]
        if not self.command or not self.command[0].strip():
            raise ValueError("command must name the program to run, e.g. [aider, --yes]")
        return self


_DEFAULT_EXECUTABLES = {"claude-code": "claude", "codex": "codex"}


def _builtin_templates() -> dict[str, AgentTemplateSettings]:
    return {
        "claude-code": AgentTemplateSettings(kind="claude-code", command=["claude"]),
        "codex": AgentTemplateSettings(kind="codex", command=["codex"]),
    }


class AgentsSettings(BaseModel):
    default: str = Field("claude-code", description="Agent used when a create gives none.")
    templates: dict[str, AgentTemplateSettings] = Field(
        default_factory=dict,
        description="Named agent templates, merged over the built-in claude-code and codex.",
    )
    idle_timeout_s: float | None = Field(
        None, gt=0, description="Stop running sessions whose activity has been `idle` this "
        "long (s), checked every `runtime.health_interval_s`; None = never."
    )

    def all_templates(self) -> dict[str, AgentTemplate]:
        merged = {**_builtin_templates(), **self.templates}
        return {
            name: AgentTemplate(
                name=name,
                kind=t.kind,
                command=tuple(t.command),
                env=dict(t.env),
                stop_on_exit=t.stop_on_exit,
                model=t.model,
                idle_timeout_s=(
                    t.idle_timeout_s if t.idle_timeout_s is not None else self.idle_timeout_s
                ) or None,
            )
            for name, t in merged.items()
        }


class ModelSettings(BaseModel):
    """One entry of the model catalogue (API §7.3); prices in USD per million tokens."""

    id: str = Field(min_length=1, max_length=100, description="Model id, matched exactly.")
    name: str = Field(description="Display name.")
    description: str = Field("", description="One line shown beside the name.")
    provider: Literal["cloud", "local"] = Field(description="Where the model runs.")
    tier: Literal["frontier", "balanced", "execution", "reasoning"] = Field(
        description="Capability tier."
    )
    color: str = Field(pattern=r"^#[0-9A-Fa-f]{6}$", description="Display colour `#RRGGBB`.")
    cost_per_million_tokens: Decimal | None = Field(
        None, ge=0, description="Blended price; used when no split price applies."
    )
    input_cost_per_million: Decimal | None = Field(None, ge=0, description="Input price.")
    output_cost_per_million: Decimal | None = Field(None, ge=0, description="Output price.")
    vram_required: str | None = Field(None, description="e.g. `8GB` for local models.")

    def info(self) -> ModelInfo:
        return ModelInfo(
            id=self.id,
            name=self.name,
            provider=self.provider,
            tier=self.tier,
            color=self.color,
            description=self.description,
            cost_per_million_tokens=self.cost_per_million_tokens,
            input_cost_per_million=self.input_cost_per_million,
            output_cost_per_million=self.output_cost_per_million,
            vram_required=self.vram_required,
        )


class GitSettings(BaseModel):
    allow_local_repos: bool | None = Field(
        None, description="Allow absolute paths and file:// (default: true in auth mode none)."
    )
    local_repo_roots: list[str] = Field(
        default_factory=list, description="Local repositories must be inside one ([] = anywhere)."
    )
    allowed_http_hosts: list[str] = Field(
        default_factory=list, description="Hosts for which plain http:// repositories are allowed."
    )


class RuntimeSettings(BaseModel):
    kind: Literal["local", "fake"] = Field("local", description="Session runtime adapter.")
    fake_mode: Literal["instant", "slow", "never-ready", "failing"] = Field(
        "instant", description="Behaviour of the fake runtime (tests only)."
    )
    provision_timeout_s: float = Field(300, gt=0, description="Start deadline (seconds).")
    stop_grace_s: float = Field(10, ge=0, description="Graceful-exit wait before a kill.")
    stop_timeout_s: float = Field(30, gt=0, description="Stop deadline (seconds).")
    health_interval_s: float = Field(10, gt=0, description="Liveness check period (seconds).")
    python: str = Field(
        "", description="Interpreter for session hosts (default: the server's own)."
    )

    @model_validator(mode="after")
    def _grace_within_deadline(self) -> RuntimeSettings:
        if self.stop_grace_s >= self.stop_timeout_s:
            raise ValueError(
                f"stop_grace_s ({self.stop_grace_s:g}) must be shorter than stop_timeout_s "
                f"({self.stop_timeout_s:g}): a stop waits the grace, then kills"
            )
        return self


class HttpSettings(BaseModel):
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0, description="Request body limit.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed browser origins.")


class LogSettings(BaseModel):
    max_bytes_per_session: int = Field(52_428_800, gt=0, description="Session log cap.")
    max_line_bytes: int = Field(16_384, gt=0, description="Longer lines are cut.")


class DiffSettings(BaseModel):
    max_bytes: int = Field(
        2_097_152, gt=0, description="Diff text cap; longer text is cut at a line boundary."
    )


class WorkspaceSettings(BaseModel):
    """Retention of workspaces; everything is off by default."""

    archive_stopped_after_days: float | None = Field(
        None, gt=0, description="Archive sessions (and workspaces) stopped for longer."
    )
    delete_archived_after_days: float | None = Field(
        None, gt=0, description="Delete the files of workspaces archived for longer."
    )
    user_quota_bytes: int | None = Field(
        None, ge=0, description="Refuse new sessions of a user whose workspaces use this much."
    )
    retention_interval_s: float = Field(
        3600, gt=0, description="Period of the retention task (when any of the above is set)."
    )

    @property
    def retention_enabled(self) -> bool:
        return (
            self.archive_stopped_after_days is not None
            or self.delete_archived_after_days is not None
            or self.user_quota_bytes is not None
        )


class BudgetSettings(BaseModel):
    """Cost limits, in USD; everything is off by default."""

    session_max_cost_usd: Decimal | None = Field(
        None, gt=0, description="`max_cost_usd` of sessions created without one: a session "
        "whose cost reaches it is stopped."
    )
    user_daily_cost_usd: Decimal | None = Field(
        None, gt=0, description="A user whose usage cost today (UTC) reached this cannot "
        "create or start sessions until midnight UTC."
    )


class SseSettings(BaseModel):
    heartbeat_s: float = Field(15, gt=0, description="Heartbeat period of a live stream (s).")
    stats_interval_s: float = Field(
        30, gt=0, description="Period of `stats_updated` frames; the first comes one period in."
    )
    retry_ms: int = Field(3000, ge=0, description="Reconnect delay sent in the first frame.")
    replay_events: int = Field(
        10_000, ge=1, description="Resume is guaranteed for the newest this many events."
    )
    replay_age_s: float = Field(
        900, gt=0, description="Resume is also guaranteed for events younger than this (s)."
    )
    queue_size: int = Field(
        1000, ge=1, description="Per-subscriber queue; overflow drops it and sends `resync`."
    )
    max_connection_s: float = Field(
        3600, gt=0, description="A stream is ended (with a `reconnect` frame) after this long."
    )


class Settings(BaseSettings):
    """Every setting of Volundr, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="VOLUNDR_", env_nested_delimiter="__", extra="ignore"
    )

    file_data: ClassVar[dict[str, Any]] = {}
    """The parsed YAML file, in the subclass `load_settings` makes for it."""

    home: Path = Field(
        default_factory=default_home, validate_default=True, description="Data directory."
    )
    database_url: str = Field(
        "", description="SQLAlchemy async URL; default: SQLite file `volundr.db` in `home`."
    )
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base used to build session endpoints; `volundr serve` defaults it to "
        "the address it serves on.",
    )
    callback_url: str = Field(
        "", description="URL session hosts use to reach this API (default: the address "
        "`volundr serve` serves on, else `public_url`)."
    )
    auth: AuthSettings = Field(default_factory=AuthSettings)
    agents: AgentsSettings = Field(default_factory=AgentsSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    diff: DiffSettings = Field(default_factory=DiffSettings)
    workspaces: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    budgets: BudgetSettings = Field(default_factory=BudgetSettings)
    sse: SseSettings = Field(default_factory=SseSettings)
    models: list[ModelSettings] | None = Field(
        None, description="Model catalogue; replaces the built-in list when given."
    )

    @field_validator("home")
    @classmethod
    def _check_home(cls, home: Path) -> Path:
        """`home` must be a directory, or creatable: its nearest existing ancestor is one."""
        home = home.expanduser()
        for path in (home, *home.parents):
            if path.is_dir():
                return home
            if path.exists():
                if path == home:
                    raise ValueError(f"{home} exists and is not a directory")
                raise ValueError(f"{home} cannot be created: {path} is not a directory")
        return home

    @field_validator("public_url", "callback_url")
    @classmethod
    def _check_base_url(cls, url: str) -> str:
        """An http(s) base URL with a host (`""` allowed for `callback_url`: derived)."""
        if not url:
            return url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host, not {url!r}")
        if parts.query or parts.fragment:
            raise ValueError("must be a base URL, without a query or fragment")
        return url

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, url: str) -> str:
        """An async SQLAlchemy URL whose dialect is installed. (Errors never repeat the URL:
        it may hold a password.)"""
        if not url:
            return url
        try:
            parsed = make_url(url)
        except ArgumentError:
            example = "postgresql+asyncpg://user@host/db"
            raise ValueError(f"not a database URL (e.g. {example})") from None
        try:
            dialect = parsed.get_dialect()
        except NoSuchModuleError:
            raise ValueError(f"unknown database driver '{parsed.drivername}'") from None
        if not dialect.is_async:
            raise ValueError(
                f"'{parsed.drivername}' is not an async driver "
                "(use sqlite+aiosqlite:// or postgresql+asyncpg://)"
            )
        return url

    @model_validator(mode="after")
    def _check_default_agent(self) -> Settings:
        if self.agents.default not in self.agents.all_templates():
            raise ValueError(f"agents.default names an unknown template: {self.agents.default}")
        return self

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on `host:port`: `callback_url`, and
        `public_url` unless it was configured, become that address (a wildcard host reads
        as 127.0.0.1, where session hosts on this machine reach it)."""
        reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        served = f"http://{f'[{reachable}]' if ':' in reachable else reachable}:{port}"
        update = {} if self.callback_url else {"callback_url": served}
        if "public_url" not in self.model_fields_set:
            update["public_url"] = served
        return self.model_copy(update=update)

    @property
    def allow_local_repos(self) -> bool:
        if self.git.allow_local_repos is not None:
            return self.git.allow_local_repos
        return self.auth.mode == "none"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'volundr.db'}"

    @property
    def sessions_dir(self) -> Path:
        return self.home / "sessions"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        file_data = getattr(settings_cls, "file_data", None)
        if file_data:
            sources.append(_FileSource(settings_cls, file_data))
        return tuple(sources)


class _FileSource(PydanticBaseSettingsSource):
    """The (already parsed and checked) YAML file, below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config_file` (or `$VOLUNDR_CONFIG`), the environment and overrides.

    Raises ConfigError when the file cannot be read, is not a YAML mapping, has a key that
    is not a setting, or when any value (from anywhere) is invalid.
    """
    from_env = config_file is None
    chosen = os.environ.get("VOLUNDR_CONFIG") if from_env else config_file
    if not chosen:
        return _build(Settings, overrides, None)
    path = Path(chosen)
    data = read_config_file(path, Settings, named_by="$VOLUNDR_CONFIG" if from_env else None)
    with_file = type("FileSettings", (Settings,), {"file_data": data})
    return _build(with_file, overrides, path)


def _build(cls: type[Settings], overrides: dict[str, Any], path: Path | None) -> Settings:
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from None
    except SettingsError as exc:  # an environment value that is not valid JSON
        raise ConfigError(f"invalid configuration: {exc}") from None
