"""Bodies and their members, as organizers manage them in the browser.

Rules:
- A body is a standing committee, an executive committee, a congress, or a
  delegation, group or committee inside another body (its parent).
- A member is a person of the registry (a person exists once): found by
  searching, or added to the registry by name. A member has a role in the body
  (such as "Bí thư" or "Ủy viên") and may belong to a group of it.
- Removing a member keeps them in the body's history as a former member;
  adding them again makes them a member again.
- A body that meetings belong to, or that has delegations or groups, cannot
  be removed. Removing a body hides it from the lists and keeps its members,
  staff roles and audit.
- A meeting belongs to at most one body; a removed body takes no meetings.
- Every change is written to the audit (``staff.record_change``).
- Staff reach only their own bodies: the body of their meeting, bodies where
  they hold a staff role, bodies created by the staff of their meeting, and
  the delegations and groups
  of these (at any depth). Only there may they see members, change members,
  remove a body, add a delegation or group, or assign their meeting. Any
  organizer may create a new top-level body (the office starts a new one).
"""

from __future__ import annotations

import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from server.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from server.imports.vietnamese import name_key
from server.models import (
    Body,
    BodyMember,
    Meeting,
    MeetingRecord,
    OrganizerChange,
    Participant,
    Person,
    StaffRole,
    utcnow,
)
from server.organization import (
    add_member,
    clean_name,
    assign_body,
    create_body,
    ensure_not_archived,
    register_person,
)
from server.staff import Actor, body_of_meeting, person_of, record_change

MAX_TEXT = 200


def get_body(session: Session, body_id: int) -> Body:
    body = session.get(Body, body_id)
    if body is None or body.removed_at is not None:
        raise NotFoundError("There is no body {id}.", id=body_id)
    return body


def bodies_in_reach(session: Session, meeting_id: int, participant_id: int | None) -> set[int]:
    """The bodies the staff member ``participant_id`` of ``meeting_id`` may manage."""
    roots: set[int] = set()
    own = body_of_meeting(session, meeting_id)
    if own is not None:
        roots.add(own)
    person_id = person_of(session, participant_id)
    if person_id is not None:
        roots.update(session.exec(select(StaffRole.body_id).where(StaffRole.person_id == person_id)))
    created_here = (select(OrganizerChange.body_id)
                    .join(Participant, Participant.id == OrganizerChange.actor_participant_id)
                    .where(OrganizerChange.action == "body.create", Participant.meeting_id == meeting_id))
    roots.update(b for b in session.exec(created_here) if b is not None)
    children: dict[int, list[int]] = {}
    for body_id, parent_id in session.exec(select(Body.id, Body.parent_id)):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(body_id)
    reach, todo = set(), list(roots)
    while todo:  # bounded: each body is visited once
        body_id = todo.pop()
        if body_id not in reach:
            reach.add(body_id)
            todo.extend(children.get(body_id, ()))
    return reach


def ensure_in_reach(
    session: Session, meeting_id: int, participant_id: int | None, body_id: int, action: str
) -> Body:
    """The body, if the staff member may ``action`` there; NotAllowedError if not."""
    body = get_body(session, body_id)
    if body.id not in bodies_in_reach(session, meeting_id, participant_id):
        raise NotAllowedError(
            "You may not {action} in {body}: it is not the body of this meeting, nor one of its delegations or groups, nor a body where you hold a staff role.",
            action=action,
            body=body.name,
        )
    return body


def list_current_bodies(session: Session) -> list[Body]:
    stmt = select(Body).where(Body.removed_at == None)  # noqa: E711
    return list(session.exec(stmt.order_by(col(Body.name))))


