"""Composition root: builds the app from Settings, picking adapters by short name."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from volundr.api import activity as activity_api
from volundr.api import chronicles as chronicles_api
from volundr.api import diff as diff_api
from volundr.api import errors, health, me, sse, stream
from volundr.api import events as events_api
from volundr.api import logs as logs_api
from volundr.api import sessions as sessions_api
from volundr.api import stats as stats_api
from volundr.api import usage as usage_api
from volundr.api import workspaces as workspaces_api
from volundr.api.limits import BodyLimitMiddleware
from volundr.bus.inprocess import InProcessNotifier
from volundr.bus.outbox import SqlOutbox
from volundr.config import Settings
from volundr.domain.policy import RepoPolicy
from volundr.domain.pricing import to_micros
from volundr.ports import Notifier, Runtime
from volundr.services.activity import ActivityService, MessageService
from volundr.services.autostop import AutoStop
from volundr.services.budgets import DailyBudget, SessionBudget
from volundr.services.chronicles import ChronicleService
from volundr.services.credentials import RuntimeCredentials
from volundr.services.diffs import DiffService
from volundr.services.events import EventService
from volundr.services.hub import EventHub, HubConfig
from volundr.services.idle import IdleWatch
from volundr.services.locks import SessionLocks
from volundr.services.logs import LogService
from volundr.services.models import ModelCatalogue
from volundr.services.retention import Retention, RetentionPolicy
from volundr.services.sessions import ServiceConfig, SessionService
from volundr.services.stats import StatsService
from volundr.services.supervisor import Supervisor, Timeouts
from volundr.services.transitions import Transitioner, TransitionHook
from volundr.services.usage import UsageService
from volundr.services.workspace_ledger import WorkspaceLedger
from volundr.services.workspaces import WorkspaceService
from volundr.store import migrate
from volundr.store.sql import SqlStore

API_PREFIX = "/api/v1/volundr"
log = logging.getLogger("volundr")


def build_runtime(settings: Settings) -> Runtime:
    """The runtime adapter named by `runtime.kind`."""
    if settings.runtime.kind == "fake":
        from volundr.runtime.fake import FakeRuntime

        return FakeRuntime(mode=settings.runtime.fake_mode, sessions_dir=settings.sessions_dir)
    from volundr.runtime.local import LocalRuntime

    return LocalRuntime(
        sessions_dir=settings.sessions_dir,
        python=settings.runtime.python or sys.executable,
        max_line_bytes=settings.logs.max_line_bytes,
        max_log_bytes=settings.logs.max_bytes_per_session,
        stop_grace_s=settings.runtime.stop_grace_s,
    )


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """A ready-to-serve app. `runtime` overrides the configured adapter (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds secrets
        store = SqlStore(settings.sqlalchemy_url)
        await migrate.upgrade(store.engine)
        store.restrict_access()
        notifier = InProcessNotifier()
        chosen_runtime = runtime or build_runtime(settings)
        ledger = WorkspaceLedger(
            store=store, runtime=chosen_runtime, quota_bytes=settings.workspaces.user_quota_bytes
        )
        app.state.chronicles = chronicles = ChronicleService(store, notifier)
        transitions = Transitioner(
            store,
            notifier,
            on_transition=[*budget_hooks(settings), ledger.on_transition, chronicles.on_transition],
            on_delete=[ledger.on_delete, chronicles.on_delete],
        )
        supervisor = Supervisor(
            store=store,
            runtime=chosen_runtime,
            transitions=transitions,
            timeouts=Timeouts(
                provision_s=settings.runtime.provision_timeout_s,
                stop_grace_s=settings.runtime.stop_grace_s,
                stop_s=settings.runtime.stop_timeout_s,
                health_interval_s=settings.runtime.health_interval_s,
            ),
            agents=settings.agents.all_templates(),
        )
        app.state.store = store
        app.state.notifier = notifier
        app.state.supervisor = supervisor
        locks = SessionLocks()
        app.state.sessions = SessionService(
            store=store,
            transitions=transitions,
            supervisor=supervisor,
            config=service_config(settings),
            locks=locks,
        )
        app.state.stats = StatsService(store)
        install_autostop(app, settings, store)
        install_reporting(app, settings, store, notifier, chosen_runtime)
        install_workspaces(app, settings, store, chosen_runtime, ledger, locks)
        app.state.hub = hub = EventHub(
            outbox=SqlOutbox(store), notifier=notifier, encode=sse.event_frame,
            config=hub_config(settings),
        )
        await hub.start()
        await supervisor.recover()
        supervisor.start_health_checks()
        app.state.idle.start()
        if settings.workspaces.retention_enabled:
            app.state.retention.start()
        log.info("Volundr ready (data in %s)", settings.home)
        try:
            yield
        finally:
            await app.state.retention.close()
            await ledger.close()
            await hub.close()
            await app.state.idle.close()
            await app.state.autostop.close()
            await supervisor.close()
            await store.close()

    app = FastAPI(
        title="Volundr",
        version="0.1.0",
        description="Self-hosted control plane for AI coding sessions.",
        lifespan=lifespan,
        redirect_slashes=False,  # `/sessions/` is an unknown route (404), not a redirect
    )
    app.state.auth_mode = settings.auth.mode
    app.state.sse_retry_ms = settings.sse.retry_ms
    app.state.streams = sse.StreamRegistry()  # every open stream, ended at shutdown
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http.max_body_bytes)
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Next-Cursor"],
        )
    app.include_router(health.router)
    app.include_router(stream.router, prefix=API_PREFIX)  # before /sessions/{session_id}
    app.include_router(sessions_api.router, prefix=API_PREFIX)
    app.include_router(stats_api.router, prefix=API_PREFIX)
    app.include_router(logs_api.router, prefix=API_PREFIX)
    app.include_router(diff_api.router, prefix=API_PREFIX)
    app.include_router(workspaces_api.router, prefix=API_PREFIX)
    app.include_router(events_api.router, prefix=API_PREFIX)
    app.include_router(usage_api.router, prefix=API_PREFIX)
    app.include_router(activity_api.router, prefix=API_PREFIX)
    app.include_router(chronicles_api.router, prefix=API_PREFIX)
    app.include_router(me.router, prefix=API_PREFIX)
    return app


