"""The ordered record of a meeting: every change is an event with a sequence number.

Rules:
- Sequence numbers of a meeting start at 1 and grow by one per event, across
  restarts and processes; the meeting row is locked while one is taken.
- Each event names its audience: ``all``, ``staff``, ``public`` (everyone but
  staff) or ``person:<id>``. A tablet
  receives only the events of its audiences.
- Each event's hash covers the previous event's hash, so the whole record can be
  sealed with the last hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from server.models import Event, Meeting, utcnow

AUDIENCE_ALL = "all"
AUDIENCE_STAFF = "staff"
AUDIENCE_PUBLIC = "public"  # everyone who is not staff: delegates, guests, projector


def person_audience(participant_id: int) -> str:
    return f"person:{participant_id}"


@dataclass(frozen=True)
class PublishedEvent:
    """What is handed to the realtime hub after commit."""

    meeting_id: int
    seq: int
    type: str
    audience: str
    payload: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"type": "event", "meeting": self.meeting_id, "seq": self.seq,
                "event": self.type, "data": self.payload}


def lock_meeting(session: Session, meeting_id: int) -> Meeting:
    stmt = select(Meeting).where(Meeting.id == meeting_id).with_for_update()
    meeting = session.exec(stmt).one()
    session.refresh(meeting)
    return meeting


def record_event(
    session: Session,
    meeting_id: int,
    type: str,
    payload: dict[str, Any],
    *,
    audience: str = AUDIENCE_ALL,
    actor_id: int | None = None,
) -> Event:
    """Store one event with the next sequence number; publish it after commit."""
    meeting = lock_meeting(session, meeting_id)
    seq = meeting.last_seq + 1
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    created = utcnow()
    digest = chain_hash(meeting.last_hash, seq, type, audience, body, actor_id, created.isoformat())
    row = Event(meeting_id=meeting_id, seq=seq, type=type, audience=audience,
                payload=body, actor_id=actor_id, created_at=created, hash=digest)
    meeting.last_seq, meeting.last_hash = seq, digest
    session.add(row)
    session.add(meeting)
    session.flush()
    pending = session.info.setdefault("events", [])
    pending.append(PublishedEvent(meeting_id, seq, type, audience, payload))
    return row


def chain_hash(previous: str, seq: int, type: str, audience: str, body: str,
               actor_id: int | None, created: str) -> str:
    line = json.dumps([previous, seq, type, audience, body, actor_id, created],
                      ensure_ascii=False)
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def list_events_since(
    session: Session, meeting_id: int, after_seq: int, limit: int
) -> list[PublishedEvent]:
    stmt = (select(Event).where(Event.meeting_id == meeting_id, Event.seq > after_seq)
            .order_by(col(Event.seq)).limit(limit))
    return [to_published(row) for row in session.exec(stmt)]


def to_published(row: Event) -> PublishedEvent:
    return PublishedEvent(row.meeting_id, row.seq, row.type, row.audience,
                          json.loads(row.payload))


def verify_chain(session: Session, meeting_id: int) -> tuple[bool, int, str]:
    """Recompute every hash; return (intact, events checked, last hash)."""
    previous, count = "", 0
    stmt = select(Event).where(Event.meeting_id == meeting_id).order_by(col(Event.seq))
    for row in session.exec(stmt):
        expected = chain_hash(previous, row.seq, row.type, row.audience, row.payload,
                              row.actor_id, row.created_at.isoformat())
        if expected != row.hash:
            return False, count, previous
        previous, count = row.hash, count + 1
    return True, count, previous