def add_body(
    session: Session,
    key: str,
    name: str,
    kind: str,
    actor: Actor,
    parent_id: int | None = None,
) -> Body:
    """Create a body; a delegation or group names the body it belongs to."""
    # one line of visible text, as member names: no line breaks or control characters
    name = clean_name("".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")))
    if not name:
        raise InvalidInputError("Give the body a name.")
    if len(name) > MAX_TEXT:
        raise InvalidInputError(
            "The name is longer than {limit} characters.", limit=MAX_TEXT
        )
    if parent_id is not None:
        get_body(session, parent_id)
    return create_body(session, key, name, kind, actor, parent_id=parent_id)


def remove_body(session: Session, body_id: int, actor: Actor) -> Body:
    body = get_body(session, body_id)
    meetings = _count(session, MeetingRecord.body_id, body_id)
    if meetings:
        raise ConflictError(
            "Meetings belong to the body {name} ({count}), so it cannot be removed: its meetings would lose their body. Assign them to another body first.",
            name=body.name,
            count=meetings,
        )
    children = session.exec(
        select(func.count()).where(Body.parent_id == body_id, Body.removed_at == None)  # noqa: E711
    ).one()
    if children:
        raise ConflictError(
            "The body {name} still has delegations or groups ({count}). Remove them first.",
            name=body.name,
            count=children,
        )
    body.removed_at = utcnow()
    session.add(body)
    record_change(
        session, actor, "body.remove", "removed the body {name}", body_id=body.id,
        values={"name": body.name},
    )
    return body


def _count(session: Session, column: Any, value: int) -> int:
    return session.exec(select(func.count()).where(column == value)).one()


def add_body_member(
    session: Session, body_id: int, details: dict[str, Any], actor: Actor
) -> BodyMember:
    """Add a registered person (``person_id``) or a new one (``name``) to a body."""
    body = get_body(session, body_id)
    person = _person_for(session, details)
    role, group = _text(details, "role"), _text(details, "group")
    member = add_member(session, body.id, person.id, group, role)
    session.flush()
    record_change(
        session,
        actor,
        "body.member.add",
        "added {person} to {body}",
        values={"person": person.name, "body": body.name},
        body_id=body.id,
        details={"person_id": person.id, "role": role, "group": group},
    )
    return member


def _person_for(session: Session, details: dict[str, Any]) -> Person:
    person_id = details.get("person_id")
    if person_id:
        person = session.get(Person, _number(person_id))
        if person is None:
            raise NotFoundError(
                "There is no person {id} in the registry.", id=person_id
            )
        return person
    name = _text(details, "name")
    if not name:
        raise InvalidInputError("Choose a person, or write the name of a new one.")
    return register_person(
        session, name, _text(details, "email"), _text(details, "ref")
    )


def _number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise InvalidInputError("A person of the registry is chosen by their number.")


def _text(details: dict[str, Any], name: str) -> str:
    value = " ".join(str(details.get(name) or "").split())
    if len(value) > MAX_TEXT:
        raise InvalidInputError(
            "The {field} is longer than {limit} characters.",
            field=name,
            limit=MAX_TEXT,
        )
    return value


def remove_body_member(
    session: Session, body_id: int, person_id: int, actor: Actor
) -> BodyMember:
    """The person stays in the body's history as a former member."""
    body = get_body(session, body_id)
    stmt = select(BodyMember).where(
        BodyMember.body_id == body_id,
        BodyMember.person_id == person_id,
        BodyMember.active == True,  # noqa: E712
    )
    member = session.exec(stmt).first()
    if member is None:
        raise NotFoundError("This person is not a member of {name}.", name=body.name)
    member.active = False
    session.add(member)
    person = session.get(Person, person_id)
    record_change(
        session,
        actor,
        "body.member.remove",
        "removed {person} from {body}",
        values={"person": person.name if person else person_id, "body": body.name},
        body_id=body.id,
        details={"person_id": person_id},
    )
    return member


def assign_meeting(
    session: Session, meeting_id: int, body_id: int, actor: Actor
) -> Body:
    ensure_not_archived(session, meeting_id)
    body = get_body(session, body_id)
    assign_body(session, meeting_id, body.id, actor)
    return body


def describe_body(session: Session, body_id: int) -> dict[str, Any]:
    """A body with its members (current and former), groups, meetings and staff."""
    body = get_body(session, body_id)
    members = session.exec(
        select(BodyMember, Person).join(Person).where(BodyMember.body_id == body_id)
    ).all()
    return {
        **body_summary(body),
        "members": [
            {
                "person_id": p.id,
                "name": p.name,
                "email": p.email,
                "role": m.title,
                "group": m.group_name,
                "active": m.active,
            }
            for m, p in _sorted_members(members)
        ],
        "groups": [
            body_summary(b)
            for b in list_current_bodies(session)
            if b.parent_id == body_id
        ],
        "meetings": _meetings_of(session, body_id),
        "staff": _staff_of(session, body_id),
    }


def body_summary(body: Body) -> dict[str, Any]:
    return {
        "id": body.id,
        "key": body.key,
        "name": body.name,
        "kind": body.kind,
        "parent_id": body.parent_id,
    }


def _sorted_members(rows: Any) -> list[tuple[BodyMember, Person]]:
    return sorted(rows, key=lambda row: (not row[0].active, name_key(row[1].name)))


def _meetings_of(session: Session, body_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(Meeting)
        .join(MeetingRecord, MeetingRecord.meeting_id == Meeting.id)
        .where(MeetingRecord.body_id == body_id)
        .order_by(col(Meeting.starts_at))
    )
    return [
        {
            "id": m.id,
            "key": m.key,
            "title": m.title,
            "starts_at": m.starts_at.isoformat(),
            # shown on the meeting's own clock, whatever the device's zone
            "starts_local": m.starts_at.astimezone(ZoneInfo(m.timezone)).isoformat(
                timespec="minutes"
            ),
            "timezone": m.timezone,
        }
        for m in session.exec(stmt)
    ]


def _staff_of(session: Session, body_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(StaffRole, Person)
        .join(Person, Person.id == StaffRole.person_id)
        .where(StaffRole.body_id == body_id)
        .order_by(col(StaffRole.role), col(Person.name))
    )
    return [
        {"person_id": p.id, "name": p.name, "role": r.role}
        for r, p in session.exec(stmt)
    ]
