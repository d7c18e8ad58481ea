"""Typed domain errors. The API maps each kind to one HTTP status in one handler."""

from __future__ import annotations


class VolundrError(Exception):
    """Root of every expected failure; `message` is safe to show to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(VolundrError):
    """The resource does not exist or the caller may not see it (404)."""


class SessionNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Session not found: {session_id}")
        self.session_id = session_id


class Forbidden(VolundrError):
    """The caller sees the resource but its role does not allow the action (403)."""


class Conflict(VolundrError):
    """The resource's state forbids the operation (409)."""


class InvalidTransition(Conflict):
    """A lifecycle operation is not allowed from the session's current status."""

    def __init__(self, session_id: str, operation: str, status: str) -> None:
        super().__init__(f"Cannot {operation} session {session_id}: current status is {status}")
        self.session_id = session_id
        self.operation = operation
        self.status = status


class AgentBusy(Conflict):
    """The session's agent is still working on a turn (409)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"Agent of session {session_id} is busy")
        self.session_id = session_id


class DuplicateKey(Conflict):
    """A concurrent writer stored the same client key first; a retry finds its record."""

    def __init__(self) -> None:
        super().__init__("A concurrent request used the same key")


class InvalidRequest(VolundrError):
    """A semantic check after the schema failed (422 with a string detail)."""


class RuntimeFailure(VolundrError):
    """The session runtime failed during the operation (502)."""


class StoreUnavailable(VolundrError):
    """The store cannot be reached (503)."""

    def __init__(self) -> None:
        super().__init__("Store unavailable")
