"""HTTP for organizers: participant import, badges and cards, copy, archive, staff.

Every handler checks who asks with ``staff.ensure_may`` before it does anything;
the domain work is one call into ``server.organization``, ``server.badges``,
``server.staff`` or ``server.imports``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import badges, staff
from server.access import Viewer
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.imports import openslides
from server.imports.participants import (
    commit_participants,
    keep_preview,
    read_participant_file,
)
from server.imports.tables import MAX_BYTES
from server.meetings import get_meeting, meeting_view
from server.models import Participant
from server.organization import (
    archive_meeting,
    copy_meeting,
    is_archived,
    link_participant,
    meeting_record,
    parse_local_start,
    register_person,
    search_people,
    seats_of,
)
from server.participants import list_participants
from server.web._helpers import (
    FEATURE_SCRIPTS,
    language_of,
    render,
    store_of,
    viewer_in_meeting,
)
from server.web.api import _json_body

if "organize.js" not in FEATURE_SCRIPTS:
    FEATURE_SCRIPTS.append("organize.js")


async def allowed_viewer(request: Request, action: str) -> Viewer:
    """The viewer of the request, once it is sure they may do ``action`` here."""
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    await store_of(request).read(staff.ensure_may, viewer, action)
    return viewer


async def organize_page(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    meeting = await store_of(request).read(get_meeting, viewer.meeting_id)
    language = language_of(request, meeting.language)
    return render(
        request,
        "organize.html",
        language,
        meeting=meeting_view(meeting),
        viewer=viewer.as_dict(),
        ws_query="",
        layouts=badges.LAYOUTS,
        card_address=badges.login_address(request.app.state.settings.base_url),
        card_address_is_local=_is_loopback(request.app.state.settings.base_url),
    )


def _is_loopback(url: str) -> bool:
    """True when tablets in the room could not open this address (this machine only)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


