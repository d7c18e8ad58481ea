"""Session use cases: every call takes the caller's principal and is scoped by it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from volundr.domain import lifecycle, validation
from volundr.domain.clock import new_id, utcnow
from volundr.domain.credentials import new_runtime_token
from volundr.domain.errors import (
    Forbidden,
    InvalidRequest,
    InvalidTransition,
    RuntimeFailure,
    SessionNotFound,
)
from volundr.domain.lifecycle import Operation
from volundr.domain.models import (
    AgentTemplate,
    Broadcast,
    GitSource,
    LaunchOptions,
    Principal,
    Session,
    SessionStatus,
)
from volundr.domain.policy import RepoPolicy, check_repo_policy
from volundr.ports import LaunchSpec, SessionQuery, SessionStore
from volundr.services.locks import SessionLocks
from volundr.services.supervisor import Supervisor, run_ended
from volundr.services.transitions import Transitioner, status_event, updated_broadcast

log = logging.getLogger("volundr.sessions")

MUTATOR_ROLES = "Requires one of: volundr:admin, volundr:developer"
CLEANUP_WORKSPACE = "workspace_storage"


@dataclass(frozen=True)
class NewSession:
    """A validated create request (schema rules already applied)."""

    name: str
    model: str = ""
    agent: str | None = None
    source: GitSource = field(default_factory=GitSource)
    preset_id: str | None = None
    issue_id: str | None = None
    issue_url: str | None = None
    options: LaunchOptions = field(default_factory=LaunchOptions)
    local_mount: bool = False
    """The request asked for a `local_mount` source (not enabled on this server)."""


@dataclass(frozen=True)
class SessionChanges:
    """A partial update: None = unchanged."""

    name: str | None = None
    model: str | None = None
    branch: str | None = None
    tracker_issue_id: str | None = None
    max_cost_micros: int | None = None


@dataclass(frozen=True)
class RuntimeReport:
    """A session host's callback (`phase`: ready, failed or agent_exited)."""

    phase: str
    error: str | None = None
    branch: str | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class Page:
    sessions: list[Session]
    next_cursor: str | None


@dataclass(frozen=True)
class ServiceConfig:
    agents: dict[str, AgentTemplate]
    default_agent: str
    repo_policy: RepoPolicy
    public_url: str
    callback_url: str
    templates: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()
    """Names of the configured workspace templates, resource profiles and credentials."""
    session_max_cost_micros: int | None = None
    """`max_cost_usd` of sessions created without one (None = no limit)."""


