"""Meetings: import from an agenda file, start, end, and the view of a meeting.

Rules:
- A meeting is identified by the key in its agenda file; importing the same key
  again updates that meeting.
- Re-importing never loses what the meeting recorded: items and participants that
  left the file are marked removed, not deleted; access codes, the current item,
  the event record and everything attached to them stay.
- An import either applies completely or not at all.
- Only the chair or the organizer starts and ends the meeting.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from server.access import Viewer, new_access_code
from server.commands import CHAIR, command
from server.errors import ConflictError, NotFoundError
from server.eventlog import AUDIENCE_ALL, record_event
from server.models import AgendaItem, Document, Meeting, Participant

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    meeting_id: int
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc)


def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError("Meeting {meeting} does not exist.", meeting=meeting_id)
    return meeting


def find_meeting(session: Session, ref: str) -> Meeting:
    """A meeting by id or by key, as typed on the command line."""
    meeting = None
    if ref.isdigit():
        meeting = session.get(Meeting, int(ref))
    if meeting is None:
        meeting = session.exec(select(Meeting).where(Meeting.key == ref)).first()
    if meeting is None:
        raise NotFoundError("There is no meeting with the id or key {ref}.", ref=ref)
    return meeting


def list_meetings(session: Session) -> list[Meeting]:
    return list(session.exec(select(Meeting).order_by(Meeting.starts_at)))


def meeting_settings(meeting: Meeting) -> dict[str, Any]:
    return json.loads(meeting.settings_json or "{}")


def import_meeting(session: Session, spec: Any, source: Path | None = None,
                   origin: str = "agenda") -> ImportResult:
    """Create or update the meeting described by an agenda file spec.

    ``origin`` names where the spec came from ("agenda" file, "openslides"
    export); a participant it no longer lists loses access only if it came from
    there too: people imported from a participant list or added on a page stay.
    """
    meeting = session.exec(select(Meeting).where(Meeting.key == spec.key)).first()
    created = meeting is None
    if meeting is None:
        meeting = Meeting(key=spec.key, title=spec.title, starts_at=to_utc(spec.start),
                          projector_key=secrets.token_urlsafe(16))
    _apply_meeting_fields(meeting, spec, source)
    session.add(meeting)
    session.flush()

    counts = {"participants": _sync_participants(session, meeting, spec.participants,
                                                  origin)}
    items = _sync_items(session, meeting, spec.items)
    counts["items"] = len(items)
    counts["documents"] = _sync_documents(session, meeting, spec.items, items)
    kind = "meeting.imported" if created else "meeting.changed"
    record_event(session, meeting.id, kind, {"counts": counts}, audience=AUDIENCE_ALL)
    log.info("Meeting %s %s: %s", meeting.key, "imported" if created else "updated", counts)
    return ImportResult(meeting.id, created, counts)


def _apply_meeting_fields(meeting: Meeting, spec: Any, source: Path | None) -> None:
    meeting.title = spec.title
    meeting.body = spec.body
    meeting.description = spec.description
    meeting.place = spec.place
    meeting.language = spec.language
    meeting.timezone = spec.timezone
    meeting.starts_at = to_utc(spec.start)
    meeting.ends_at = to_utc(spec.end)
    meeting.settings_json = json.dumps(spec.settings, ensure_ascii=False, default=str)
    if source is not None:
        meeting.source_path = str(source)


def _sync_participants(session: Session, meeting: Meeting, specs: list,
                       origin: str) -> int:
    stmt = select(Participant).where(Participant.meeting_id == meeting.id)
    existing = {row.key: row for row in session.exec(stmt)}
    for order, spec in enumerate(specs):
        row = existing.pop(spec.key, None)
        if row is None:
            row = Participant(meeting_id=meeting.id, key=spec.key, name=spec.name,
                              role=spec.role, access_code=new_access_code())
        row.name, row.role = spec.name, spec.role
        row.group_name = spec.group or ""
        row.number = spec.number or ""
        row.title = spec.title or ""
        row.email = spec.email or ""
        row.active, row.sort_order, row.origin = True, order, origin
        session.add(row)
    for row in existing.values():  # left the file: keep the record, end access
        if row.origin == origin:  # others came from a list, a page, another source
            row.active = False
            session.add(row)
    return len(specs)


def _sync_items(session: Session, meeting: Meeting, specs: list) -> dict[str, AgendaItem]:
    stmt = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
    existing = {row.key: row for row in session.exec(stmt)}
    placed: dict[str, AgendaItem] = {}
    _place_items(session, meeting, specs, None, "", existing, placed)
    for key, row in existing.items():
        if key not in placed:
            row.removed = True
            session.add(row)
    return placed


def _place_items(session: Session, meeting: Meeting, specs: list, parent: AgendaItem | None,
                 prefix: str, existing: dict, placed: dict) -> None:
    for index, spec in enumerate(specs, start=1):
        row = existing.get(spec.key) or AgendaItem(meeting_id=meeting.id, key=spec.key,
                                                   title=spec.title)
        row.parent_id = parent.id if parent else None
        row.position = len(placed)
        row.number = f"{prefix}{index}"
        row.title, row.description = spec.title, spec.description or ""
        row.duration_min = spec.duration_min
        row.presenter = spec.presenter or ""
        row.internal, row.removed = bool(spec.internal), False
        session.add(row)
        session.flush()
        placed[spec.key] = row
        _place_items(session, meeting, spec.items, row, f"{row.number}.", existing, placed)


def _sync_documents(session: Session, meeting: Meeting, specs: list,
                    items: dict[str, AgendaItem]) -> int:
    stmt = select(Document).where(Document.meeting_id == meeting.id)
    existing = {(row.item_id, row.sha256): row for row in session.exec(stmt)}
    kept: set[int] = set()
    for position, (item_key, doc) in enumerate(_walk_documents(specs)):
        item_id = items[item_key].id
        row = existing.get((item_id, doc.sha256)) or Document(
            meeting_id=meeting.id, item_id=item_id, title=doc.title, sha256=doc.sha256)
        row.title, row.filename, row.size = doc.title, Path(doc.path).name, doc.size
        row.confidential = bool(getattr(doc, "confidential", False))
        row.position, row.removed = position, False
        session.add(row)
        session.flush()
        kept.add(row.id)
    for row in existing.values():
        if row.id not in kept:
            row.removed = True
            session.add(row)
    return len(kept)


def _walk_documents(specs: list):
    for spec in specs:
        for doc in spec.documents:
            yield spec.key, doc
        yield from _walk_documents(spec.items)


def meeting_view(meeting: Meeting) -> dict:
    return {"id": meeting.id, "key": meeting.key, "title": meeting.title,
            "body": meeting.body, "description": meeting.description,
            "place": meeting.place, "language": meeting.language,
            "timezone": meeting.timezone, "state": meeting.state,
            "starts_at": _iso_utc(meeting.starts_at), "ends_at": _iso_utc(meeting.ends_at),
            "current_item_id": meeting.current_item_id}


def _iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


@command("meeting.start", CHAIR, "start the meeting")
def start_meeting(session: Session, meeting: Meeting, viewer: Viewer, args: dict | None = None) -> dict:
    if meeting.state == "running":
        raise ConflictError("The meeting is already running.")
    if meeting.state == "ended":
        raise ConflictError("The meeting has ended and cannot be started again.")
    meeting.state = "running"
    session.add(meeting)
    record_event(session, meeting.id, "meeting.state", {"state": "running"},
                 actor_id=viewer.participant_id)
    log.info("Meeting %s started.", meeting.key)
    return {"state": meeting.state}


@command("meeting.end", CHAIR, "end the meeting")
def end_meeting(session: Session, meeting: Meeting, viewer: Viewer, args: dict | None = None) -> dict:
    if meeting.state != "running":
        raise ConflictError("Only a running meeting can be ended.")
    meeting.state = "ended"
    meeting.current_item_id = None
    session.add(meeting)
    record_event(session, meeting.id, "meeting.state", {"state": "ended"},
                 actor_id=viewer.participant_id)
    log.info("Meeting %s ended.", meeting.key)
    return {"state": meeting.state}
