"""HTTP for bodies and their members: the page /m/{id}/organize/bodies and its API.

Each handler checks the viewer's staff rights in its meeting with
``staff.ensure_may`` (see the table in ``server/staff.py``), then makes one call
into ``server.bodies``, which writes every change to the audit.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import bodies, staff
from server.access import Viewer
from server.errors import InvalidInputError
from server.meetings import get_meeting, meeting_view
from server.models.organization import BODY_KINDS
from server.organization import meeting_record
from server.web._helpers import (
    FEATURE_SCRIPTS,
    language_of,
    render,
    store_of,
)
from server.web.api import _json_body
from server.web.organize import allowed_viewer

KIND_LABELS = {
    "standing_committee": "Standing committee",
    "executive_committee": "Executive committee",
    "congress": "Congress",
    "delegation": "Delegation",
    "group": "Working group",
    "committee": "Committee",
}
assert set(KIND_LABELS) == set(BODY_KINDS), "every kind of body needs a label"

if "bodies.js" not in FEATURE_SCRIPTS:
    FEATURE_SCRIPTS.append("bodies.js")


async def bodies_page(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    meeting = await store_of(request).read(get_meeting, viewer.meeting_id)
    return render(
        request,
        "organize_bodies.html",
        language_of(request, meeting.language),
        meeting=meeting_view(meeting),
        viewer=viewer.as_dict(),
        ws_query="",
        kinds=KIND_LABELS,
    )


async def list_bodies(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    return JSONResponse(await store_of(request).read(_overview, viewer))


def _overview(session: Session, viewer: Viewer) -> dict[str, Any]:
    actions = ("bodies.manage", "bodies.members", "meeting.body")
    return {
        "bodies": [bodies.body_summary(b) for b in bodies.list_current_bodies(session)],
        "meeting_body_id": meeting_record(session, viewer.meeting_id).body_id,
        "allowed": {action: staff.can(session, viewer, action) for action in actions},
    }


async def show_body(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    found = await store_of(request).read(_show, viewer, _body_id(request))
    return JSONResponse(found)


def _show(session: Session, viewer: Viewer, body_id: int) -> dict[str, Any]:
    _reach(session, viewer, body_id, "see the members")
    return bodies.describe_body(session, body_id)


def _reach(session: Session, viewer: Viewer, body_id: int, action: str) -> None:
    bodies.ensure_in_reach(session, viewer.meeting_id, viewer.participant_id, body_id, action)


async def create(request: Request) -> Response:
    viewer = await allowed_viewer(request, "bodies.manage")
    data = await _json_body(request)
    body = await store_of(request).write(_create, viewer, data, _optional_id(data.get("parent_id")))
    return JSONResponse(bodies.body_summary(body))


def _create(session: Session, viewer: Viewer, data: dict[str, Any], parent_id: int | None) -> Any:
    if parent_id is not None:
        _reach(session, viewer, parent_id, "add a delegation or group")
    return bodies.add_body(session, str(data.get("key") or ""), str(data.get("name") or ""),
                           str(data.get("kind") or ""), staff.actor_of(viewer), parent_id)


async def remove(request: Request) -> Response:
    viewer = await allowed_viewer(request, "bodies.manage")
    await store_of(request).write(_guarded(bodies.remove_body, "remove a body"),
                                  viewer, _body_id(request), staff.actor_of(viewer))
    return JSONResponse({"removed": True})


def _guarded(change: Any, action: str) -> Any:
    """``change(session, body_id, ...)`` run only when the body is in the viewer's reach."""
    def run(session: Session, viewer: Viewer, body_id: int, *args: Any) -> Any:
        _reach(session, viewer, body_id, action)
        return change(session, body_id, *args)
    return run


async def add_member(request: Request) -> Response:
    viewer = await allowed_viewer(request, "bodies.members")
    data = await _json_body(request)
    member = await store_of(request).write(
        _guarded(bodies.add_body_member, "change the members"),
        viewer, _body_id(request), data, staff.actor_of(viewer),
    )
    return JSONResponse({"person_id": member.person_id, "role": member.title})


async def remove_member(request: Request) -> Response:
    viewer = await allowed_viewer(request, "bodies.members")
    await store_of(request).write(
        _guarded(bodies.remove_body_member, "change the members"),
        viewer,
        _body_id(request),
        request.path_params["person_id"],
        staff.actor_of(viewer),
    )
    return JSONResponse({"removed": True})


async def assign(request: Request) -> Response:
    viewer = await allowed_viewer(request, "meeting.body")
    body = await store_of(request).write(_assign, viewer, _body_id(request))
    return JSONResponse({"body_id": body.id})


def _assign(session: Session, viewer: Viewer, body_id: int) -> Any:
    _reach(session, viewer, body_id, "assign this meeting")
    return bodies.assign_meeting(session, viewer.meeting_id, body_id, staff.actor_of(viewer))


def _body_id(request: Request) -> int:
    return request.path_params["body_id"]


def _optional_id(value: object) -> int | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise InvalidInputError("A body is chosen by its number.")


API = "/api/meetings/{meeting_id:int}/bodies"
routes = [
    Route("/m/{meeting_id:int}/organize/bodies", bodies_page),
    Route(API, list_bodies),
    Route(API, create, methods=["POST"]),
    Route(API + "/{body_id:int}", show_body),
    Route(API + "/{body_id:int}/remove", remove, methods=["POST"]),
    Route(API + "/{body_id:int}/members", add_member, methods=["POST"]),
    Route(
        API + "/{body_id:int}/members/{person_id:int}/remove",
        remove_member,
        methods=["POST"],
    ),
    Route(API + "/{body_id:int}/assign", assign, methods=["POST"]),
]