class SessionService:
    def __init__(
        self,
        *,
        store: SessionStore,
        transitions: Transitioner,
        supervisor: Supervisor,
        config: ServiceConfig,
        locks: SessionLocks,
    ) -> None:
        """`locks` are shared with the workspace service: a start never interleaves with
        the removal of its workspace's files, or with its session's delete."""
        self._store = store
        self._transitions = transitions
        self._supervisor = supervisor
        self._config = config
        self._locks = locks

    # ------------------------------------------------------------------ reads

    async def list_page(
        self,
        principal: Principal,
        *,
        status: SessionStatus | None = None,
        include_archived: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """Visible sessions newest first; paging when `limit` or `cursor` is given."""
        if status is not None:
            statuses = frozenset({status})
        elif include_archived:
            statuses = frozenset()
        else:
            statuses = frozenset(SessionStatus) - {SessionStatus.ARCHIVED}
        paging = limit is not None or cursor is not None
        after = decode_cursor(cursor) if cursor is not None else None
        page_size = (limit or 100) if paging else None
        query = SessionQuery(
            principal=principal,
            statuses=statuses,
            limit=page_size + 1 if page_size else None,
            after=after,
        )
        async with self._store.reader() as tx:
            rows = await tx.list_sessions(query)
        if page_size is None or len(rows) <= page_size:
            return Page(rows, None)
        rows = rows[:page_size]
        return Page(rows, encode_cursor(rows[-1]))

    async def get(self, principal: Principal, session_id: str) -> Session:
        async with self._store.reader() as tx:
            session = await tx.get_session(session_id)
        if session is None or not principal.can_see(session.owner_id, session.tenant_id):
            raise SessionNotFound(session_id)
        return session

    async def _get_for_change(self, principal: Principal, session_id: str) -> Session:
        async with self._store.reader() as tx:
            return _changeable(principal, await tx.get_session(session_id), session_id)

    # ------------------------------------------------------------------ create, update

    async def create(self, principal: Principal, new: NewSession) -> Session:
        """Insert the record and accept its first start (201 `starting`)."""
        if not principal.can_mutate:
            raise Forbidden(MUTATOR_ROLES)
        self._check_catalogues(new)
        agent = self._agent(new.agent)
        check_repo_policy(validation.repository(new.source.repo), self._config.repo_policy)
        now = utcnow()
        session = Session(
            id=new_id(),
            name=new.name,
            model=new.model or agent.model,
            agent=agent.name,
            source=new.source,
            status=SessionStatus.CREATED,
            owner_id=principal.user_id,
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            last_active=now,
            tracker_issue_id=new.issue_id,
            issue_tracker_url=new.issue_url,
            preset_id=new.preset_id,
            launch=new.options,
        )
        if new.options.max_cost_micros is None:
            session.launch = replace(
                new.options, max_cost_micros=self._config.session_max_cost_micros
            )
        token = new_runtime_token(session.id)
        async with self._store.transaction() as tx:
            await tx.insert_session(session)
            await tx.append_event(status_event(session, None))
            await tx.append_broadcast(updated_broadcast(session, "session_created"))
            await self._transitions.apply_in(
                tx, session, Operation.START, self._accept_start(token)
            )
        self._transitions.wake()
        self._supervisor.launch(session.id, self._launch_spec(session, agent, token))
        return session

    async def update(
        self, principal: Principal, session_id: str, changes: SessionChanges
    ) -> Session:
        """Partial update, read and written in one transaction (which locks the row, so
        concurrent updates queue instead of losing: never 409)."""
        async with self._store.transaction() as tx:
            session = _changeable(principal, await tx.get_session(session_id), session_id)
            expected = session.version
            if changes.name is not None:
                session.name = changes.name
            if changes.model is not None:
                session.model = changes.model
            if changes.branch is not None:
                session.source = GitSource(
                    session.source.repo, changes.branch, session.source.base_branch
                )
            if changes.tracker_issue_id is not None:
                session.tracker_issue_id = changes.tracker_issue_id
            if changes.max_cost_micros is not None:
                session.launch.max_cost_micros = changes.max_cost_micros
            session.updated_at = utcnow()
            if not await tx.update_session(session, expected):
                raise RuntimeError(f"session {session_id}: changed under a row lock")
            await tx.append_broadcast(updated_broadcast(session))
        self._transitions.wake()
        return session

    # ------------------------------------------------------------------ lifecycle

    async def start(
        self, principal: Principal, session_id: str, profile_name: str | None = None
    ) -> Session:
        session = await self._get_for_change(principal, session_id)
        lifecycle.check(session_id, Operation.START, session.status)  # 409 before 422
        self._check_profile(profile_name)
        agent = self._agent(session.agent)
        token = new_runtime_token(session_id)
        async with self._locks.hold(session_id):
            outcome = await self._transitions.apply(
                session_id, Operation.START, self._accept_start(token)
            )
        self._supervisor.launch(session_id, self._launch_spec(outcome.session, agent, token))
        return outcome.session

    async def stop(self, principal: Principal, session_id: str) -> Session:
        """Synchronous stop: returns the `stopped` session; RuntimeFailure (502) on failure."""
        await self._get_for_change(principal, session_id)
        await self._transitions.apply(session_id, Operation.STOP)
        return await self._finish_stop(session_id)

    async def stop_for(
        self, session_id: str, reason: str, still: Callable[[Session], bool]
    ) -> bool:
        """The server's own stop (budget, idle): → stopping → stopped, both transitions
        setting `error = reason`. Nothing is done (False) when the session is gone or not
        stoppable, or `still(session)` is false when re-read in the stop's transaction.
        Raises RuntimeFailure when the runtime could not be stopped (session `failed`)."""

        def stopping(s: Session) -> None:
            s.error = reason

        for _ in range(20):
            async with self._store.transaction() as tx:
                session = await tx.get_session(session_id)
                if session is None or lifecycle.target(Operation.STOP, session.status) is None:
                    return False
                if not still(session):
                    return False
                won = await self._transitions.apply_in(tx, session, Operation.STOP, stopping)
            if won:
                log.info("session %s: stopping: %s", session_id, reason)
                self._transitions.wake()
                await self._finish_stop(session_id, reason)
                return True
        raise RuntimeError(f"session {session_id}: stop kept losing")

    async def _finish_stop(self, session_id: str, reason: str | None = None) -> Session:
        await self._supervisor.halt(session_id)
        session = await self._read(session_id)
        try:
            await self._supervisor.stop_runtime(session)
        except RuntimeFailure as exc:
            reason = exc.message

            def failed(s: Session) -> None:
                s.error = f"Stop failed: {reason}"
                run_ended(s)

            with contextlib.suppress(InvalidTransition):
                await self._transitions.apply(session_id, Operation.FAIL, failed)
            raise RuntimeFailure(f"Failed to stop session {session_id}: {exc.message}") from exc
        def ended(s: Session) -> None:
            run_ended(s)
            if reason is not None:
                s.error = reason

        outcome = await self._transitions.apply(session_id, Operation.STOPPED, ended)
        return outcome.session

    async def archive(self, principal: Principal, session_id: str) -> Session:
        session = await self._get_for_change(principal, session_id)
        if session.status in (SessionStatus.STARTING, SessionStatus.PROVISIONING,
                              SessionStatus.RUNNING):
            try:
                await self._transitions.apply(session_id, Operation.STOP)
            except InvalidTransition as exc:
                raise InvalidTransition(session_id, "archive", exc.status) from None
            await self._finish_stop(session_id)
        try:
            outcome = await self._transitions.apply(session_id, Operation.ARCHIVE, _archived)
        except InvalidTransition as exc:
            raise InvalidTransition(session_id, "archive", exc.status) from None
        return outcome.session

    async def restore(self, principal: Principal, session_id: str) -> Session:
        await self._get_for_change(principal, session_id)
        outcome = await self._transitions.apply(session_id, Operation.RESTORE, _restored)
        return outcome.session

    async def archive_stopped(self, principal: Principal) -> list[str]:
        """Archive every visible `stopped` session, each by its own compare-and-set."""
        if not principal.can_mutate:
            raise Forbidden(MUTATOR_ROLES)
        query = SessionQuery(principal=principal, statuses=frozenset({SessionStatus.STOPPED}))
        async with self._store.reader() as tx:
            candidates = await tx.list_sessions(query)
        archived: list[str] = []
        for session in candidates:
            with contextlib.suppress(InvalidTransition, SessionNotFound):
                await self._transitions.apply(session.id, Operation.ARCHIVE, _archived)
                archived.append(session.id)
        return archived

    async def delete(
        self, principal: Principal, session_id: str, cleanup: frozenset[str] = frozenset()
    ) -> None:
        """Stop if active (errors logged, runtime killed), clean up, remove the record."""
        await self._get_for_change(principal, session_id)
        async with self._locks.hold(session_id):
            await self._delete(session_id, cleanup)

    async def _delete(self, session_id: str, cleanup: frozenset[str]) -> None:
        session = await self._read(session_id)  # SessionNotFound (404) for a later delete
        if session.status.is_active:
            with contextlib.suppress(InvalidTransition):
                await self._transitions.apply(session_id, Operation.STOP)
            await self._supervisor.halt(session_id)
            try:
                await self._supervisor.stop_runtime(await self._read(session_id))
            except RuntimeFailure as exc:
                log.warning("session %s: stop during delete failed: %s", session_id, exc.message)
        if CLEANUP_WORKSPACE in cleanup:
            await self._supervisor.remove_workspace(session_id)
        async with self._store.transaction() as tx:
            current = await tx.get_session(session_id)
            if current is None:
                raise SessionNotFound(session_id)
            await self._transitions.deleted_in(tx, current, cleanup)
            await tx.delete_session(session_id)
            await tx.append_broadcast(
                Broadcast(
                    name="session_deleted",
                    payload={"id": session_id},
                    owner_id=current.owner_id,
                    tenant_id=current.tenant_id,
                    session_id=session_id,
                )
            )
        self._transitions.wake()

    # ------------------------------------------------------------------ runtime callback

    async def runtime_report(self, session_id: str, token: str, report: RuntimeReport) -> None:
        """A session host reports progress. Authenticated by the run's session token.

        A report is a hint: what it says is also in the host's health, so one that arrives
        before the session can act on it (e.g. an agent exit while `provisioning`) is
        applied once it can."""
        session = await self._read_or_none(session_id)
        if session is None or not _token_matches(session.token_hash, token):
            raise SessionNotFound(session_id)
        if report.phase == "agent_exited" and report.exit_code is not None:
            await self._supervisor.agent_exited(session_id, report.exit_code)
            return
        self._supervisor.wake(session_id)

    # ------------------------------------------------------------------ helpers

    def _check_catalogues(self, new: NewSession) -> None:
        """Semantic 422s of a create: names that must exist in the server's configuration."""
        if new.local_mount:
            raise InvalidRequest("Local mounts are not enabled on this server")
        template = new.options.template_name
        if template is not None and template not in self._config.templates:
            raise InvalidRequest(f"Unknown template: {template}")
        self._check_profile(new.options.profile_name)
        for credential in new.options.credential_names:
            if credential not in self._config.credentials:
                raise InvalidRequest(f"Unknown credential: {credential}")

    def _check_profile(self, name: str | None) -> None:
        if name is not None and name not in self._config.profiles:
            raise InvalidRequest(f"Unknown profile: {name}")

    def _agent(self, name: str | None) -> AgentTemplate:
        chosen = name or self._config.default_agent
        agent = self._config.agents.get(chosen)
        if agent is None:
            raise InvalidRequest(f"Unknown agent: {chosen}")
        return agent

    def _accept_start(self, token: str) -> Any:
        chat_base = self._config.public_url.rstrip("/")
        ws_base = "wss://" + chat_base[8:] if chat_base.startswith("https://") else (
            "ws://" + chat_base.split("://", 1)[-1]
        )

        def accept(s: Session) -> None:
            s.error = None
            s.pod_name = None
            s.code_endpoint = None
            s.chat_endpoint = f"{ws_base}/s/{s.id}/session"
            s.runtime_state = {}
            s.token_hash = _hash_token(token)
            s.run_started_at = s.updated_at
            s.activity_state = None
            s.activity_metadata = {}

        return accept

    def _launch_spec(self, session: Session, agent: AgentTemplate, token: str) -> LaunchSpec:
        policy = self._config.repo_policy
        return LaunchSpec(
            session_id=session.id,
            repo=session.source.repo,
            branch=session.source.branch,
            base_branch=session.source.base_branch,
            model=session.model,
            agent=agent,
            # sent on the first start only (API §3.5): once a run reached `running`, its
            # agent had it; a later start resumes or begins without it
            prompt="" if session.launch.initial_prompt_sent else session.launch.initial_prompt,
            system_prompt=session.launch.system_prompt,
            env=dict(session.launch.env),
            token=token,
            callback_url=self._config.callback_url,
            allow_local_repos=policy.allow_local_repos,
            allowed_http_hosts=policy.allowed_http_hosts,
        )

    async def _read_or_none(self, session_id: str) -> Session | None:
        async with self._store.reader() as tx:
            return await tx.get_session(session_id)

    async def _read(self, session_id: str) -> Session:
        session = await self._read_or_none(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        return session


def _archived(s: Session) -> None:
    s.archived_at = s.updated_at
    s.pod_name = None
    s.chat_endpoint = None
    s.code_endpoint = None


def _restored(s: Session) -> None:
    s.archived_at = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_matches(stored_hash: str | None, token: str) -> bool:
    return stored_hash is not None and hmac.compare_digest(stored_hash, _hash_token(token))


def encode_cursor(session: Session) -> str:
    raw = f"{session.created_at.isoformat()}|{session.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Parse an `X-Next-Cursor` value; InvalidRequest("Invalid cursor") when malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, sid = raw.split("|", 1)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or len(sid) != 36:
            raise ValueError(cursor)
        return when, sid
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("Invalid cursor") from None


def _changeable(principal: Principal, session: Session | None, session_id: str) -> Session:
    """The session when `principal` may see it (else 404) and change it (else 403)."""
    if session is None or not principal.can_see(session.owner_id, session.tenant_id):
        raise SessionNotFound(session_id)
    if not principal.can_mutate:
        raise Forbidden(MUTATOR_ROLES)
    return session
