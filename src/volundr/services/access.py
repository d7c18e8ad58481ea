"""Who may report on a session: principals, and session runtime credentials (API §1.3)."""

from __future__ import annotations

from dataclasses import dataclass

from volundr.domain.errors import Forbidden, SessionNotFound
from volundr.domain.models import Principal, Session

MUTATOR_ROLES = "Requires one of: volundr:admin, volundr:developer"


@dataclass(frozen=True)
class ReportCaller:
    """The caller of a report endpoint.

    `session_scope` is set when the caller presented a session runtime credential: it acts
    as the session's owner, on that one session only.
    """

    principal: Principal
    session_scope: str | None = None


def visible_session(caller: ReportCaller, session: Session | None, session_id: str) -> Session:
    """The session when the caller may see it; SessionNotFound (404) otherwise."""
    if session is None or not caller.principal.can_see(session.owner_id, session.tenant_id):
        raise SessionNotFound(session_id)
    if caller.session_scope is not None and caller.session_scope != session.id:
        raise SessionNotFound(session_id)
    return session


def require_reporter(caller: ReportCaller) -> None:
    """Viewers may read but not report (403)."""
    if not caller.principal.can_mutate:
        raise Forbidden(MUTATOR_ROLES)
