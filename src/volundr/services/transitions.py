"""The single transition function: table check, compare-and-set, status event, broadcast."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from volundr.domain import lifecycle
from volundr.domain.clock import new_id, utcnow
from volundr.domain.errors import DuplicateKey, SessionNotFound
from volundr.domain.lifecycle import Operation
from volundr.domain.models import Broadcast, Session, SessionEvent, SessionStatus
from volundr.ports import Notifier, SessionStore, StoreTx
from volundr.services.views import session_view

log = logging.getLogger("volundr.lifecycle")

Mutation = Callable[[Session], None]
TransitionHook = Callable[[StoreTx, Session, SessionStatus], Awaitable[None]]
"""Runs inside the transaction of a transition that won its compare-and-set, with the
session in its new state and the previous status; raising rolls the transition back."""
DeleteHook = Callable[[StoreTx, Session, frozenset[str]], Awaitable[None]]
"""Runs inside the transaction that deletes a session record (with its `cleanup` options)."""

_MAX_CAS_RETRIES = 20


@dataclass(frozen=True)
class Outcome:
    session: Session
    previous: SessionStatus


def status_event(session: Session, previous: SessionStatus | None) -> SessionEvent:
    """The `session_status` event row recording one transition."""
    return SessionEvent(
        id=new_id(),
        session_id=session.id,
        event_type="session_status",
        timestamp=session.updated_at,
        data={
            "from": previous.value if previous else None,
            "to": session.status.value,
            "error": session.error,
        },
    )


def updated_broadcast(session: Session, name: str = "session_updated") -> Broadcast:
    return Broadcast(
        name=name,
        payload=session_view(session),
        owner_id=session.owner_id,
        tenant_id=session.tenant_id,
        session_id=session.id,
    )


async def apply_in(
    tx: StoreTx,
    session: Session,
    operation: Operation,
    mutate: Mutation | None = None,
    hooks: Sequence[TransitionHook] = (),
) -> bool:
    """Apply `operation` to `session` inside `tx`; False when the CAS lost a race.

    Raises InvalidTransition when the table forbids it. On success `session` holds the
    new state and the status event and `session_updated` broadcast are written in `tx`,
    then `hooks` run in the same transaction (so what they publish follows the
    `session_updated` it results from).
    """
    previous = session.status
    nxt = lifecycle.check(session.id, operation, previous)
    expected = session.version
    session.status = nxt
    session.updated_at = utcnow()
    if mutate is not None:
        mutate(session)
    if not await tx.update_session(session, expected):
        return False
    await tx.append_event(status_event(session, previous))
    await tx.append_broadcast(updated_broadcast(session))
    for hook in hooks:
        await hook(tx, session, previous)
    return True


class Transitioner:
    """Moves sessions through the lifecycle table; every move is one atomic write."""

    def __init__(
        self,
        store: SessionStore,
        notifier: Notifier,
        *,
        on_transition: Sequence[TransitionHook] = (),
        on_delete: Sequence[DeleteHook] = (),
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._on_transition = tuple(on_transition)
        self._on_delete = tuple(on_delete)

    async def apply_in(
        self, tx: StoreTx, session: Session, operation: Operation, mutate: Mutation | None = None
    ) -> bool:
        """`apply_in` with this transitioner's hooks, inside the caller's transaction."""
        return await apply_in(tx, session, operation, mutate, self._on_transition)

    async def deleted_in(self, tx: StoreTx, session: Session, cleanup: frozenset[str]) -> None:
        """Run the delete hooks inside the transaction that deletes `session`."""
        for hook in self._on_delete:
            await hook(tx, session, cleanup)

    async def apply(
        self, session_id: str, operation: Operation, mutate: Mutation | None = None
    ) -> Outcome:
        """Re-read, check and write until the compare-and-set wins.

        Raises SessionNotFound, or InvalidTransition (409) when the session's current
        status (after any concurrent change) does not allow `operation`.
        """
        for _ in range(_MAX_CAS_RETRIES):
            try:
                async with self._store.transaction() as tx:
                    session = await tx.get_session(session_id)
                    if session is None:
                        raise SessionNotFound(session_id)
                    previous = session.status
                    won = await apply_in(tx, session, operation, mutate, self._on_transition)
            except DuplicateKey:  # a hook raced a concurrent writer (PostgreSQL): again
                continue
            if won:
                log.info(
                    "session %s: %s → %s%s", session_id, previous.value, session.status.value,
                    f" ({session.error})" if session.error else "",
                )
                self.wake()
                return Outcome(session, previous)
        raise RuntimeError(f"session {session_id}: compare-and-set kept losing")

    def wake(self) -> None:
        """Tell live subscribers that new outbox rows are committed."""
        self._notifier.notify()
