"""`GET /me`: the caller as the server sees it (API §10)."""

from __future__ import annotations

from fastapi import APIRouter

from volundr.api.deps import Caller
from volundr.api.routing import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["identity"])


@router.get("/me")
async def me(caller: Caller) -> dict[str, object]:
    display = caller.email.split("@", 1)[0] if caller.email else caller.user_id
    return {
        "user_id": caller.user_id,
        "email": caller.email,
        "tenant_id": caller.tenant_id,
        "roles": [role.value for role in caller.roles],
        "display_name": display,
        "status": "active",
    }
