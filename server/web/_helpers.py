"""Small pieces shared by the handlers: the viewer of a request, store access, pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from server.access import Viewer, get_login, touch_login
from server.db import Store
from server.errors import MeetingError, NotAllowedError
from server.models import utcnow
from server.i18n import client_catalog, pick_language, translations

# Scripts of the capabilities (voting, speakers, minutes ...) that every meeting
# page loads after views.js, from client_web/static/. Each script draws its own
# panels into [data-slot=panels] on the pages it serves.
FEATURE_SCRIPTS: list[str] = []
FEATURE_SCRIPTS.append("reader.js")  # documents: library, reader, follow mode, notes


def store_of(conn: HTTPConnection) -> Store:
    return conn.app.state.store


TOUCH_AFTER = timedelta(minutes=5)


async def current_viewer(conn: HTTPConnection) -> Viewer:
    """Who sends this request; notes the use of the login every few minutes."""
    token = conn.session.get("token")
    idle = conn.app.state.settings.session_idle_hours
    login, viewer = await store_of(conn).read(get_login, token, idle)
    if utcnow() - (login.last_seen or login.created_at) > TOUCH_AFTER:
        await store_of(conn).write(touch_login, login.id)
    return viewer


async def viewer_in_meeting(conn: HTTPConnection, meeting_id: int) -> Viewer:
    viewer = await current_viewer(conn)
    if viewer.meeting_id != meeting_id:
        raise NotAllowedError("Your access code belongs to another meeting. Log out and log in with the code for this meeting.")
    return viewer


def language_of(request: Request, meeting_language: str) -> str:
    return pick_language(request.query_params.get("lang") or request.cookies.get("lang"),
                         meeting_language)


def render(request: Request, template: str, language: str, **context: Any) -> Response:
    gettext = translations(language).gettext
    context.update({"_": gettext, "lang": language, "feature_scripts": FEATURE_SCRIPTS,
                    "catalog": client_catalog(language)})
    response = request.app.state.templates.TemplateResponse(request, template, context)
    if request.query_params.get("lang") == language:
        response.set_cookie("lang", language, max_age=365 * 86400, samesite="lax")
    return response


def translate_error(exc: MeetingError, language: str) -> str:
    """The error's sentence in the page's language, placeholders filled in."""
    text = translations(language).gettext(exc.template)
    try:
        return text.format(**exc.params) if exc.params else text
    except (KeyError, IndexError, ValueError):
        return exc.message
