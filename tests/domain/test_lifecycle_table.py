"""The lifecycle table against the contract (API §3.2 transitions, §3.3 guards)."""

from __future__ import annotations

import pytest

from volundr.domain import lifecycle
from volundr.domain.errors import InvalidTransition
from volundr.domain.lifecycle import Operation
from volundr.domain.models import ACTIVE_STATUSES
from volundr.domain.models import SessionStatus as S

SID = "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"

# Written from API.md, independently of the table in `volundr.domain.lifecycle`.
CONTRACT: dict[Operation, dict[S, S]] = {
    # §3.3 guards of user operations
    Operation.START: {S.CREATED: S.STARTING, S.STOPPED: S.STARTING, S.FAILED: S.STARTING},
    Operation.STOP: {S.STARTING: S.STOPPING, S.PROVISIONING: S.STOPPING, S.RUNNING: S.STOPPING},
    Operation.ARCHIVE: {S.CREATED: S.ARCHIVED, S.STOPPED: S.ARCHIVED, S.FAILED: S.ARCHIVED},
    Operation.RESTORE: {S.ARCHIVED: S.STOPPED},
    # §3.2 system transitions
    Operation.LAUNCHED: {S.STARTING: S.PROVISIONING},
    Operation.READY: {S.PROVISIONING: S.RUNNING},
    Operation.FAIL: {
        S.STARTING: S.FAILED,
        S.PROVISIONING: S.FAILED,
        S.RUNNING: S.FAILED,
        S.STOPPING: S.FAILED,
    },
    Operation.STOPPED: {S.STOPPING: S.STOPPED, S.RUNNING: S.STOPPED},
}

PAIRS = [(op, status) for op in Operation for status in S]


def test_contract_table_covers_every_operation() -> None:
    assert set(CONTRACT) == set(Operation)


@pytest.mark.parametrize(("operation", "status"), PAIRS, ids=lambda v: str(v.value))
def test_every_operation_from_every_status_matches_the_contract(
    operation: Operation, status: S
) -> None:
    expected = CONTRACT[operation].get(status)
    assert lifecycle.target(operation, status) == expected
    if expected is not None:
        assert lifecycle.check(SID, operation, status) == expected
        return
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.check(SID, operation, status)
    err = caught.value
    assert err.message == f"Cannot {operation.value} session {SID}: current status is {status}"
    assert (err.session_id, err.operation, err.status) == (SID, operation.value, status.value)


@pytest.mark.parametrize(
    ("operation", "word"),
    [
        (Operation.START, "start"),
        (Operation.STOP, "stop"),
        (Operation.ARCHIVE, "archive"),
        (Operation.RESTORE, "restore"),
    ],
)
def test_user_operations_use_the_contract_verb_in_409_messages(
    operation: Operation, word: str
) -> None:
    assert operation.value == word


def test_stop_and_archive_guards_reject_exactly_what_the_contract_lists() -> None:
    assert {s for s in S if lifecycle.target(Operation.STOP, s) is None} == {
        S.CREATED,
        S.STOPPING,
        S.STOPPED,
        S.FAILED,
        S.ARCHIVED,
    }
    # archive from an active status other than stopping is stop-then-archive (service level)
    assert {s for s in S if lifecycle.target(Operation.ARCHIVE, s) is None} == {
        *ACTIVE_STATUSES,
        S.ARCHIVED,
    }


def test_nothing_leads_back_to_created_and_running_is_reached_only_by_ready() -> None:
    for operation, table in lifecycle.TRANSITIONS.items():
        assert S.CREATED not in table.values()
        if operation is not Operation.READY:
            assert S.RUNNING not in table.values()


@pytest.mark.parametrize("status", list(S), ids=str)
def test_allowed_targets_is_the_union_of_the_table(status: S) -> None:
    expected = {table[status] for table in CONTRACT.values() if status in table}
    assert lifecycle.allowed_targets(status) == expected


def test_active_statuses_are_the_four_of_the_contract() -> None:
    assert {s for s in S if s.is_active} == {S.STARTING, S.PROVISIONING, S.RUNNING, S.STOPPING}
    assert [s.value for s in S] == [
        "created",
        "starting",
        "provisioning",
        "running",
        "stopping",
        "stopped",
        "failed",
        "archived",
    ]