def install_workspaces(
    app: FastAPI, settings: Settings, store: SqlStore, runtime: Runtime,
    ledger: WorkspaceLedger, locks: SessionLocks,
) -> None:
    """Logs, diffs, workspaces and their retention (API §4.12, §4.13, §9)."""
    app.state.sse_heartbeat_s = settings.sse.heartbeat_s
    app.state.logs = LogService(store=store, runtime=runtime)
    app.state.diffs = DiffService(store=store, runtime=runtime, max_bytes=settings.diff.max_bytes)
    app.state.workspaces = workspaces = WorkspaceService(
        store=store, runtime=runtime, ledger=ledger, locks=locks
    )
    days = settings.workspaces
    app.state.retention = Retention(
        store=store, sessions=app.state.sessions, workspaces=workspaces, ledger=ledger,
        policy=RetentionPolicy(
            archive_stopped_after=_days(days.archive_stopped_after_days),
            delete_archived_after=_days(days.delete_archived_after_days),
            interval_s=days.retention_interval_s,
        ),
    )  # fmt: skip


def _days(value: float | None) -> timedelta | None:
    return timedelta(days=value) if value is not None else None


def budget_hooks(settings: Settings) -> list[TransitionHook]:
    """Checks of every start: the session's own budget, and the daily budget when
    `budgets.user_daily_cost_usd` is set."""
    limit = settings.budgets.user_daily_cost_usd
    daily = [] if limit is None else [DailyBudget(to_micros(limit)).on_transition]
    return [SessionBudget.on_transition, *daily]


def install_autostop(app: FastAPI, settings: Settings, store: SqlStore) -> None:
    """The server's own stops: session budgets (after usage reports) and idle timeouts."""
    app.state.autostop = autostop = AutoStop(app.state.sessions)
    app.state.idle = IdleWatch(
        store=store, agents=settings.agents.all_templates(), autostop=autostop,
        interval_s=settings.runtime.health_interval_s,
    )  # fmt: skip


def install_reporting(
    app: FastAPI, settings: Settings, store: SqlStore, notifier: Notifier, runtime: Runtime
) -> None:
    """Events, usage, models, activity and messages (API §4.11, §4.14, §6, §7)."""
    catalogue = ModelCatalogue(
        [m.info() for m in settings.models] if settings.models is not None else None
    )
    app.state.models = catalogue
    app.state.credentials = RuntimeCredentials(store)
    app.state.events = EventService(store, app.state.chronicles)
    app.state.usage = UsageService(
        store, notifier, catalogue, after_count=SessionBudget(app.state.autostop).after_usage
    )
    app.state.activity = ActivityService(store, notifier)
    app.state.messages = MessageService(store, runtime, settings.agents.all_templates())


def service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(
        agents=settings.agents.all_templates(),
        default_agent=settings.agents.default,
        repo_policy=RepoPolicy(
            allow_local_repos=settings.allow_local_repos,
            local_repo_roots=tuple(settings.git.local_repo_roots),
            allowed_http_hosts=tuple(settings.git.allowed_http_hosts),
        ),
        public_url=settings.public_url,
        callback_url=settings.callback_url or settings.public_url,
        session_max_cost_micros=_micros(settings.budgets.session_max_cost_usd),
    )


def _micros(usd: Decimal | None) -> int | None:
    return None if usd is None else max(1, to_micros(usd))


def hub_config(settings: Settings) -> HubConfig:
    sse_settings = settings.sse
    return HubConfig(
        heartbeat_s=sse_settings.heartbeat_s,
        stats_interval_s=sse_settings.stats_interval_s,
        queue_size=sse_settings.queue_size,
        max_connection_s=sse_settings.max_connection_s,
        replay_events=sse_settings.replay_events,
        replay_age_s=sse_settings.replay_age_s,
        prune_every_s=min(60.0, max(0.05, sse_settings.replay_age_s / 4)),
    )
