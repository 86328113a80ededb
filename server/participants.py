"""Participants of a meeting: who they are, their role and their access."""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.models import Participant


def list_participants(session: Session, meeting_id: int, *, active_only: bool = True) -> list[Participant]:
    stmt = select(Participant).where(Participant.meeting_id == meeting_id)
    if active_only:
        stmt = stmt.where(Participant.active == True)  # noqa: E712
    return list(session.exec(stmt.order_by(col(Participant.sort_order))))


def participant_view(person: Participant) -> dict:
    return {"id": person.id, "key": person.key, "name": person.name, "role": person.role,
            "group": person.group_name, "number": person.number, "title": person.title}