async def organize_state(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    data = await store_of(request).read(_state, viewer)
    return JSONResponse(data)


def _state(session: Session, viewer: Viewer) -> dict[str, Any]:
    meeting = get_meeting(session, viewer.meeting_id)
    zone = ZoneInfo(meeting.timezone)
    seats = seats_of(session, meeting.id)
    people = [
        {
            "id": p.id,
            "name": p.name,
            "role": p.role,
            "group": p.group_name,
            "seat": seats.get(p.id, ""),
            "number": p.number,
        }
        for p in list_participants(session, meeting.id)
    ]
    changes = [
        {
            "at": _local(c.created_at, zone),
            "actor": c.actor,
            "action": c.action,
            "summary": c.summary,
            **_summary_template(c.details_json),
        }
        for c in staff.list_changes(session, meeting.id)
    ]
    allowed = {action: staff.can(session, viewer, action) for action in staff.ALLOWED}
    return {
        "meeting": meeting_view(meeting),
        "starts_local": _local(meeting.starts_at, zone),
        "archived": is_archived(session, meeting.id),
        "body_id": meeting_record(session, meeting.id).body_id,
        "participants": people,
        "changes": changes,
        "allowed": allowed,
        "layouts": {name: layout.label for name, layout in badges.LAYOUTS.items()},
    }


def _summary_template(details_json: str) -> dict[str, Any]:
    """The sentence of an audit entry as template and values, for the page to translate."""
    try:
        kept = json.loads(details_json).get("summary") or {}
    except (ValueError, AttributeError):
        return {}
    if not isinstance(kept, dict) or not isinstance(kept.get("template"), str):
        return {}
    return {"template": kept["template"], "values": kept.get("values") or {}}


def _local(moment: datetime, zone: ZoneInfo) -> str:
    """A time as the meeting's clock shows it, with the zone's offset."""
    return moment.astimezone(zone).isoformat(timespec="minutes")


# -- participant import -------------------------------------------------------


async def _uploaded(request: Request) -> tuple[bytes, str]:
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInputError("Choose a file to upload.")
    data = await upload.read(MAX_BYTES + 1)
    await form.close()
    return data, upload.filename or "upload"


async def preview_import(request: Request) -> Response:
    viewer = await allowed_viewer(request, "participants.import")
    data, filename = await _uploaded(request)
    # Read outside the single writer: a big file must not hold up every meeting.
    preview = await asyncio.to_thread(read_participant_file, data, filename)
    result = await store_of(request).write(_keep_preview, viewer, preview)
    return JSONResponse(result)


def _keep_preview(
    session: Session, viewer: Viewer, preview: dict[str, Any]
) -> dict[str, Any]:
    may = staff.can(session, viewer, "participants.staff_roles")
    return keep_preview(
        session, viewer.meeting_id, preview, staff.actor_of(viewer), may
    )


async def commit_import(request: Request) -> Response:
    viewer = await allowed_viewer(request, "participants.import")
    counts = await store_of(request).write(
        _commit_import, viewer, request.path_params["import_id"]
    )
    return JSONResponse({"counts": counts})


def _commit_import(session: Session, viewer: Viewer, import_id: int) -> dict[str, int]:
    may = staff.can(session, viewer, "participants.staff_roles")
    return commit_participants(
        session, viewer.meeting_id, import_id, staff.actor_of(viewer), may
    )


# -- badges and cards -----------------------------------------------------------


async def cards_pdf(request: Request) -> Response:
    return await _badges(request, default_layout="a4-2x5", show_code=True, name="cards")


async def badges_pdf(request: Request) -> Response:
    show = request.query_params.get("code", "0") == "1"
    return await _badges(
        request, default_layout="a4-2x4", show_code=show, name="badges"
    )


async def _badges(
    request: Request, default_layout: str, show_code: bool, name: str
) -> Response:
    viewer = await allowed_viewer(request, "badges.print")
    layout = request.query_params.get("layout", default_layout)
    ids = _participant_ids(request)
    base = request.app.state.settings.base_url
    sheet = await store_of(request).read(
        _badge_sheet, viewer, base, layout, ids, show_code
    )
    pdf = await asyncio.to_thread(badges.render_pdf, sheet)
    headers = {
        "Content-Disposition": f'inline; filename="meeting-{viewer.meeting_id}-{name}.pdf"',
        "Cache-Control": "no-store",
    }
    if sheet.shortened:
        headers["X-Plenary-Shortened"] = ",".join(str(i) for i in sheet.shortened)
    if sheet.left_out:
        headers["X-Plenary-Left-Out"] = ",".join(str(i) for i in sheet.left_out)
    return Response(pdf, media_type="application/pdf", headers=headers)


def _badge_sheet(
    session: Session,
    viewer: Viewer,
    base: str,
    layout: str,
    ids: list[int] | None,
    show_code: bool,
) -> badges.BadgeSheet:
    staff_cards = staff.can(session, viewer, "cards.staff")
    return badges.badge_sheet(
        session,
        viewer.meeting_id,
        base,
        layout,
        ids,
        show_code,
        staff_cards=staff_cards,
    )


def _participant_ids(request: Request) -> list[int] | None:
    raw = request.query_params.getlist("participant")
    if not raw:
        return None
    if not all(value.isdigit() for value in raw):
        raise InvalidInputError(
            "Participants are chosen by their number, as participant=12."
        )
    return [int(value) for value in raw]


async def reissue(request: Request) -> Response:
    viewer = await allowed_viewer(request, "cards.reissue")
    person = await store_of(request).write(
        _reissue, viewer, request.path_params["participant_id"]
    )
    card = f"/m/{viewer.meeting_id}/cards.pdf?participant={person.id}"
    return JSONResponse({"participant_id": person.id, "card_url": card})


def _reissue(session: Session, viewer: Viewer, participant_id: int) -> Participant:
    staff_cards = staff.can(session, viewer, "cards.staff")
    badges.ensure_may_reissue(session, viewer.meeting_id, participant_id, staff_cards)
    return badges.reissue_card(
        session, viewer.meeting_id, participant_id, staff.actor_of(viewer)
    )


# -- copy, archive, staff, OpenSlides ----------------------------------------------


async def copy(request: Request) -> Response:
    viewer = await allowed_viewer(request, "meeting.copy")
    body = await _json_body(request)
    result = await store_of(request).write(_copy, viewer, body)
    return JSONResponse(result)


def _copy(session: Session, viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    source = get_meeting(session, viewer.meeting_id)
    start = parse_local_start(body.get("starts_at"), source.timezone)
    copy = copy_meeting(
        session,
        source.id,
        staff.actor_of(viewer),
        key=body.get("key") or None,
        title=body.get("title") or None,
        starts_at=start,
    )
    you = session.exec(
        select(Participant).where(
            Participant.meeting_id == copy.id,
            Participant.key == _key_of(session, viewer.participant_id),
        )
    ).first()
    return {
        "meeting_id": copy.id,
        "key": copy.key,
        "login_url": f"/login?code={you.access_code}" if you else None,
    }


def _key_of(session: Session, participant_id: int | None) -> str:
    person = session.get(Participant, participant_id) if participant_id else None
    return person.key if person else ""


async def archive(request: Request) -> Response:
    viewer = await allowed_viewer(request, "meeting.archive")
    await store_of(request).write(
        archive_meeting, viewer.meeting_id, staff.actor_of(viewer)
    )
    return JSONResponse({"archived": True})


async def grant(request: Request) -> Response:
    viewer = await allowed_viewer(request, "staff.assign")
    body = await _json_body(request)
    result = await store_of(request).write(_grant, viewer, body)
    return JSONResponse(result)


def _grant(session: Session, viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    body_id = meeting_record(session, viewer.meeting_id).body_id
    if body_id is None:
        raise ConflictError(
            "This meeting belongs to no body yet, so it has no staff roles to give."
        )
    person = session.get(Participant, body.get("participant_id") or 0)
    if person is None or person.meeting_id != viewer.meeting_id:
        raise NotFoundError("This participant is not in this meeting.")
    registered = register_person(session, person.name, person.email)
    link_participant(session, person.id, registered.id)
    role = staff.grant_role(
        session,
        body_id,
        registered.id,
        str(body.get("role", "")),
        staff.actor_of(viewer),
    )
    return {"person_id": registered.id, "role": role.role}


async def people(request: Request) -> Response:
    await allowed_viewer(request, "organize.view")
    query = request.query_params.get("q", "")[:100]
    found = await store_of(request).read(search_people, query)
    return JSONResponse(
        {"people": [{"id": p.id, "name": p.name, "email": p.email} for p in found]}
    )


async def import_openslides(request: Request) -> Response:
    viewer = await allowed_viewer(request, "openslides.import")
    data, filename = await _uploaded(request)
    # Parse and check outside the single writer: a big export must not hold up
    # the ballots of other meetings.
    read = await asyncio.to_thread(openslides.read_upload, data)
    result = await store_of(request).write(
        openslides.store_upload,
        viewer.meeting_id,
        read,
        filename,
        staff.actor_of(viewer),
    )
    return JSONResponse(result)


async def poll_history(request: Request) -> Response:
    viewer = await allowed_viewer(request, "organize.view")
    polls = await store_of(request).read(
        openslides.list_poll_history, viewer.meeting_id
    )
    return JSONResponse({"polls": polls})


routes = [
    Route("/m/{meeting_id:int}/organize", organize_page),
    Route("/m/{meeting_id:int}/cards.pdf", cards_pdf),
    Route("/m/{meeting_id:int}/badges.pdf", badges_pdf),
    Route("/api/meetings/{meeting_id:int}/organize", organize_state),
    Route("/api/meetings/{meeting_id:int}/organize/people", people),
    Route(
        "/api/meetings/{meeting_id:int}/organize/participants/preview",
        preview_import,
        methods=["POST"],
    ),
    Route(
        "/api/meetings/{meeting_id:int}/organize/participants/{import_id:int}/commit",
        commit_import,
        methods=["POST"],
    ),
    Route(
        "/api/meetings/{meeting_id:int}/organize/participants/{participant_id:int}/reissue",
        reissue,
        methods=["POST"],
    ),
    Route("/api/meetings/{meeting_id:int}/organize/copy", copy, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/organize/archive", archive, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/organize/staff", grant, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/organize/poll-history", poll_history),
    Route(
        "/api/meetings/{meeting_id:int}/organize/openslides",
        import_openslides,
        methods=["POST"],
    ),
]
