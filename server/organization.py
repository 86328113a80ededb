"""Bodies, the people registry, and meetings from one to the next.

Rules:
- A body (standing committee, executive committee, congress, a delegation or
  group of a congress) has members; a meeting belongs to at most one body.
- A person exists once. They are found again by ID number, then by email, then
  by their exact name when nothing else tells people apart; every meeting they
  take part in has its own participant with its own role, delegation and seat.
- Copying a meeting starts the next one: same body, settings, time zone, place
  and language; the agenda's skeleton (titles, order, nesting, durations,
  presenters, internal marks, without texts and documents); the same
  participants with their roles, delegations and seats, each with a new access
  code. The copy is scheduled, a week later unless another start is given.
- Only an ended meeting can be archived. An archived meeting is read-only: no
  command and no organizer action changes it any more.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from server.access import new_access_code
from server.commands import GUARDS
from server.db import Statement
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.eventlog import record_event
from server.imports.vietnamese import fold, matches, name_key
from server.meetings import get_meeting
from server.models import (
    AgendaItem,
    Body,
    BodyMember,
    Meeting,
    MeetingRecord,
    Participant,
    ParticipantProfile,
    Person,
    utcnow,
)
from server.models.organization import BODY_KINDS
from server.staff import Actor, record_change

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


# -- bodies ------------------------------------------------------------------


def create_body(
    session: Session,
    key: str,
    name: str,
    kind: str,
    actor: Actor,
    parent_id: int | None = None,
) -> Body:
    if not KEY_PATTERN.match(key):
        raise InvalidInputError(
            "The body key {key} may only hold lower-case letters, digits and dashes.",
            key=key,
        )
    if kind not in BODY_KINDS:
        raise InvalidInputError("There is no kind of body called {kind}.", kind=kind)
    if session.exec(select(Body).where(Body.key == key)).first() is not None:
        raise ConflictError("A body with the key {key} already exists.", key=key)
    body = Body(key=key, name=name.strip(), kind=kind, parent_id=parent_id)
    session.add(body)
    session.flush()
    record_change(
        session, actor, "body.create", "created the body {name}", body_id=body.id,
        values={"name": body.name},
    )
    return body


def find_body(session: Session, ref: str) -> Body:
    body = session.get(Body, int(ref)) if ref.isdigit() else None
    body = body or session.exec(select(Body).where(Body.key == ref)).first()
    if body is None:
        raise NotFoundError("There is no body with the id or key {ref}.", ref=ref)
    return body


def list_bodies(session: Session) -> list[Body]:
    return list(session.exec(select(Body).order_by(col(Body.name))))


def add_member(
    session: Session, body_id: int, person_id: int, group: str = "", title: str = ""
) -> BodyMember:
    stmt = select(BodyMember).where(
        BodyMember.body_id == body_id, BodyMember.person_id == person_id
    )
    member = session.exec(stmt).first() or BodyMember(
        body_id=body_id, person_id=person_id
    )
    member.group_name = group or member.group_name
    member.title = title or member.title
    member.active = True
    session.add(member)
    return member


def list_members(session: Session, body_id: int) -> list[tuple[BodyMember, Person]]:
    stmt = select(BodyMember, Person).join(Person).where(BodyMember.body_id == body_id)
    rows = list(session.exec(stmt))
    return sorted(rows, key=lambda row: name_key(row[1].name))


# -- people ------------------------------------------------------------------


def clean_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def find_person(
    session: Session, name: str, email: str = "", ref: str = ""
) -> Person | None:
    """The registered person these details describe, if any."""
    if ref:
        found = session.exec(select(Person).where(Person.ref == ref)).first()
        if found is not None:
            return found
    if email:
        found = session.exec(
            select(Person).where(Person.email == email.lower())
        ).first()
        if found is not None:
            return found
    if ref or email:
        return None  # a different ID or email is a different person
    stmt = select(Person).where(
        Person.name == clean_name(name), Person.ref == "", Person.email == ""
    )
    return session.exec(stmt).first()


def register_person(
    session: Session, name: str, email: str = "", ref: str = ""
) -> Person:
    """Find the person, or add them to the registry; fill in what was missing."""
    name = clean_name(name)
    person = find_person(session, name, email, ref) or Person(name=name)
    person.name = name
    person.name_folded = fold(name)
    person.email = person.email or email.lower()
    person.ref = person.ref or ref
    session.add(person)
    session.flush()
    return person


def search_people(session: Session, query: str, limit: int = 50) -> list[Person]:
    """People whose name contains ``query``, with or without diacritics."""
    stmt = select(Person)
    folded = fold(" ".join(query.split()))
    if folded:
        stmt = stmt.where(col(Person.name_folded).contains(folded))
    found = [p for p in session.exec(stmt.limit(limit * 4)) if matches(p.name, query)]
    return sorted(found, key=lambda p: name_key(p.name))[:limit]


def link_participant(
    session: Session,
    participant_id: int,
    person_id: int | None,
    seat: str | None = None,
) -> ParticipantProfile:
    profile = session.get(ParticipantProfile, participant_id) or ParticipantProfile(
        participant_id=participant_id
    )
    profile.person_id = person_id if person_id is not None else profile.person_id
    if seat is not None:
        profile.seat = seat
    session.add(profile)
    return profile


def seats_of(session: Session, meeting_id: int) -> dict[int, str]:
    stmt = (
        select(ParticipantProfile)
        .join(Participant)
        .where(Participant.meeting_id == meeting_id)
    )
    return {p.participant_id: p.seat for p in session.exec(stmt)}


# -- meeting records -----------------------------------------------------------


def meeting_record(session: Session, meeting_id: int) -> MeetingRecord:
    record = session.get(MeetingRecord, meeting_id)
    if record is None:
        record = MeetingRecord(meeting_id=meeting_id)
        session.add(record)
        session.flush()
    return record


def assign_body(session: Session, meeting_id: int, body_id: int, actor: Actor) -> None:
    record = meeting_record(session, meeting_id)
    record.body_id = body_id
    session.add(record)
    record_change(
        session,
        actor,
        "meeting.body",
        "assigned the meeting to the body {name}",
        values={"name": body.name if (body := session.get(Body, body_id)) else body_id},
        meeting_id=meeting_id,
        body_id=body_id,
    )


# Every command asks (a GUARD): one prebuilt query, no ORM load (bench/ballots.py).
_ARCHIVED = Statement(
    core_select(MeetingRecord.archived_at).where(
        MeetingRecord.meeting_id == bindparam("meeting")
    )
)


def is_archived(session: Session, meeting_id: int) -> bool:
    session.flush()
    found = _ARCHIVED.run(session, {"meeting": meeting_id})
    return bool(found and found[0][0])


def ensure_not_archived(session: Session, meeting_id: int) -> None:
    if is_archived(session, meeting_id):
        raise ConflictError(
            "This meeting is archived and can no longer be changed. Copy it to prepare a new meeting."
        )


def _refuse_when_archived(session: Session, meeting: Meeting) -> None:
    ensure_not_archived(session, meeting.id)


if _refuse_when_archived not in GUARDS:
    GUARDS.append(_refuse_when_archived)


def archive_meeting(session: Session, meeting_id: int, actor: Actor) -> MeetingRecord:
    meeting = get_meeting(session, meeting_id)
    ensure_not_archived(session, meeting_id)
    if meeting.state != "ended":
        raise ConflictError(
            "Only an ended meeting can be archived. End the meeting first."
        )
    record = meeting_record(session, meeting_id)
    record.archived_at = utcnow()
    session.add(record)
    record_change(
        session, actor, "meeting.archive", "archived the meeting", meeting_id=meeting_id
    )
    record_event(session, meeting_id, "meeting.archived", {"archived": True})
    return record


# -- copy ----------------------------------------------------------------------


def parse_local_start(value: object, zone: str) -> datetime | None:
    """A start typed as the meeting's local time ("2025-03-10T08:00")."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(
            "The start {value} is not a date and time such as 2025-03-10T08:00.",
            value=value,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def copy_meeting(
    session: Session,
    meeting_id: int,
    actor: Actor,
    *,
    key: str | None = None,
    title: str | None = None,
    starts_at: datetime | None = None,
) -> Meeting:
    """Start the next meeting from ``meeting_id``; see the module rules."""
    source = get_meeting(session, meeting_id)
    copy = _copy_fields(session, source, key, title, starts_at)
    session.add(copy)
    session.flush()

    record = meeting_record(session, copy.id)
    record.body_id = meeting_record(session, source.id).body_id
    record.copied_from_id = source.id
    session.add(record)
    items = _copy_items(session, source.id, copy.id)
    people = _copy_participants(session, source.id, copy.id)

    counts = {"items": items, "participants": people}
    record_event(session, copy.id, "meeting.imported", {"counts": counts})
    record_change(
        session,
        actor,
        "meeting.copy",
        "copied meeting {source} to {copy}",
        values={"source": source.key, "copy": copy.key},
        meeting_id=copy.id,
        details={"from": source.id, **counts},
    )
    return copy


