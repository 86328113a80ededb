"""The offline meeting book: documents a tablet keeps to read without the network.

Rules:
- A participant's book holds the documents that participant may read, except
  confidential ones: those are handed out stamped, one reading at a time, and
  never kept offline.
- A tablet that took the book tells the server; the organizer sees who has it,
  on which device, with how many documents.
- The organizer can withdraw the book from one participant or from everyone.
  A tablet learns it at its next connection (or at once, when connected),
  deletes what it holds and reports it; a withdrawn tablet cannot take the book
  again.
- The organizer can end a participant's login sessions on every device: their
  tablets are logged out and, with no session, delete their book too.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from server.access import Viewer
from server.commands import command
from server.documents import readable_documents
from server.errors import (
    ConflictError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from server.eventlog import AUDIENCE_STAFF, person_audience, record_event
from server.library import ORGANIZER, ensure_organizer
from server.models import BookCopy, LoginSession, Meeting, Participant, utcnow

DEVICE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def ensure_device(device: Any) -> str:
    if not isinstance(device, str) or not DEVICE.match(device):
        raise InvalidInputError("The tablet's device id must be 8 to 64 letters, digits, - or _.")
    return device


def ensure_participant(viewer: Viewer) -> int:
    if viewer.participant_id is None:
        raise NotAllowedError("The projector does not keep the meeting book.")
    return viewer.participant_id


def _copy(session: Session, participant_id: int, device: str) -> BookCopy | None:
    stmt = select(BookCopy).where(BookCopy.participant_id == participant_id,
                                  BookCopy.device == device)
    return session.exec(stmt).first()


def book_manifest(session: Session, viewer: Viewer, device: str) -> dict:
    """What this tablet should hold offline, or that it must delete its copy."""
    owner = ensure_participant(viewer)
    copy = _copy(session, owner, ensure_device(device))
    if copy is not None and copy.revoked_at is not None:
        return {"revoked": True, "documents": []}
    docs = [{"id": doc.id, "title": doc.title, "url": f"/documents/{doc.id}?v={doc.sha256[:16]}",
             "size": doc.size}
            for doc, _policy in readable_documents(session, viewer.meeting_id, viewer)
            if not doc.confidential]
    return {"revoked": False, "documents": docs,
            "size": sum(doc["size"] for doc in docs)}


def record_taken(session: Session, viewer: Viewer, device: str, documents: int,
                 size: int) -> dict:
    owner = ensure_participant(viewer)
    copy = _copy(session, owner, ensure_device(device))
    if copy is not None and copy.revoked_at is not None:
        raise ConflictError("The organizer has withdrawn the meeting book from this tablet.")
    copy = copy or BookCopy(meeting_id=viewer.meeting_id, participant_id=owner, device=device)
    copy.documents, copy.size = max(0, int(documents)), max(0, int(size))
    copy.taken_at, copy.deleted_at = utcnow(), None
    session.add(copy)
    record_event(session, viewer.meeting_id, "book.changed", {"participant_id": owner},
                 audience=AUDIENCE_STAFF, actor_id=owner)
    return copy_view(copy)


def record_deleted(session: Session, viewer: Viewer, device: str) -> dict:
    owner = ensure_participant(viewer)
    copy = _copy(session, owner, ensure_device(device))
    if copy is None:
        return {"device": device, "deleted": True}
    copy.deleted_at = utcnow()
    session.add(copy)
    record_event(session, viewer.meeting_id, "book.changed", {"participant_id": owner},
                 audience=AUDIENCE_STAFF, actor_id=owner)
    return copy_view(copy)


def copy_view(copy: BookCopy) -> dict:
    state = "taken"
    if copy.revoked_at is not None:
        state = "deleted" if copy.deleted_at else "withdrawn"
    elif copy.deleted_at is not None:
        state = "deleted"
    return {"participant_id": copy.participant_id, "device": copy.device,
            "documents": copy.documents, "size": copy.size, "state": state,
            "taken_at": copy.taken_at.isoformat(),
            "deleted_at": copy.deleted_at.isoformat() if copy.deleted_at else None}


def list_copies(session: Session, viewer: Viewer) -> list[dict]:
    """Who holds the book, per device (organizer only)."""
    ensure_organizer(viewer)
    stmt = (select(BookCopy, Participant).join(Participant)
            .where(BookCopy.meeting_id == viewer.meeting_id)
            .order_by(col(Participant.sort_order), col(BookCopy.id)))
    return [{**copy_view(copy), "name": person.name} for copy, person in session.exec(stmt)]


@command("book.revoke", ORGANIZER, "withdraw the meeting book")
def revoke_book(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    """Withdraw the book from one participant (``participant_id``) or from all."""
    who = args.get("participant_id")
    stmt = select(BookCopy).where(BookCopy.meeting_id == meeting.id,
                                  BookCopy.revoked_at == None)  # noqa: E711
    if who is not None:
        stmt = stmt.where(BookCopy.participant_id == who)
    copies = list(session.exec(stmt))
    for copy in copies:
        copy.revoked_at = utcnow()
        session.add(copy)
    for owner in sorted({copy.participant_id for copy in copies}):
        record_event(session, meeting.id, "book.revoked", {"participant_id": owner},
                     audience=person_audience(owner), actor_id=viewer.participant_id)
    record_event(session, meeting.id, "book.changed", {"participant_id": who},
                 audience=AUDIENCE_STAFF, actor_id=viewer.participant_id)
    return {"withdrawn": len(copies)}


def end_sessions(session: Session, viewer: Viewer, participant_id: int) -> dict:
    """Log a participant out on every device (organizer only)."""
    ensure_organizer(viewer)
    person = session.get(Participant, participant_id)
    if person is None or person.meeting_id != viewer.meeting_id:
        raise NotFoundError("This participant does not take part in the meeting.")
    stmt = select(LoginSession).where(LoginSession.participant_id == participant_id,
                                      LoginSession.revoked == False)  # noqa: E712
    ended = 0
    for row in session.exec(stmt):
        row.revoked = True
        session.add(row)
        ended += 1
    return {"participant_id": participant_id, "ended": ended}
