"""Verifies session runtime credentials (the token a session host reports with)."""

from __future__ import annotations

from volundr.domain.credentials import token_matches, token_session
from volundr.domain.models import Principal, Role
from volundr.ports import SessionStore
from volundr.services.access import ReportCaller


class RuntimeCredentials:
    """A token is valid while it matches the hash stored for the current run of the
    session it names; the hash is cleared when the run ends (`run_ended`)."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    async def verify(self, token: str) -> ReportCaller | None:
        """The caller the token stands for, or None when it is unknown or revoked."""
        session_id = token_session(token)
        if session_id is None:
            return None
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
        if session is None or not token_matches(session.token_hash, token):
            return None
        owner = Principal(
            user_id=session.owner_id, tenant_id=session.tenant_id, roles=(Role.DEVELOPER,)
        )
        return ReportCaller(owner, session_scope=session.id)
