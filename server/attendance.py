"""Attendance and quorum.

Rules:
- Each participant is present, absent, excused, or represented by proxy; everyone
  starts absent. Every change is kept with its time, its method (scan at the
  door, manual, self check-in) and who made it.
- Staff check people in at the door, by the QR code of the access card or by
  choosing the name; a delegate checks in on the tablet only when the meeting
  allows self check-in.
- Voting members are the delegates, and the chair unless the meeting says
  ``chair_votes = false``. Only they count for the quorum and may vote.
- A member represented by proxy names a present voting member who carries the
  vote; nobody carries more than ``proxy_limit`` votes besides their own, and a
  proxy holder cannot be represented in turn.
- The quorum is "half" (more than half of the members present), "two_thirds",
  "none" or a number of members; it is recomputed at every change and shown live.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from server._floorsettings import FloorSettings, floor_settings
from server.access import Viewer, normalize_code
from server.commands import PARTICIPANTS, STAFF, command, int_arg
from server.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from server.eventlog import (
    AUDIENCE_ALL, AUDIENCE_PUBLIC, AUDIENCE_STAFF, person_audience, record_event,
)
from server.meetings import get_meeting
from server.snapshot import snapshot_section
from server.models import Attendance, AttendanceChange, Meeting, Participant, utcnow
from server.models.floor import ATTENDANCE_STATES

MAX_AT_ONCE = 5000
STATUS_WORDS = {"present": "present", "absent": "absent", "excused": "excused",
                "proxy": "represented by proxy"}


@dataclass(frozen=True)
class Quorum:
    members: int
    present: int
    represented: int
    required: int
    rule: str

    @property
    def counted(self) -> int:
        return self.present

    @property
    def met(self) -> bool:
        return self.counted >= self.required

    def as_dict(self) -> dict[str, Any]:
        return {"members": self.members, "present": self.present,
                "represented": self.represented, "required": self.required,
                "met": self.met, "rule": self.rule}


# -- who votes -----------------------------------------------------------------


def is_voting_member(person: Participant, settings: FloorSettings) -> bool:
    if not person.active:
        return False
    return person.role == "delegate" or (person.role == "chair" and settings.chair_votes)


def list_members(session: Session, meeting: Meeting) -> list[Participant]:
    settings = floor_settings(meeting)
    stmt = (select(Participant).where(Participant.meeting_id == meeting.id)
            .order_by(col(Participant.sort_order)))
    return [p for p in session.exec(stmt) if is_voting_member(p, settings)]


@dataclass(frozen=True)
class Member:
    id: int
    key: str
    status: str


def member_states(session: Session, meeting: Meeting) -> list[Member]:
    """Every voting member with their attendance, in one query (no ORM objects).

    Kept for the session while the meeting's sequence stays the same: every
    change of attendance records an event, which moves the sequence on.
    """
    key = (meeting.id, meeting.last_seq)
    cache = _committed_cache(session)
    if cache is None:  # inside a write: the sequence may still roll back
        cache = session.info.setdefault("member_states", {})
    found = cache.get(key)
    if found is None:
        if len(cache) > 64:
            cache.clear()
        found = cache[key] = _load_member_states(session, meeting)
    return found


# Reads see committed states only, so their member lists can be shared by every
# read of the same meeting sequence: a hall of tablets loading snapshots at once
# computes the quorum once, not once per tablet.
_SHARED: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _committed_cache(session: Session) -> dict | None:
    if "events" in session.info:  # a write job's session (see server/db.py)
        return None
    bind = session.get_bind()
    return _SHARED.setdefault(bind, {})


def _load_member_states(session: Session, meeting: Meeting) -> list[Member]:
    roles = ("delegate", "chair") if floor_settings(meeting).chair_votes else ("delegate",)
    joined = and_(col(Attendance.participant_id) == Participant.id,
                  Attendance.meeting_id == meeting.id)
    stmt = (select(Participant.id, Participant.key, Attendance.status)
            .outerjoin(Attendance, joined)
            .where(Participant.meeting_id == meeting.id, Participant.active == True,  # noqa: E712
                   col(Participant.role).in_(roles))
            .order_by(col(Participant.sort_order)))
    return [Member(pid, key, state or "absent") for pid, key, state in session.exec(stmt)]


def get_person(session: Session, meeting_id: int, participant_id: int) -> Participant:
    person = session.get(Participant, participant_id)
    if person is None or person.meeting_id != meeting_id or not person.active:
        raise NotFoundError("Participant {id} does not take part in this meeting.", id=participant_id)
    return person


def find_by_code(session: Session, meeting_id: int, typed: str) -> Participant:
    """The participant whose access card was scanned (the card's QR code is a login link)."""
    code = normalize_code(typed.rsplit("code=", 1)[-1].split("&", 1)[0])
    stmt = select(Participant).where(Participant.access_code == code)
    person = session.exec(stmt).first()
    if person is None or person.meeting_id != meeting_id or not person.active:
        raise NotFoundError("This access card does not belong to this meeting. Check the card, or search the name instead.")
    return person


# -- reading -------------------------------------------------------------------


def attendance_rows(session: Session, meeting_id: int) -> dict[int, Attendance]:
    stmt = select(Attendance).where(Attendance.meeting_id == meeting_id)
    return {row.participant_id: row for row in session.exec(stmt)}


def status_of(session: Session, meeting_id: int, participant_id: int) -> str:
    row = attendance_row(session, meeting_id, participant_id)
    return row.status if row else "absent"


def attendance_row(session: Session, meeting_id: int, participant_id: int) -> Attendance | None:
    stmt = select(Attendance).where(Attendance.meeting_id == meeting_id,
                                    Attendance.participant_id == participant_id)
    return session.exec(stmt).first()


def is_present(session: Session, meeting_id: int, participant_id: int) -> bool:
    return status_of(session, meeting_id, participant_id) == "present"


def proxies_held(session: Session, meeting_id: int, holder_id: int) -> list[Participant]:
    stmt = (select(Participant).join(Attendance, col(Attendance.participant_id) == Participant.id)
            .where(Attendance.meeting_id == meeting_id, Attendance.status == "proxy",
                   Attendance.proxy_holder_id == holder_id))
    return list(session.exec(stmt))


def get_quorum(session: Session, meeting: Meeting) -> Quorum:
    settings = floor_settings(meeting)
    members = member_states(session, meeting)
    states = [m.status for m in members]
    present, represented = states.count("present"), states.count("proxy")
    required = required_for_quorum(settings.quorum, len(members))
    counted = present + (represented if settings.quorum_counts_proxies else 0)
    return Quorum(len(members), counted, represented, required, quorum_rule_text(settings))


def required_for_quorum(rule: str | int, members: int) -> int:
    if isinstance(rule, int):
        return rule
    if rule == "two_thirds":
        return math.ceil(2 * members / 3)
    if rule == "none":
        return 0
    return members // 2 + 1


def quorum_rule_text(settings: FloorSettings) -> str:
    rule = settings.quorum
    if isinstance(rule, int):
        text = f"at least {rule} members present"
    else:
        text = {"half": "more than half of the members present",
                "two_thirds": "at least two thirds of the members present",
                "none": "no quorum required"}[rule]
    if settings.quorum_counts_proxies and rule != "none":
        text += " (members represented by proxy count as present)"
    return text


def my_attendance(session: Session, meeting_id: int, participant_id: int) -> dict[str, Any]:
    row = attendance_row(session, meeting_id, participant_id)
    carries = proxies_held(session, meeting_id, participant_id)
    return {"status": row.status if row else "absent",
            "proxy_holder_id": row.proxy_holder_id if row else None,
            "carries": [{"id": p.id, "name": p.name} for p in carries]}


def attendance_view(row: Attendance) -> dict[str, Any]:
    return {"participant_id": row.participant_id, "status": row.status,
            "proxy_holder_id": row.proxy_holder_id,
            "first_present_at": _iso(row.first_present_at), "changed_at": _iso(row.changed_at)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def attendance_summary(session: Session, meeting_id: int) -> dict[str, Any]:
    """Who attended, how, and since when: the attendance section of the minutes."""
    meeting = get_meeting(session, meeting_id)
    settings = floor_settings(meeting)
    rows = attendance_rows(session, meeting_id)
    stmt = (select(Participant).where(Participant.meeting_id == meeting_id,
                                      Participant.active == True)  # noqa: E712
            .order_by(col(Participant.sort_order)))
    people = [_summary_line(p, rows.get(p.id), settings) for p in session.exec(stmt)]
    counts = {state: 0 for state in ATTENDANCE_STATES}
    for line in people:
        if line["member"]:
            counts[line["status"]] += 1
    changes = session.exec(select(AttendanceChange).where(
        AttendanceChange.meeting_id == meeting_id).order_by(col(AttendanceChange.id)))
    return {"quorum": get_quorum(session, meeting).as_dict(), "members": counts,
            "people": people,
            "changes": [{"participant_id": c.participant_id, "status": c.status,
                         "proxy_holder_id": c.proxy_holder_id, "method": c.method,
                         "by_id": c.by_id, "at": c.at.isoformat()} for c in changes]}


def _summary_line(person: Participant, row: Attendance | None,
                  settings: FloorSettings) -> dict[str, Any]:
    return {"participant_id": person.id, "name": person.name, "role": person.role,
            "group": person.group_name, "number": person.number,
            "member": is_voting_member(person, settings),
            "status": row.status if row else "absent",
            "proxy_holder_id": row.proxy_holder_id if row else None,
            "first_present_at": _iso(row.first_present_at) if row else None}


# -- changing ------------------------------------------------------------------


def set_attendance(session: Session, meeting: Meeting, person: Participant, status: str,
                   *, by: Viewer, method: str, holder: Participant | None = None) -> dict:
    """Record a new attendance status for ``person`` and announce it."""
    if status not in ATTENDANCE_STATES:
        raise InvalidInputError("The attendance status must be one of: present, absent, excused, proxy.")
    if meeting.state == "ended":
        raise ConflictError("The meeting has ended; attendance can no longer change.")
    row = attendance_row(session, meeting.id, person.id) or Attendance(
        meeting_id=meeting.id, participant_id=person.id)
    if status == "proxy":
        ensure_proxy_allowed(session, meeting, person, holder)
    elif _holds_votes(session, meeting.id, person.id) and status != "present":
        raise ConflictError("{name} carries votes by proxy. Give those proxies to someone else before {name} leaves.", name=person.name)
    old_holder = row.proxy_holder_id

    now = utcnow()
    row.status, row.changed_at = status, now
    row.proxy_holder_id = holder.id if status == "proxy" and holder else None
    if status == "present" and row.first_present_at is None:
        row.first_present_at = now
    session.add(row)
    session.add(AttendanceChange(meeting_id=meeting.id, participant_id=person.id,
                                 status=status, proxy_holder_id=row.proxy_holder_id,
                                 method=method, by_id=by.participant_id, at=now))
    session.flush()
    _announce(session, meeting, row, by, {old_holder, row.proxy_holder_id})
    return attendance_view(row)


def check_in_many(session: Session, meeting: Meeting, people: list[Participant],
                  by: Viewer) -> int:
    """Mark many people present at once (a roll call); one quorum update for all."""
    if meeting.state == "ended":
        raise ConflictError("The meeting has ended; attendance can no longer change.")
    rows, now, changed = attendance_rows(session, meeting.id), utcnow(), []
    for person in people:
        row = rows.get(person.id) or Attendance(meeting_id=meeting.id, participant_id=person.id)
        if row.status == "present":
            continue
        row.status, row.changed_at, row.proxy_holder_id = "present", now, None
        row.first_present_at = row.first_present_at or now
        session.add(row)
        session.add(AttendanceChange(meeting_id=meeting.id, participant_id=person.id,
                                     status="present", method="manual",
                                     by_id=by.participant_id, at=now))
        changed.append(row)
    session.flush()
    _announce_many(session, meeting, changed, by)
    return len(changed)


def _announce_many(session: Session, meeting: Meeting, rows: list[Attendance],
                   by: Viewer) -> None:
    """Three events for a roll call of any size: staff rows, the ids, the quorum."""
    actor = by.participant_id
    record_event(session, meeting.id, "attendance.changed_many",
                 {"rows": [attendance_view(r) for r in rows]},
                 audience=AUDIENCE_STAFF, actor_id=actor)
    record_event(session, meeting.id, "attendance.roll_call",
                 {"status": "present", "participant_ids": [r.participant_id for r in rows]},
                 audience=AUDIENCE_PUBLIC, actor_id=actor)
    record_event(session, meeting.id, "quorum", get_quorum(session, meeting).as_dict(),
                 audience=AUDIENCE_ALL, actor_id=actor)


def _holds_votes(session: Session, meeting_id: int, participant_id: int) -> bool:
    return bool(proxies_held(session, meeting_id, participant_id))


def ensure_proxy_allowed(session: Session, meeting: Meeting, person: Participant,
                         holder: Participant | None) -> None:
    settings = floor_settings(meeting)
    if settings.proxy_limit == 0:
        raise NotAllowedError("This meeting does not allow voting by proxy.")
    if holder is None:
        raise InvalidInputError("Name the member who carries the proxy (proxy_holder_id).")
    if holder.id == person.id:
        raise InvalidInputError("A member cannot carry their own proxy.")
    if not is_voting_member(person, settings) or not is_voting_member(holder, settings):
        raise NotAllowedError("Only voting members can give or carry a proxy.")
    if status_of(session, meeting.id, holder.id) != "present":
        raise ConflictError("{name} is not checked in. A proxy can only go to a member who is present.", name=holder.name)
    held = [p for p in proxies_held(session, meeting.id, holder.id) if p.id != person.id]
    if len(held) >= settings.proxy_limit:
        raise ConflictError("{name} already carries {count} proxy votes, the most this meeting allows.", name=holder.name, count=len(held))


def _announce(session: Session, meeting: Meeting, row: Attendance, by: Viewer,
              people: set[int | None]) -> None:
    actor = by.participant_id
    record_event(session, meeting.id, "attendance.changed", attendance_view(row),
                 audience=AUDIENCE_STAFF, actor_id=actor)
    record_event(session, meeting.id, "quorum", get_quorum(session, meeting).as_dict(),
                 audience=AUDIENCE_ALL, actor_id=actor)
    for pid in sorted({row.participant_id, *people} - {None}):
        record_event(session, meeting.id, "attendance.mine",
                     my_attendance(session, meeting.id, pid),
                     audience=person_audience(pid), actor_id=actor)


# -- commands ------------------------------------------------------------------


@command("attendance.check_in", STAFF, "check participants in")
def check_in(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    """Check in at the door: by the scanned card (``code``) or the chosen person."""
    if isinstance(args.get("code"), str) and args["code"].strip():
        person = find_by_code(session, meeting.id, args["code"][:200])
        method = "scan"
    else:
        person = get_person(session, meeting.id, int_arg(args, "participant_id"))
        method = "manual"
    view = set_attendance(session, meeting, person, "present", by=viewer, method=method)
    return {**view, "name": person.name}


@command("attendance.check_in_many", STAFF, "check participants in")
def check_in_many_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    ids = args.get("participant_ids")
    if not isinstance(ids, list) or len(ids) > MAX_AT_ONCE or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInputError("List the participants to check in by their numbers, at most {most} at once.", most=MAX_AT_ONCE)
    people = [get_person(session, meeting.id, pid) for pid in ids]
    return {"checked_in": check_in_many(session, meeting, people, viewer)}


@command("attendance.set", STAFF, "change attendance")
def change_attendance(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    person = get_person(session, meeting.id, int_arg(args, "participant_id"))
    holder = None
    if args.get("proxy_holder_id") is not None:
        holder = get_person(session, meeting.id, int_arg(args, "proxy_holder_id"))
    status = str(args.get("status", ""))
    return set_attendance(session, meeting, person, status, by=viewer, method="manual",
                          holder=holder)


@command("attendance.self_check_in", PARTICIPANTS, "check yourself in")
def self_check_in(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    if not floor_settings(meeting).self_checkin:
        raise NotAllowedError("This meeting does not allow checking in on the tablet. Please check in at the door.")
    if meeting.state != "running":
        raise ConflictError("Check-in on the tablet opens when the meeting starts.")
    person = get_person(session, meeting.id, viewer.participant_id)
    if status_of(session, meeting.id, person.id) == "present":
        return {"participant_id": person.id, "status": "present"}
    return set_attendance(session, meeting, person, "present", by=viewer, method="self")


@snapshot_section("attendance")
def _snapshot(session: Session, meeting: Meeting, viewer: Viewer) -> dict[str, Any]:
    view: dict[str, Any] = {"quorum": get_quorum(session, meeting).as_dict(),
                            "self_checkin": floor_settings(meeting).self_checkin,
                            "mine": None, "rows": []}
    if viewer.participant_id is not None:
        view["mine"] = my_attendance(session, meeting.id, viewer.participant_id)
    if viewer.is_staff:
        view["rows"] = [attendance_view(r) for r in attendance_rows(session, meeting.id).values()]
        view["members"] = [m.id for m in member_states(session, meeting)]
    return view
