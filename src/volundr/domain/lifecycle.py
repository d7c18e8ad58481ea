"""The session state machine: the only table of allowed status changes.

Every status change is checked here (`check`) before the store writes it with a
compare-and-set; the service then records one `session_status` event per change.
"""

from __future__ import annotations

from enum import StrEnum

from volundr.domain.errors import InvalidTransition
from volundr.domain.models import SessionStatus as S


class Operation(StrEnum):
    """A user- or system-triggered lifecycle step; the value is used in 409 messages."""

    START = "start"
    LAUNCHED = "launch"
    READY = "mark ready"
    FAIL = "fail"
    STOP = "stop"
    STOPPED = "finish stopping"
    ARCHIVE = "archive"
    RESTORE = "restore"


TRANSITIONS: dict[Operation, dict[S, S]] = {
    Operation.START: {S.CREATED: S.STARTING, S.STOPPED: S.STARTING, S.FAILED: S.STARTING},
    Operation.LAUNCHED: {S.STARTING: S.PROVISIONING},
    Operation.READY: {S.PROVISIONING: S.RUNNING},
    Operation.FAIL: {
        S.STARTING: S.FAILED,
        S.PROVISIONING: S.FAILED,
        S.RUNNING: S.FAILED,
        S.STOPPING: S.FAILED,
    },
    Operation.STOP: {S.STARTING: S.STOPPING, S.PROVISIONING: S.STOPPING, S.RUNNING: S.STOPPING},
    Operation.STOPPED: {S.STOPPING: S.STOPPED, S.RUNNING: S.STOPPED},
    Operation.ARCHIVE: {S.CREATED: S.ARCHIVED, S.STOPPED: S.ARCHIVED, S.FAILED: S.ARCHIVED},
    Operation.RESTORE: {S.ARCHIVED: S.STOPPED},
}
"""operation → {from status: to status}. `STOPPED` from RUNNING is the agent's own clean
exit under `stop_on_exit`; FAIL from RUNNING is a vanished runtime or a failed agent."""


def target(operation: Operation, current: S) -> S | None:
    """The status `operation` leads to from `current`, or None when not allowed."""
    return TRANSITIONS[operation].get(current)


def check(session_id: str, operation: Operation, current: S) -> S:
    """The status `operation` leads to; raises InvalidTransition (409) when not allowed."""
    nxt = target(operation, current)
    if nxt is None:
        raise InvalidTransition(session_id, operation.value, current.value)
    return nxt


def allowed_targets(current: S) -> set[S]:
    """Every status reachable from `current` in one step."""
    return {table[current] for table in TRANSITIONS.values() if current in table}
