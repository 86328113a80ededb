"""Load an agenda file into the store, and write a meeting back to one.

The file is read and checked completely before anything is stored; documents are
copied into the content-addressed store first (harmless if the import then
fails), and the meeting is written in one transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from server.agendafile import (
    DocumentSpec, ItemSpec, MeetingSpec, ParticipantSpec, read_agenda, write_agenda,
)
from server.db import Store
from server.documents import blob_path, store_file
from server.imports._bulk import register_people
from server.meetings import ImportResult, find_meeting, import_meeting, meeting_settings
from server.models import AgendaItem, Document, Meeting, Participant, ParticipantProfile
from server.organization import link_participant


def import_agenda_file(store: Store, documents_dir: Path, path: Path) -> ImportResult:
    spec = read_agenda(path)
    for doc in _all_documents(spec.items):
        store_file(documents_dir, doc.path, doc.sha256)
    return store.write_sync(import_agenda, spec, path.resolve())


def import_agenda(session: Session, spec: MeetingSpec, source: Path) -> ImportResult:
    """Store the meeting of a read agenda file, its participants in the registry."""
    result = import_meeting(session, spec, source, origin="agenda")
    register_participants(session, result.meeting_id, spec.participants)
    return result


def register_participants(session: Session, meeting_id: int,
                          specs: list[ParticipantSpec]) -> int:
    """Link every listed participant without a person to one in the registry
    (found again by email, then exact name, as a participant list finds them);
    a participant already linked keeps their person. The number newly linked."""
    stmt = (select(Participant.id, Participant.key, ParticipantProfile.person_id)
            .outerjoin(ParticipantProfile,
                       ParticipantProfile.participant_id == Participant.id)
            .where(Participant.meeting_id == meeting_id))
    ids = {key: ident for ident, key, person in session.exec(stmt) if person is None}
    unlinked = [spec for spec in specs if spec.key in ids]
    rows = [{"name": spec.name, "email": spec.email or "", "ref": ""} for spec in unlinked]
    for spec, person in zip(unlinked, register_people(session, rows), strict=True):
        link_participant(session, ids[spec.key], person["id"])
    return len(unlinked)


def _all_documents(items: list[ItemSpec]) -> list[DocumentSpec]:
    found: list[DocumentSpec] = []
    for item in items:
        found.extend(item.documents)
        found.extend(_all_documents(item.items))
    return found


def export_meeting(store: Store, documents_dir: Path, ref: str, target: Path) -> MeetingSpec:
    spec = store.read_sync(build_spec, ref, documents_dir)
    write_agenda(spec, target)
    return spec


def build_spec(session: Session, ref: str, documents_dir: Path) -> MeetingSpec:
    """The agenda file spec of a stored meeting (what import would recreate)."""
    meeting = find_meeting(session, ref)
    return MeetingSpec(
        key=meeting.key, title=meeting.title, body=meeting.body,
        start=_local(meeting.starts_at, meeting.timezone),
        end=_local(meeting.ends_at, meeting.timezone) if meeting.ends_at else None,
        timezone=meeting.timezone, place=meeting.place, language=meeting.language,
        description=meeting.description, settings=meeting_settings(meeting),
        participants=_participant_specs(session, meeting),
        items=_item_specs(session, meeting, documents_dir))


def _local(value, zone: str):
    from zoneinfo import ZoneInfo
    return value.astimezone(ZoneInfo(zone))


def _participant_specs(session: Session, meeting: Meeting) -> list[ParticipantSpec]:
    stmt = (select(Participant).where(Participant.meeting_id == meeting.id,
                                      Participant.active == True)  # noqa: E712
            .order_by(col(Participant.sort_order)))
    return [ParticipantSpec(key=p.key, name=p.name, role=p.role, group=p.group_name or None,
                            number=p.number or None, title=p.title or None,
                            email=p.email or None) for p in session.exec(stmt)]


def _item_specs(session: Session, meeting: Meeting, documents_dir: Path) -> list[ItemSpec]:
    stmt = (select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                     AgendaItem.removed == False)  # noqa: E712
            .order_by(col(AgendaItem.position)))
    rows = list(session.exec(stmt))
    docs = _documents_by_item(session, meeting, documents_dir)
    specs = {row.id: ItemSpec(key=row.key, title=row.title, description=row.description,
                              duration_min=row.duration_min, presenter=row.presenter or None,
                              internal=row.internal, documents=docs.get(row.id, []))
             for row in rows}
    top: list[ItemSpec] = []
    for row in rows:
        parent = specs.get(row.parent_id) if row.parent_id else None
        (parent.items if parent else top).append(specs[row.id])
    return top


def _documents_by_item(session: Session, meeting: Meeting,
                       documents_dir: Path) -> dict[int, list[DocumentSpec]]:
    stmt = (select(Document).where(Document.meeting_id == meeting.id,
                                   Document.removed == False)  # noqa: E712
            .order_by(col(Document.position)))
    found: dict[int, list[DocumentSpec]] = {}
    for doc in session.exec(stmt):
        spec = DocumentSpec(path=blob_path(documents_dir, doc.sha256).resolve(),
                            title=doc.title, sha256=doc.sha256, size=doc.size,
                            confidential=doc.confidential)
        spec.filename = doc.filename  # type: ignore[attr-defined]
        found.setdefault(doc.item_id, []).append(spec)
    return found