def _copy_fields(
    session: Session,
    source: Meeting,
    key: str | None,
    title: str | None,
    starts_at: datetime | None,
) -> Meeting:
    key = key or _next_key(session, source.key)
    if not KEY_PATTERN.match(key):
        raise InvalidInputError(
            "The meeting key {key} may only hold lower-case letters, digits and dashes.",
            key=key,
        )
    if session.exec(select(Meeting).where(Meeting.key == key)).first() is not None:
        raise ConflictError(
            "A meeting with the key {key} already exists. Choose another key.", key=key
        )
    start = starts_at or source.starts_at + timedelta(days=7)
    length = source.ends_at - source.starts_at if source.ends_at else None
    return Meeting(
        key=key,
        title=title or source.title,
        body=source.body,
        description=source.description,
        place=source.place,
        language=source.language,
        timezone=source.timezone,
        starts_at=start,
        ends_at=start + length if length else None,
        settings_json=source.settings_json,
        projector_key=secrets.token_urlsafe(16),
    )


def _next_key(session: Session, key: str) -> str:
    base = re.sub(r"-copy(-\d+)?$", "", key)[:52]
    for number in range(1, 1000):
        candidate = f"{base}-copy" if number == 1 else f"{base}-copy-{number}"
        if (
            session.exec(select(Meeting).where(Meeting.key == candidate)).first()
            is None
        ):
            return candidate
    raise ConflictError("There are too many copies of the meeting {key}.", key=key)


