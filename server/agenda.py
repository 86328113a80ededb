"""Agenda items of a meeting and which one is current.

Rules:
- Items form a tree; their numbers (1, 1.1, 1.2, 2 ...) are computed from the
  order and stored on each item so every screen shows the same number.
- Internal items are seen by staff only; when the current item is internal,
  delegates and the projector see that the meeting is between items.
- Only the chair (or the organizer standing in) moves the current item, and only
  while the meeting runs.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from server.access import Viewer
from server.commands import CHAIR, command, int_arg
from server.errors import ConflictError, NotFoundError
from server.eventlog import AUDIENCE_ALL, AUDIENCE_PUBLIC, AUDIENCE_STAFF, record_event
from server.models import AgendaItem, Meeting


def list_items(session: Session, meeting_id: int) -> list[AgendaItem]:
    stmt = (select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id, AgendaItem.removed == False)  # noqa: E712
            .order_by(col(AgendaItem.position)))
    return list(session.exec(stmt))


def visible_items(session: Session, meeting_id: int, viewer: Viewer) -> list[AgendaItem]:
    items = list_items(session, meeting_id)
    if viewer.is_staff:
        return items
    hidden = _internal_subtrees(items)
    return [item for item in items if item.id not in hidden]


def _internal_subtrees(items: list[AgendaItem]) -> set[int]:
    """Ids of internal items and of everything below them."""
    hidden: set[int] = set()
    for item in items:  # items come in tree order, parents first
        if item.internal or item.parent_id in hidden:
            hidden.add(item.id)
    return hidden


def item_view(item: AgendaItem) -> dict:
    return {"id": item.id, "key": item.key, "number": item.number,
            "parent_id": item.parent_id, "title": item.title,
            "description": item.description, "duration_min": item.duration_min,
            "presenter": item.presenter, "internal": item.internal}


def get_item(session: Session, meeting_id: int, item_id: int) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id or item.removed:
        raise NotFoundError("Agenda item {item} does not exist in this meeting.", item=item_id)
    return item


def set_current_item(session: Session, meeting: Meeting, item: AgendaItem | None,
                     actor_id: int | None) -> dict:
    """Make ``item`` current and tell every tablet what it may see of it."""
    if meeting.state != "running":
        raise ConflictError("The meeting has not started yet. Start the meeting first, then choose an item.")
    meeting.current_item_id = item.id if item else None
    session.add(meeting)
    full = {"item_id": item.id if item else None,
            "item": item_view(item) if item else None}
    if item is not None and _is_hidden(session, item):
        record_event(session, meeting.id, "agenda.current", full,
                     audience=AUDIENCE_STAFF, actor_id=actor_id)
        record_event(session, meeting.id, "agenda.current",
                     {"item_id": None, "item": None}, audience=AUDIENCE_PUBLIC, actor_id=actor_id)
    else:
        record_event(session, meeting.id, "agenda.current", full,
                     audience=AUDIENCE_ALL, actor_id=actor_id)
    return full


def _is_hidden(session: Session, item: AgendaItem) -> bool:
    while item is not None:
        if item.internal:
            return True
        item = session.get(AgendaItem, item.parent_id) if item.parent_id else None
    return False


def step_item(session: Session, meeting: Meeting, step: int, actor_id: int | None) -> dict:
    """Move to the next (step=1) or previous (step=-1) item in agenda order."""
    items = list_items(session, meeting.id)
    if not items:
        raise ConflictError("This meeting has no agenda items. Import an agenda first.")
    ids = [item.id for item in items]
    if meeting.current_item_id in ids:
        index = ids.index(meeting.current_item_id) + step
    else:
        index = 0 if step > 0 else len(ids) - 1
    if not 0 <= index < len(items):
        edge = "last" if step > 0 else "first"
        raise ConflictError("This is already the {edge} agenda item.", edge=edge)
    return set_current_item(session, meeting, items[index], actor_id)


@command("agenda.next", CHAIR, "move to the next agenda item")
def next_item(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return step_item(session, meeting, 1, viewer.participant_id)


@command("agenda.previous", CHAIR, "move to the previous agenda item")
def previous_item(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return step_item(session, meeting, -1, viewer.participant_id)


@command("agenda.goto", CHAIR, "choose the current agenda item")
def goto_item(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    item = get_item(session, meeting.id, int_arg(args, "item_id"))
    return set_current_item(session, meeting, item, viewer.participant_id)
