"""Composition root: builds the app from Settings, picking adapters by short name."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from volundr.api import errors, health, me, sse, stream
from volundr.api import sessions as sessions_api
from volundr.api import stats as stats_api
from volundr.api.limits import BodyLimitMiddleware
from volundr.bus.inprocess import InProcessNotifier
from volundr.bus.outbox import SqlOutbox
from volundr.config import Settings
from volundr.domain.policy import RepoPolicy
from volundr.ports import Runtime
from volundr.services.hub import EventHub, HubConfig
from volundr.services.sessions import ServiceConfig, SessionService
from volundr.services.stats import StatsService
from volundr.services.supervisor import Supervisor, Timeouts
from volundr.services.transitions import Transitioner
from volundr.store import migrate
from volundr.store.sql import SqlStore

API_PREFIX = "/api/v1/volundr"
log = logging.getLogger("volundr")


def build_runtime(settings: Settings) -> Runtime:
    """The runtime adapter named by `runtime.kind`."""
    if settings.runtime.kind == "fake":
        from volundr.runtime.fake import FakeRuntime

        return FakeRuntime(mode=settings.runtime.fake_mode)
    from volundr.runtime.local import LocalRuntime

    return LocalRuntime(
        sessions_dir=settings.sessions_dir,
        python=settings.runtime.python or sys.executable,
        max_line_bytes=settings.logs.max_line_bytes,
        stop_grace_s=settings.runtime.stop_grace_s,
    )


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """A ready-to-serve app. `runtime` overrides the configured adapter (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = SqlStore(settings.sqlalchemy_url)
        await migrate.upgrade(store.engine)
        notifier = InProcessNotifier()
        transitions = Transitioner(store, notifier)
        supervisor = Supervisor(
            store=store,
            runtime=runtime or build_runtime(settings),
            transitions=transitions,
            timeouts=Timeouts(
                provision_s=settings.runtime.provision_timeout_s,
                stop_grace_s=settings.runtime.stop_grace_s,
                stop_s=settings.runtime.stop_timeout_s,
                health_interval_s=settings.runtime.health_interval_s,
            ),
        )
        app.state.store = store
        app.state.notifier = notifier
        app.state.supervisor = supervisor
        app.state.sessions = SessionService(
            store=store,
            transitions=transitions,
            supervisor=supervisor,
            config=service_config(settings),
        )
        app.state.stats = StatsService(store)
        app.state.hub = hub = EventHub(
            outbox=SqlOutbox(store), notifier=notifier, encode=sse.event_frame,
            config=hub_config(settings),
        )
        await hub.start()
        await supervisor.recover()
        supervisor.start_health_checks()
        log.info("Volundr ready (data in %s)", settings.home)
        try:
            yield
        finally:
            await hub.close()
            await supervisor.close()
            await store.close()

    app = FastAPI(
        title="Volundr",
        version="0.1.0",
        description="Self-hosted control plane for AI coding sessions.",
        lifespan=lifespan,
    )
    app.state.auth_mode = settings.auth.mode
    app.state.sse_retry_ms = settings.sse.retry_ms
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
    app.include_router(me.router, prefix=API_PREFIX)
    return app


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
    )


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
