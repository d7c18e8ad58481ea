"""Workspaces endpoints (API §9). Routes translate HTTP ↔ service calls, nothing more."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from volundr.api.bounds import RequestBody, Uuid
from volundr.api.deps import Caller
from volundr.api.responses import JSONResponse
from volundr.api.routing import StrictJsonRoute
from volundr.api.schemas import Detail
from volundr.domain.clock import iso
from volundr.domain.workspaces import Workspace, WorkspaceStatus
from volundr.services.workspaces import BulkResult, WorkspaceService

router = APIRouter(route_class=StrictJsonRoute, tags=["workspaces"])


def workspace_service(request: Request) -> WorkspaceService:
    service: WorkspaceService = request.app.state.workspaces
    return service


Workspaces = Annotated[WorkspaceService, Depends(workspace_service)]
WorkspaceKey = Annotated[UUID, Path(description="Session id (UUID) of the workspace.")]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "Workspace not found"}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": Detail, "description": "Role does not allow the action"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Detail, "description": "The workspace's or session's state forbids it"}
}


class WorkspaceOut(BaseModel):
    """The workspace object (API §9.1). Documentation only: responses are built directly."""

    model_config = ConfigDict(title="Workspace")

    id: UUID
    session_id: UUID
    user_id: str
    tenant_id: str
    pvc_name: str
    path: str | None
    status: Literal["active", "archived", "deleted"]
    size_gb: int
    size_bytes: int | None
    created_at: str
    archived_at: str | None
    deleted_at: str | None
    session_name: str | None
    source_url: str | None
    source_ref: str | None


class BulkDeleteIn(RequestBody):
    session_ids: Annotated[list[Uuid], Field(max_length=1000)]


class BulkFailure(BaseModel):
    session_id: str
    error: Literal["Not found or not owned", "Not found", "Session is active", "Internal error"]


class BulkDeleteOut(BaseModel):
    deleted: int
    failed: list[BulkFailure]


def workspace_view(w: Workspace) -> dict[str, Any]:
    """The workspace object of the API contract (§9.1), every field always present."""
    return {
        "id": w.id,
        "session_id": w.session_id,
        "user_id": w.user_id,
        "tenant_id": w.tenant_id,
        "pvc_name": w.pvc_name,
        "path": w.path,
        "status": w.status.value,
        "size_gb": w.size_gb,
        "size_bytes": w.size_bytes if w.status is not WorkspaceStatus.DELETED else None,
        "created_at": iso(w.created_at),
        "archived_at": iso(w.archived_at) if w.archived_at else None,
        "deleted_at": iso(w.deleted_at) if w.deleted_at else None,
        "session_name": w.session_name,
        "source_url": w.source_url,
        "source_ref": w.source_ref,
    }


def _many(found: list[Workspace]) -> JSONResponse:
    return JSONResponse([workspace_view(w) for w in found])


def _bulk(result: BulkResult) -> JSONResponse:
    failed = [{"session_id": sid, "error": error} for sid, error in result.failed]
    return JSONResponse({"deleted": result.deleted, "failed": failed})


def _ids(body: BulkDeleteIn) -> list[str]:
    return [str(sid) for sid in body.session_ids]


@router.get("/workspaces", response_model=list[WorkspaceOut])
async def list_workspaces(
    caller: Caller, workspaces: Workspaces, status: WorkspaceStatus | None = None
) -> Response:
    """The caller's own workspaces, newest first (default: `active` and `archived`)."""
    return _many(await workspaces.list_own(caller, status))


@router.post("/workspaces/bulk-delete", response_model=BulkDeleteOut, responses=FORBIDDEN)
async def bulk_delete(body: BulkDeleteIn, caller: Caller, workspaces: Workspaces) -> Response:
    """Delete each workspace as `DELETE /workspaces/{session_id}` would, independently."""
    return _bulk(await workspaces.bulk_delete(caller, _ids(body)))


@router.get("/workspaces/{session_id}", response_model=WorkspaceOut, responses=NOT_FOUND)
async def get_workspace(
    session_id: WorkspaceKey, caller: Caller, workspaces: Workspaces
) -> Response:
    return JSONResponse(workspace_view(await workspaces.get(caller, str(session_id))))


@router.post(
    "/workspaces/{session_id}/restore",
    response_model=WorkspaceOut,
    responses={**NOT_FOUND, **FORBIDDEN, **CONFLICT},
)
async def restore_workspace(
    session_id: WorkspaceKey, caller: Caller, workspaces: Workspaces
) -> Response:
    """`archived` → `active`."""
    return JSONResponse(workspace_view(await workspaces.restore(caller, str(session_id))))


@router.delete(
    "/workspaces/{session_id}", status_code=204, responses={**NOT_FOUND, **FORBIDDEN, **CONFLICT}
)
async def delete_workspace(
    session_id: WorkspaceKey, caller: Caller, workspaces: Workspaces
) -> Response:
    """Remove the workspace's files and logs (refused while its session is active)."""
    await workspaces.delete(caller, str(session_id))
    return Response(status_code=204)


@router.get("/admin/workspaces", response_model=list[WorkspaceOut], responses=FORBIDDEN)
async def admin_list_workspaces(
    caller: Caller,
    workspaces: Workspaces,
    user_id: str | None = None,
    status: WorkspaceStatus | None = None,
) -> Response:
    """Every workspace of the caller's tenant (or of `user_id`); admins only."""
    return _many(await workspaces.list_tenant(caller, user_id, status))


@router.post("/admin/workspaces/bulk-delete", response_model=BulkDeleteOut, responses=FORBIDDEN)
async def admin_bulk_delete(
    body: BulkDeleteIn, caller: Caller, workspaces: Workspaces
) -> Response:
    """As `POST /workspaces/bulk-delete`, over the whole tenant; admins only."""
    return _bulk(await workspaces.bulk_delete(caller, _ids(body), admin=True))