def _copy_items(session: Session, source_id: int, target_id: int) -> int:
    stmt = (
        select(AgendaItem)
        .where(AgendaItem.meeting_id == source_id, AgendaItem.removed == False)  # noqa: E712
        .order_by(col(AgendaItem.position))
    )
    new_ids: dict[int, int] = {}
    count = 0
    for item in session.exec(stmt).all():
        copy = AgendaItem(
            meeting_id=target_id,
            key=item.key,
            position=item.position,
            number=item.number,
            title=item.title,
            description="",
            parent_id=new_ids.get(item.parent_id) if item.parent_id else None,
            duration_min=item.duration_min,
            presenter=item.presenter,
            internal=item.internal,
        )
        session.add(copy)
        session.flush()
        new_ids[item.id] = copy.id
        count += 1
    return count


def _copy_participants(session: Session, source_id: int, target_id: int) -> int:
    stmt = (
        select(Participant)
        .where(Participant.meeting_id == source_id, Participant.active == True)  # noqa: E712
        .order_by(col(Participant.sort_order))
    )
    count = 0
    for person in session.exec(stmt).all():
        copy = Participant(
            meeting_id=target_id,
            key=person.key,
            name=person.name,
            role=person.role,
            group_name=person.group_name,
            number=person.number,
            title=person.title,
            email=person.email,
            access_code=new_access_code(),
            sort_order=person.sort_order,
        )
        session.add(copy)
        session.flush()
        profile = session.get(ParticipantProfile, person.id)
        if profile is not None:
            link_participant(session, copy.id, profile.person_id, profile.seat)
        count += 1
    return count
