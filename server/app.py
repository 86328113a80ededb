"""The application factory: settings, storage, hub, routes, error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from server import agenda, meetings  # noqa: F401  (registers commands)
from server import book, library, presenting, search  # noqa: F401  (documents)
from server.db import Store, migrate
from server.errors import MeetingError
from server.settings import Settings, load_settings
from server.web import api, errors, ops, pages, sockets
from server.web import floor as floor_routes  # also registers the floor's commands
from server.web import organize as organize_routes  # organizer pages, badges
from server.web import bodies as bodies_routes  # bodies and their members
from server.web.limits import CommandLimiter
from server.web.security import AttemptLimiter, SecurityMiddleware
from server.web import library as library_routes
from server.web import minutes as minutes_routes  # also registers the minutes commands

log = logging.getLogger(__name__)
CLIENT_DIR = Path(__file__).resolve().parent.parent / "client_web"
SESSION_COOKIE = "plenary_session"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    routes = [
        *ops.routes,  # /healthz and /metrics, ahead of api's plain health route
        *floor_routes.routes,  # before pages: /m/{id}/checkin
        *organize_routes.routes,  # before pages: /m/{id}/organize, cards.pdf
        *bodies_routes.routes,  # before pages: /m/{id}/organize/bodies
        *pages.routes, *api.routes, *sockets.routes,
        *library_routes.routes,
        *minutes_routes.routes,
        Mount("/static", StaticFiles(directory=CLIENT_DIR / "static"), name="static"),
    ]
    middleware = [Middleware(SecurityMiddleware), Middleware(
        SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
        max_age=settings.session_days * 86400, same_site="lax",
        https_only=settings.secure_cookies)]
    handlers = {MeetingError: errors.meeting_error, HTTPException: errors.http_error,
                Exception: errors.server_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers,
                    lifespan=_lifespan)
    app.state.settings = settings
    app.state.templates = make_templates()
    # wrong access codes: at most 10 per address and per code in 5 minutes
    app.state.login_attempts = AttemptLimiter(limit=10, window=300.0)
    # commands per person over all sockets and HTTP: the rate, bursts of three times it
    app.state.command_limits = CommandLimiter(settings.command_rate, 3 * settings.command_rate)
    return app


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(CLIENT_DIR / "templates"),
                      autoescape=select_autoescape(default=True))
    env.globals.update({"_": lambda text: text, "lang": "en", "catalog": {}})
    return Jinja2Templates(env=env)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate, url)
    store = Store(url)
    app.state.store = store
    stop_realtime = await sockets.start_realtime(app)  # hub, broker, heartbeat
    # documents: text for search is read after the upload is answered
    app.state.text_indexer = search.TextIndexer(store, settings.documents_dir)
    log.info("Plenary serving on %s (database %s, broker %s).", settings.base_url,
             _safe_url(url), app.state.broker.name)
    try:
        stop_progress = floor_routes.start_progress(app)
        yield
    finally:
        stop_progress()
        await app.state.text_indexer.close()
        await stop_realtime()
        await asyncio.to_thread(store.close)


def _safe_url(url: str) -> str:
    """The database address without a password, for the log."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
