"""Who may prepare a meeting, and the audit of what they changed.

Rules:
- Staff roles are given per body: organizer, secretary, technician. A role in a
  body counts in every meeting of that body.
- In a meeting, the participant with the role organizer counts as an organizer
  of that meeting, and the secretary as its secretary.
- What each role may do is the table ``ALLOWED`` below; the organizer may do
  everything. The check is made by the server for every organizer action.
- Every change made while preparing a meeting is written to the audit with who
  made it, what it was and when; the audit is only ever added to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from server.access import Viewer
from server.errors import InvalidInputError, NotAllowedError
from server.models import (
    MeetingRecord,
    OrganizerChange,
    Participant,
    ParticipantProfile,
    StaffRole,
)
from server.models.organization import STAFF_ROLE_NAMES

# action -> staff roles that may do it, and the words for error messages
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "participants.import": (
        frozenset({"organizer", "secretary"}),
        "import participants",
    ),
    "badges.print": (
        frozenset({"organizer", "secretary", "technician"}),
        "print badges and access cards",
    ),
    "cards.reissue": (
        frozenset({"organizer", "technician"}),
        "re-issue an access card",
    ),
    "meeting.copy": (frozenset({"organizer"}), "copy a meeting"),
    "meeting.archive": (frozenset({"organizer"}), "archive a meeting"),
    "openslides.import": (frozenset({"organizer"}), "import a meeting from OpenSlides"),
    "staff.assign": (frozenset({"organizer"}), "give staff roles"),
    "participants.staff_roles": (
        frozenset({"organizer"}),
        "give or change the roles organizer, chair or secretary",
    ),
    # access cards and badges of the organizer, chair and secretaries hold
    # codes that log in with their rights (their QR code holds the code too)
    "cards.staff": (
        frozenset({"organizer"}),
        "print the cards of the organizer, chair or secretaries",
    ),
    "bodies.manage": (
        frozenset({"organizer"}),
        "create or remove bodies, delegations and groups",
    ),
    "bodies.members": (
        frozenset({"organizer", "secretary"}),
        "add or remove members of a body",
    ),
    "meeting.body": (frozenset({"organizer"}), "assign the meeting to a body"),
    "organize.view": (
        frozenset({"organizer", "secretary", "technician"}),
        "open the organizer pages",
    ),
}
MEETING_ROLE_AS_STAFF = {"organizer": "organizer", "secretary": "secretary"}
STAFF_MEETING_ROLES = frozenset({"organizer", "chair", "secretary"})


@dataclass(frozen=True)
class Actor:
    """Who made a change: a logged-in participant or the command line."""

    name: str
    participant_id: int | None = None


COMMAND_LINE = Actor("command line")


def actor_of(viewer: Viewer) -> Actor:
    return Actor(f"{viewer.name} ({viewer.role})", viewer.participant_id)


def body_of_meeting(session: Session, meeting_id: int) -> int | None:
    record = session.get(MeetingRecord, meeting_id)
    return record.body_id if record else None


def staff_roles(session: Session, viewer: Viewer) -> set[str]:
    """The staff roles ``viewer`` holds for its meeting."""
    roles = (
        {MEETING_ROLE_AS_STAFF[viewer.role]}
        if viewer.role in MEETING_ROLE_AS_STAFF
        else set()
    )
    body_id = body_of_meeting(session, viewer.meeting_id)
    person_id = person_of(session, viewer.participant_id)
    if body_id is not None and person_id is not None:
        stmt = select(StaffRole.role).where(
            StaffRole.body_id == body_id, StaffRole.person_id == person_id
        )
        roles.update(session.exec(stmt))
    return roles


def person_of(session: Session, participant_id: int | None) -> int | None:
    """The registry person behind a participant, if the participant has one."""
    if participant_id is None:
        return None
    profile = session.get(ParticipantProfile, participant_id)
    return profile.person_id if profile else None


def staff_participants(session: Session, meeting_id: int) -> set[int]:
    """Participants whose access code logs in with staff rights: the organizer,
    chair and secretaries of the meeting, and holders of a staff role in its body."""
    stmt = select(Participant.id).where(
        Participant.meeting_id == meeting_id,
        col(Participant.role).in_(STAFF_MEETING_ROLES),
    )
    found = set(session.exec(stmt))
    body_id = body_of_meeting(session, meeting_id)
    if body_id is not None:
        holders = (
            select(ParticipantProfile.participant_id)
            .join(
                StaffRole,
                StaffRole.person_id == ParticipantProfile.person_id,
            )
            .join(Participant, Participant.id == ParticipantProfile.participant_id)
            .where(StaffRole.body_id == body_id, Participant.meeting_id == meeting_id)
        )
        found.update(session.exec(holders))
    return found


def can(session: Session, viewer: Viewer, action: str) -> bool:
    allowed, _words = ALLOWED[action]
    return bool(staff_roles(session, viewer) & allowed)


def ensure_may(session: Session, viewer: Viewer, action: str) -> None:
    """Raise NotAllowedError unless ``viewer`` may do ``action`` in its meeting."""
    allowed, words = ALLOWED[action]
    if not staff_roles(session, viewer) & allowed:
        names = " or ".join(sorted(allowed))
        raise NotAllowedError(
            "You may not {action}: only the {roles} of this meeting may.",
            action=words,
            roles=names,
        )


def grant_role(
    session: Session, body_id: int, person_id: int, role: str, actor: Actor
) -> StaffRole:
    if role not in STAFF_ROLE_NAMES:
        raise InvalidInputError(
            "There is no staff role {role}: choose organizer, secretary or technician.",
            role=role,
        )
    stmt = select(StaffRole).where(
        StaffRole.body_id == body_id,
        StaffRole.person_id == person_id,
        StaffRole.role == role,
    )
    found = session.exec(stmt).first()
    if found is not None:
        return found
    grant = StaffRole(body_id=body_id, person_id=person_id, role=role)
    session.add(grant)
    record_change(
        session,
        actor,
        "staff.grant",
        "gave the role {role}",
        body_id=body_id,
        details={"person_id": person_id, "role": role},
        values={"role": role},
    )
    return grant


def list_staff(session: Session, body_id: int) -> list[StaffRole]:
    stmt = (
        select(StaffRole)
        .where(StaffRole.body_id == body_id)
        .order_by(col(StaffRole.id))
    )
    return list(session.exec(stmt))


def record_change(
    session: Session,
    actor: Actor,
    action: str,
    summary: str,
    *,
    meeting_id: int | None = None,
    body_id: int | None = None,
    details: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> OrganizerChange:
    """Add a change to the audit. ``summary`` is an English sentence; with
    ``values`` it is a template ("added {person} to {body}") that is kept beside
    the filled-in text, so each page shows it in the reader's language."""
    if body_id is None and meeting_id is not None:
        body_id = body_of_meeting(session, meeting_id)
    change = OrganizerChange(
        body_id=body_id,
        meeting_id=meeting_id,
        actor=actor.name,
        actor_participant_id=actor.participant_id,
        action=action,
        summary=summary.format(**values) if values else summary,
        details_json=json.dumps({**(details or {}), "summary": {
            "template": summary, "values": {k: str(v) for k, v in (values or {}).items()}}},
            ensure_ascii=False, default=str),
    )
    session.add(change)
    session.flush()
    return change


def list_changes(
    session: Session, meeting_id: int, limit: int = 200
) -> list[OrganizerChange]:
    stmt = (
        select(OrganizerChange)
        .where(OrganizerChange.meeting_id == meeting_id)
        .order_by(col(OrganizerChange.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))
