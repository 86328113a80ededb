"""Follow the presenter: one document and page shown on every following tablet.

Rules:
- The chair or the organizer presents; so does the current speaker, once the
  speakers capability registers its check in ``PRESENTER_CHECKS``.
- Presenting names a document the presenter may read and a page of it; each
  turn is a ``document.present`` event with ``{document_id, page}``.
- The event goes only to those who may read the document: to everyone (the
  projector included) for an open document, and to each allowed person one by
  one for a restricted or confidential one. Nobody else learns of it.
- Ending the presentation sends ``document_id: null`` to the same people.
- A tablet that joins late gets the presentation in its snapshot, if it may
  read the document.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from server.access import Viewer
from server.commands import PARTICIPANTS, command, int_arg
from server.documents import can_read, get_policy
from server.errors import ConflictError, InvalidInputError, NotAllowedError
from server.eventlog import record_event
from server.library import get_readable, reader_audiences
from server.models import Document, DocumentVersion, Meeting, Presentation, utcnow
from server.snapshot import snapshot_section

PRESENTER_ROLES = frozenset({"chair", "organizer"})
PresenterCheck = Callable[[Session, Meeting, Viewer], bool]
# Other capabilities add checks here, e.g. "is the current speaker".
PRESENTER_CHECKS: list[PresenterCheck] = []


def can_present(session: Session, meeting: Meeting, viewer: Viewer) -> bool:
    if viewer.role in PRESENTER_ROLES:
        return True
    return any(check(session, meeting, viewer) for check in PRESENTER_CHECKS)


def ensure_presenter(session: Session, meeting: Meeting, viewer: Viewer) -> None:
    if not can_present(session, meeting, viewer):
        raise NotAllowedError("Only the chair or the current speaker may present a document.")


def page_count(session: Session, document: Document) -> int | None:
    stmt = select(DocumentVersion.pages).where(DocumentVersion.document_id == document.id,
                                               DocumentVersion.sha256 == document.sha256)
    pages = session.exec(stmt).first()
    return pages or None


@command("document.present", PARTICIPANTS, "present a document", keep_receipt=False)
def present(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    ensure_presenter(session, meeting, viewer)
    doc, policy = get_readable(session, viewer, int_arg(args, "document_id"))
    page = int_arg(args, "page")
    pages = page_count(session, doc)
    if page < 1 or (pages is not None and page > pages):
        raise InvalidInputError("Page {page} does not exist in this document.", page=page)

    row = session.get(Presentation, meeting.id) or Presentation(meeting_id=meeting.id)
    row.document_id, row.page = doc.id, page
    row.presenter_id, row.updated_at = viewer.participant_id, utcnow()
    session.add(row)
    payload = {"document_id": doc.id, "page": page, "title": doc.title,
               "presenter": viewer.name}
    for audience in reader_audiences(session, doc, policy):
        record_event(session, meeting.id, "document.present", payload,
                     audience=audience, actor_id=viewer.participant_id)
    return {"document_id": doc.id, "page": page}


@command("document.present_end", PARTICIPANTS, "end the presentation", keep_receipt=False)
def end_presentation(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    ensure_presenter(session, meeting, viewer)
    row = session.get(Presentation, meeting.id)
    if row is None or row.document_id is None:
        raise ConflictError("No document is being presented.")
    doc = session.get(Document, row.document_id)
    audiences = reader_audiences(session, doc, get_policy(session, doc.id))
    row.document_id, row.updated_at = None, utcnow()
    session.add(row)
    for audience in audiences:
        record_event(session, meeting.id, "document.present",
                     {"document_id": None, "page": None}, audience=audience,
                     actor_id=viewer.participant_id)
    return {"document_id": None}


@snapshot_section("presentation")
def presentation_section(session: Session, meeting: Meeting, viewer: Viewer) -> dict | None:
    """What is presented now, for a viewer who may read it."""
    row = session.get(Presentation, meeting.id)
    if row is None or row.document_id is None:
        return None
    doc = session.get(Document, row.document_id)
    if doc is None or not can_read(viewer, doc, get_policy(session, doc.id)):
        return None
    return {"document_id": doc.id, "page": row.page, "title": doc.title}
