"""The whole state of a meeting as one viewer may see it.

A tablet loads a snapshot when it first connects and whenever it is too far
behind to catch up from events. Each capability adds its own section with
:func:`snapshot_section`; a section must show the viewer only what the viewer
may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from server.access import Viewer
from server.agenda import item_view, visible_items
from server.documents import list_documents
from server.meetings import get_meeting, meeting_view
from server.models import Meeting
from server.participants import list_participants, participant_view

Section = Callable[[Session, Meeting, Viewer], Any]
_SECTIONS: dict[str, Section] = {}


def snapshot_section(name: str) -> Callable[[Section], Section]:
    def register(fn: Section) -> Section:
        _SECTIONS[name] = fn
        return fn
    return register


def build_snapshot(session: Session, meeting_id: int, viewer: Viewer) -> dict[str, Any]:
    meeting = get_meeting(session, meeting_id)
    data: dict[str, Any] = {"seq": meeting.last_seq, "viewer": viewer.as_dict()}
    for name, section in _SECTIONS.items():
        data[name] = section(session, meeting, viewer)
    return data


@snapshot_section("meeting")
def _meeting(session: Session, meeting: Meeting, viewer: Viewer) -> dict:
    view = meeting_view(meeting)
    if not viewer.is_staff and meeting.current_item_id is not None:
        visible = {item.id for item in visible_items(session, meeting.id, viewer)}
        if meeting.current_item_id not in visible:
            view["current_item_id"] = None
    return view


@snapshot_section("agenda")
def _agenda(session: Session, meeting: Meeting, viewer: Viewer) -> list[dict]:
    return [item_view(item) for item in visible_items(session, meeting.id, viewer)]


@snapshot_section("documents")
def _documents(session: Session, meeting: Meeting, viewer: Viewer) -> list[dict]:
    return list_documents(session, meeting.id, viewer)


@snapshot_section("participants")
def _participants(session: Session, meeting: Meeting, viewer: Viewer) -> list[dict]:
    """Staff see who takes part; the organizer also sees the access codes."""
    if not viewer.is_staff:
        return []
    found = []
    for person in list_participants(session, meeting.id):
        view = participant_view(person)
        if viewer.role == "organizer":
            view["access_code"] = person.access_code
        found.append(view)
    return found


@snapshot_section("projector_key")
def _projector_key(session: Session, meeting: Meeting, viewer: Viewer) -> str | None:
    return meeting.projector_key if viewer.role == "organizer" else None
