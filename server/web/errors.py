"""One place that turns errors into what the user sees: a page or the JSON shape."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from server.errors import MeetingError, NotLoggedInError
from server.i18n import DEFAULT_LANGUAGE, translations
from server.web._helpers import language_of, translate_error

log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    return (request.url.path.startswith("/api/")
            or "application/json" in request.headers.get("accept", ""))


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The single JSON error shape of the API."""
    return {"error": {"code": code, "message": message}}


async def meeting_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MeetingError)
    if wants_json(request):
        # template and params let the page translate a sentence that holds values
        return JSONResponse({"error": exc.as_dict()}, status_code=exc.status)
    if isinstance(exc, NotLoggedInError):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render_error(request, exc.status,
                        translate_error(exc, language_of(request, DEFAULT_LANGUAGE)))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    if wants_json(request):
        return JSONResponse(error_body("http_%d" % exc.status_code, message),
                            status_code=exc.status_code)
    return render_error(request, exc.status_code, message)


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("Unhandled error on %s", request.url.path, exc_info=exc)
    message = "Something went wrong on the server. Nothing you stored was lost; please try again."
    if wants_json(request):
        return JSONResponse(error_body("server_error", message), status_code=500)
    return render_error(request, 500, message)


def render_error(request: Request, status: int, message: str) -> Response:
    """The error page in the chosen language (a sentence already translated stays as it is)."""
    language = language_of(request, DEFAULT_LANGUAGE)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html",
                                      {"status": status, "message": message, "lang": language,
                                       "_": translations(language).gettext},
                                      status_code=status)


_HTTP_MESSAGES = {
    404: "This page does not exist. Check the address, or start again from the login page.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large.",
}
