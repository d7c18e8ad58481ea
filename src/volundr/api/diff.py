"""`GET /sessions/{id}/diff` and `/diff/files` (API §4.13)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from volundr.api.deps import Caller, SessionId
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.domain import validation
from volundr.domain.diffs import BaseKind, DiffBase, DiffSummary
from volundr.services.diffs import DiffService, parse_hunks

router = APIRouter(route_class=StrictJsonRoute, prefix="/sessions", tags=["diff"])

BaseName = Literal["last-commit", "default-branch", "start"]
BranchQuery = Annotated[
    str | None,
    Query(max_length=255, description="Merge-base with this branch (when `base` is absent)."),
    AfterValidator(lambda v: validation.branch_name(v) if v is not None else v),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Session or workspace not found"},
    409: {"model": Detail, "description": "Workspace not ready, or no default branch"},
}


def diff_service(request: Request) -> DiffService:
    service: DiffService = request.app.state.diffs
    return service


Diffs = Annotated[DiffService, Depends(diff_service)]


class FileChangeOut(BaseModel):
    path: str
    old_path: str | None
    status: Literal["added", "modified", "deleted", "renamed"]
    additions: int
    deletions: int
    binary: bool


class DiffFilesOut(BaseModel):
    base: str
    base_commit: str | None
    files: list[FileChangeOut]


class DiffOut(DiffFilesOut):
    """Without `path`; with `path` the body is `{path, diff, binary, truncated}` (unified)
    or `{filePath, binary, truncated, hunks}` (hunks)."""

    diff: str | None = Field(description="Unified text of all changes.")
    truncated: bool


def _base(base: BaseName | None, base_branch: str | None) -> DiffBase:
    if base is None and base_branch:
        return DiffBase(BaseKind.BRANCH, base_branch)
    return DiffBase(BaseKind(base or "last-commit"))


def _summary(summary: DiffSummary) -> dict[str, Any]:
    return {
        "base": summary.base,
        "base_commit": summary.base_commit,
        "files": [change.view() for change in summary.files],
    }


@router.get("/{session_id}/diff/files", response_model=DiffFilesOut, responses=ERRORS)
async def diff_files(
    session_id: SessionId,
    caller: Caller,
    diffs: Diffs,
    base: BaseName | None = None,
    base_branch: BranchQuery = None,
) -> Response:
    """Every changed file (staged, unstaged, untracked) against the base, sorted by path."""
    summary = await diffs.files(caller, str(session_id), _base(base, base_branch))
    return JSONResponse(_summary(summary))


@router.get("/{session_id}/diff", response_model=DiffOut, responses=ERRORS)
async def diff(
    session_id: SessionId,
    caller: Caller,
    diffs: Diffs,
    base: BaseName | None = None,
    base_branch: BranchQuery = None,
    path: Annotated[str | None, Query(description="One workspace-relative file.")] = None,
    format: Literal["unified", "hunks"] = "unified",
) -> Response:
    """The unified diff of the workspace against the base (or of one file)."""
    chosen = _base(base, base_branch)
    if path is None:
        full = await diffs.diff(caller, str(session_id), chosen)
        body = {**_summary(full.summary), "diff": full.text, "truncated": full.truncated}
        return JSONResponse(body)
    one = await diffs.file(caller, str(session_id), chosen, path)
    if format == "hunks":
        return JSONResponse({
            "filePath": one.path, "binary": one.binary, "truncated": one.truncated,
            "hunks": [] if one.binary else parse_hunks(one.text),
        })  # fmt: skip
    return JSONResponse(
        {"path": one.path, "diff": one.text, "binary": one.binary, "truncated": one.truncated}
    )
