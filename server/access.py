"""Who is looking: access codes, login sessions and the viewer of a request.

Rules:
- Every participant gets a personal access code at import; it never changes on
  re-import, and re-issuing one invalidates the old code and its sessions.
- A login exchanges a code for a session token kept in a signed cookie.
- The projector of a meeting logs in with the meeting's projector key and sees
  what every delegate sees.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from server.errors import NotAllowedError, NotLoggedInError
from server.eventlog import AUDIENCE_ALL, AUDIENCE_PUBLIC, AUDIENCE_STAFF, person_audience
from server.models import STAFF_ROLES, LoginSession, Meeting, Participant, utcnow

# No 0/O, 1/I/L: codes are read off paper cards and typed on tablets.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


@dataclass(frozen=True)
class Viewer:
    meeting_id: int
    role: str
    participant_id: int | None = None
    name: str = ""
    group: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def audiences(self) -> frozenset[str]:
        found = {AUDIENCE_ALL}
        found.add(AUDIENCE_STAFF if self.is_staff else AUDIENCE_PUBLIC)
        if self.participant_id is not None:
            found.add(person_audience(self.participant_id))
        return frozenset(found)

    def as_dict(self) -> dict[str, object]:
        return {"participant_id": self.participant_id, "role": self.role,
                "name": self.name, "group": self.group, "staff": self.is_staff}


def new_access_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(typed: str) -> str:
    """Accept codes typed in lower case, with spaces or without dashes."""
    raw = "".join(ch for ch in typed.upper() if ch.isalnum())
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def viewer_for(participant: Participant) -> Viewer:
    return Viewer(participant.meeting_id, participant.role, participant.id,
                  participant.name, participant.group_name)


def projector_viewer(meeting_id: int) -> Viewer:
    return Viewer(meeting_id, "projector", None, "Projector")


def log_in(session: Session, typed_code: str) -> tuple[str, Participant]:
    """Exchange an access code for a new session token."""
    code = normalize_code(typed_code)
    stmt = select(Participant).where(Participant.access_code == code)
    participant = session.exec(stmt).first()
    if participant is None or not participant.active:
        raise NotLoggedInError(
            "This access code is not valid. Check the code on your access card, "
            "or ask the meeting secretary for a new one."
        )
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token=token, participant_id=participant.id))
    return token, participant


def get_viewer(session: Session, token: str | None, idle_hours: float = 12.0) -> Viewer:
    return get_login(session, token, idle_hours)[1]


def get_login(session: Session, token: str | None,
              idle_hours: float = 12.0) -> tuple[LoginSession, Viewer]:
    """The login session of ``token`` and who it is; refuses ended or idle ones."""
    if not token:
        raise NotLoggedInError("Please log in with your access code.")
    stmt = select(LoginSession, Participant).join(Participant).where(
        LoginSession.token == token)
    row = session.exec(stmt).first()
    if row is None or row[0].revoked or not row[1].active:
        raise NotLoggedInError("Your session has ended. Please log in again with your access code.")
    last = row[0].last_seen or row[0].created_at
    if utcnow() - last > timedelta(hours=idle_hours):
        raise NotLoggedInError("You were away too long and have been logged out. Please log in again with your access code.")
    return row[0], viewer_for(row[1])


def touch_login(session: Session, login_id: int) -> None:
    """Note that a login session is in use (keeps it from timing out)."""
    row = session.get(LoginSession, login_id)
    if row is not None:
        row.last_seen = utcnow()
        session.add(row)


def log_out_everywhere(session: Session, participant_id: int) -> int:
    """End every session of a participant, on all devices; return how many."""
    stmt = select(LoginSession).where(LoginSession.participant_id == participant_id,
                                      LoginSession.revoked == False)  # noqa: E712
    rows = list(session.exec(stmt))
    for row in rows:
        row.revoked = True
        session.add(row)
    return len(rows)


def check_projector_key(session: Session, meeting_id: int, key: str) -> Viewer:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not key or not secrets.compare_digest(meeting.projector_key, key):
        raise NotAllowedError("This projector address is not valid. Ask the organizer for the current one.")
    return projector_viewer(meeting_id)


def log_out(session: Session, token: str) -> None:
    stmt = select(LoginSession).where(LoginSession.token == token)
    for row in session.exec(stmt):
        row.revoked = True
        session.add(row)


def reissue_code(session: Session, participant_id: int) -> str:
    """Give a participant a new code; the old code and its sessions stop working."""
    participant = session.get(Participant, participant_id)
    participant.access_code = new_access_code()
    session.add(participant)
    stmt = select(LoginSession).where(LoginSession.participant_id == participant_id)
    for row in session.exec(stmt):
        row.revoked = True
        session.add(row)
    return participant.access_code


def ensure_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise NotAllowedError("Only the chair, the secretary or the organizer may do this.")


def ensure_role(viewer: Viewer, roles: frozenset[str], action: str) -> None:
    if viewer.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise NotAllowedError("You may not {action}: only {allowed} may.", action=action, allowed=allowed)
