"""The audit record of a meeting and the digest that seals it into the minutes.

Rules:
- Every state change of a meeting is an event, in order, each chained to the one
  before it by SHA-256 (``server.eventlog``); this module reads that chain, it
  never keeps a second one.
- The digest names how many events check out, whether the whole chain is intact,
  and the hash of the last good event. A broken chain is reported with the first
  event that fails, never hidden.
- A digest printed in signed minutes can be checked later against the database:
  it matches when the chain is intact and its event number N still has that hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, select

from server.eventlog import verify_chain
from server.models import Event


@dataclass(frozen=True)
class AuditDigest:
    intact: bool
    events: int  # events that check out, from the first one
    last_hash: str  # the hash of the last event that checks out
    broken_at: int | None = None  # the sequence number of the first bad event

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditDigest:
        return cls(
            bool(data["intact"]),
            int(data["events"]),
            str(data["last_hash"]),
            data.get("broken_at"),
        )


def audit_digest(session: Session, meeting_id: int) -> AuditDigest:
    """The seal of the meeting's record as it stands now."""
    intact, count, last_hash = verify_chain(session, meeting_id)
    broken_at = None if intact else _seq_after(session, meeting_id, count)
    return AuditDigest(intact, count, last_hash, broken_at)


def _seq_after(session: Session, meeting_id: int, count: int) -> int | None:
    """The sequence number of the event after the first ``count`` ones."""
    stmt = (
        select(Event.seq)
        .where(Event.meeting_id == meeting_id)
        .order_by(Event.seq)
        .offset(count)
        .limit(1)
    )
    return session.exec(stmt).first()


def matches_record(
    session: Session, meeting_id: int, events: int, last_hash: str
) -> bool:
    """Whether a sealed digest (N events, hash of event N) matches the record now."""
    intact, count, _last = verify_chain(session, meeting_id)
    if not intact or count < events:
        return False
    if events == 0:
        return last_hash == ""
    stmt = (
        select(Event.hash)
        .where(Event.meeting_id == meeting_id)
        .order_by(Event.seq)
        .offset(events - 1)
        .limit(1)
    )
    return session.exec(stmt).first() == last_hash
