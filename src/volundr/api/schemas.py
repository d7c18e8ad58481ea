"""Request and response schemas. Rules come from `volundr.domain.validation`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from volundr.api.bounds import ExitCode, RequestBody, Uuid
from volundr.domain import validation


def _repo(value: str) -> str:
    validation.repository(value)
    return value


def _memory(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)", value):
        raise ValueError("memory must be a quantity with a unit, e.g. 512Mi or 8Gi")
    return value


def _cpu(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?m?", value):
        raise ValueError("cpu must be cores (e.g. 2, 0.5) or millicores (e.g. 500m)")
    return value


def _gpu(value: str) -> str:
    if not re.fullmatch(r"\d+", value):
        raise ValueError("gpu must be an integer string, e.g. 1")
    return value


SessionName = Annotated[
    str, Field(min_length=1, max_length=63), AfterValidator(validation.session_name)
]
BranchName = Annotated[str, Field(max_length=255), AfterValidator(validation.branch_name)]
NonEmptyBranch = Annotated[
    str, Field(min_length=1, max_length=255), AfterValidator(validation.branch_name)
]
RepoUrl = Annotated[str, Field(max_length=500), AfterValidator(_repo)]
ModelId = Annotated[str, Field(max_length=100), AfterValidator(validation.model_id)]
EnvMap = Annotated[dict[str, str], AfterValidator(validation.env_vars)]


class MountPath(RequestBody):
    host_path: Annotated[str, Field(min_length=1, pattern=r"^/")]
    mount_path: Annotated[str, Field(min_length=1, pattern=r"^/")]
    read_only: bool = True


class SourceIn(RequestBody):
    """`source` of a create (API §2.2): `git` by default, or `local_mount`.

    One flat model rather than a tagged union, so error locations read
    `["body", "source", "repo"]` as the contract says.
    """

    type: Literal["git", "local_mount"] = "git"
    repo: RepoUrl = ""
    branch: BranchName = ""
    base_branch: BranchName = ""
    local_path: str = ""
    paths: list[MountPath] = Field(default_factory=list)
    node_selector: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something_to_mount(self) -> SourceIn:
        if self.type == "local_mount" and not self.local_path and not self.paths:
            raise ValueError("local_mount needs local_path or paths")
        return self


class ResourceConfig(RequestBody):
    cpu: Annotated[str, AfterValidator(_cpu)] | None = None
    memory: Annotated[str, AfterValidator(_memory)] | None = None
    gpu: Annotated[str, AfterValidator(_gpu)] | None = None


class CreateSession(RequestBody):
    """Body of `POST /sessions` (API §4.2.1). Unknown fields are ignored."""

    name: SessionName
    model: ModelId = ""
    agent: str | None = None
    source: SourceIn = Field(default_factory=SourceIn)
    template_name: Annotated[str, Field(max_length=255)] | None = None
    profile_name: Annotated[str, Field(max_length=255)] | None = None
    preset_id: Uuid | None = None
    workspace_id: Uuid | None = None
    terminal_restricted: bool = False
    credential_names: list[str] = Field(default_factory=list)
    integration_ids: list[str] = Field(default_factory=list)
    resource_config: ResourceConfig = Field(default_factory=ResourceConfig)
    system_prompt: Annotated[str, Field(max_length=100_000)] = ""
    initial_prompt: Annotated[str, Field(max_length=100_000)] = ""
    issue_id: Annotated[str, Field(max_length=255)] | None = None
    issue_url: Annotated[str, Field(max_length=2048)] | None = None
    env: EnvMap = Field(default_factory=dict)
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="Stop the session once its cost reaches this (USD)."
    )


class UpdateSession(RequestBody):
    """Body of `PUT /sessions/{id}`: absent or null = unchanged."""

    name: SessionName | None = None
    model: (
        Annotated[str, Field(min_length=1, max_length=100), AfterValidator(validation.model_id)]
        | None
    ) = None
    branch: NonEmptyBranch | None = None
    tracker_issue_id: Annotated[str, Field(max_length=255)] | None = None
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="Raise or lower the session's budget (beyond the contract)."
    )


class StartSession(RequestBody):
    profile_name: Annotated[str, Field(max_length=255)] | None = None


class DeleteSession(RequestBody):
    cleanup: list[Literal["workspace_storage", "chronicles"]] = Field(default_factory=list)


class RuntimeReportIn(RequestBody):
    """A session host's callback (internal; authenticated by the session token)."""

    phase: Literal["ready", "failed", "agent_exited"]
    error: Annotated[str, Field(max_length=4000)] | None = None
    branch: Annotated[str, Field(max_length=255)] | None = None
    exit_code: ExitCode | None = None


class GitSourceOut(BaseModel):
    type: Literal["git"]
    repo: str
    branch: str
    base_branch: str


class SessionOut(BaseModel):
    """The session object (API §2.1). Documentation only: responses are built directly."""

    model_config = ConfigDict(title="Session")

    id: UUID
    name: str
    model: str
    agent: str
    source: GitSourceOut
    repo: str
    branch: str
    status: Literal[
        "created", "starting", "provisioning", "running", "stopping", "stopped", "failed",
        "archived",
    ]
    error: str | None
    pod_name: str | None
    chat_endpoint: str | None
    code_endpoint: str | None
    created_at: str
    updated_at: str
    last_active: str
    message_count: int
    tokens_used: int
    cost: float
    tracker_issue_id: str | None
    issue_tracker_url: str | None
    preset_id: str | None
    archived_at: str | None
    owner_id: str | None
    tenant_id: str | None
    activity_state: str | None
    activity_metadata: dict[str, Any]
    task_type: None
    max_cost_usd: float | None


class Detail(BaseModel):
    detail: str
