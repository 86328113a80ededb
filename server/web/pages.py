"""HTML pages: login, the tablet, chair, secretary, organizer and projector views."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import (
    check_projector_key, log_in, log_out, log_out_everywhere, normalize_code,
)
from server.errors import NotLoggedInError, RateLimitedError
from server.meetings import get_meeting, meeting_view
from server.web._helpers import (
    current_viewer, language_of, render, store_of, translate_error, viewer_in_meeting,
)

ROLE_PAGES = {"chair": "chair", "organizer": "organizer", "secretary": "secretary"}
PAGES = ("delegate", "chair", "secretary", "organizer")


async def home(request: Request) -> Response:
    try:
        viewer = await current_viewer(request)
    except NotLoggedInError:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(page_for(viewer.meeting_id, viewer.role), status_code=303)


def page_for(meeting_id: int, role: str) -> str:
    suffix = ROLE_PAGES.get(role)
    return f"/m/{meeting_id}/{suffix}" if suffix else f"/m/{meeting_id}"


async def login_form(request: Request) -> Response:
    code = request.query_params.get("code")
    if code:  # the QR code on an access card links here with the code
        return await _log_in(request, code)
    language = language_of(request, "vi")
    return render(request, "login.html", language, error=None)


async def login_submit(request: Request) -> Response:
    form = await request.form()
    return await _log_in(request, str(form.get("code", ""))[:64])


async def _log_in(request: Request, code: str) -> Response:
    keys = (f"addr:{request.client.host if request.client else '-'}",
            f"code:{normalize_code(code)}")
    language = language_of(request, "vi")
    try:
        request.app.state.login_attempts.ensure_allowed(*keys)
        token, participant = await store_of(request).write(log_in, code)
    except NotLoggedInError as exc:
        request.app.state.login_attempts.fail(*keys)
        return render(request, "login.html", language, error=translate_error(exc, language))
    except RateLimitedError as exc:
        response = render(request, "login.html", language,
                          error=translate_error(exc, language))
        response.status_code = 429
        return response
    request.session.clear()
    request.session["token"] = token
    target = page_for(participant.meeting_id, participant.role)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """Log out this device; with ``everywhere=1``, every device of this person."""
    token = request.session.get("token")
    if token:
        everywhere = request.query_params.get("everywhere") == "1"
        if everywhere:
            viewer = await current_viewer(request)
            await store_of(request).write(log_out_everywhere, viewer.participant_id)
        else:
            await store_of(request).write(log_out, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def meeting_page(request: Request) -> Response:
    page = request.path_params.get("page", "delegate")
    meeting_id = request.path_params["meeting_id"]
    if page not in PAGES:
        raise HTTPException(404)
    viewer = await viewer_in_meeting(request, meeting_id)
    if page != "delegate" and ROLE_PAGES.get(viewer.role) != page and viewer.role != "organizer":
        return RedirectResponse(page_for(meeting_id, viewer.role), status_code=303)
    meeting = await store_of(request).read(get_meeting, meeting_id)
    language = language_of(request, meeting.language)
    return render(request, f"{page}.html", language, meeting=meeting_view(meeting),
                  viewer=viewer.as_dict(), ws_query="")


async def projector_page(request: Request) -> Response:
    meeting_id = request.path_params["meeting_id"]
    key = request.query_params.get("key", "")
    viewer = await store_of(request).read(check_projector_key, meeting_id, key)
    meeting = await store_of(request).read(get_meeting, meeting_id)
    language = language_of(request, meeting.language)
    return render(request, "projector.html", language, meeting=meeting_view(meeting),
                  viewer=viewer.as_dict(), ws_query=f"?projector={meeting_id}&key={key}")


routes = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/m/{meeting_id:int}", meeting_page),
    Route("/m/{meeting_id:int}/projector", projector_page),
    Route("/m/{meeting_id:int}/{page:str}", meeting_page),
]
