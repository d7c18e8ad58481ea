"""FastAPI dependencies: the caller and the services of this app."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request

from volundr.api.identity import current_principal
from volundr.domain.models import Principal
from volundr.services.sessions import SessionService


def session_service(request: Request) -> SessionService:
    service: SessionService = request.app.state.sessions
    return service


Caller = Annotated[Principal, Depends(current_principal)]
Sessions = Annotated[SessionService, Depends(session_service)]
SessionId = Annotated[UUID, Path(description="Session id (UUID).")]
