"""Agenda items and the current item: order, numbering, internal items, who moves."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from server.access import projector_viewer, viewer_for
from server.agenda import visible_items
from server.commands import execute
from server.errors import ConflictError, NotAllowedError, NotFoundError
from server.models import AgendaItem, Event, Participant
from server.snapshot import build_snapshot
from tests._meeting_fixtures import MeetingInfo, next_command_id


def run(client, meeting: MeetingInfo, role: str, name: str, **args):
    person = meeting.people[meeting.code(role)]
    viewer = viewer_for(person)
    return client.app.state.store.write_sync(execute, viewer, name, next_command_id(), args)


def item_id(client, key: str) -> int:
    return client.app.state.store.read_sync(
        lambda s: s.exec(select(AgendaItem).where(AgendaItem.key == key)).one().id)


def current_of(client, meeting: MeetingInfo, role: str) -> int | None:
    person = meeting.people[meeting.code(role)]
    snap = client.app.state.store.read_sync(build_snapshot, meeting.id, viewer_for(person))
    return snap["meeting"]["current_item_id"]


def test_next_walks_the_agenda_in_order_including_sub_items(client, meeting):
    run(client, meeting, "chair", "meeting.start")

    numbers = [run(client, meeting, "chair", "agenda.next")["result"]["item"]["number"]
               for _ in range(4)]

    assert numbers == ["1", "1.1", "1.2", "2"]


def test_previous_at_the_first_item_says_so(client, meeting):
    run(client, meeting, "chair", "meeting.start")
    run(client, meeting, "chair", "agenda.next")

    with pytest.raises(ConflictError, match="^This is already the first agenda item.$"):
        run(client, meeting, "chair", "agenda.previous")


def test_next_at_the_last_item_says_so(client, meeting):
    run(client, meeting, "chair", "meeting.start")
    run(client, meeting, "chair", "agenda.goto", item_id=item_id(client, "hoan-thien-du-thao"))

    with pytest.raises(ConflictError, match="^This is already the last agenda item.$"):
        run(client, meeting, "chair", "agenda.next")


def test_chair_can_jump_to_any_item(client, meeting):
    run(client, meeting, "chair", "meeting.start")

    result = run(client, meeting, "chair", "agenda.goto", item_id=item_id(client, "ket-luan"))

    assert result["result"]["item"]["number"] == "4"
    assert current_of(client, meeting, "delegate") == item_id(client, "ket-luan")


def test_items_cannot_be_chosen_before_the_meeting_starts(client, meeting):
    with pytest.raises(ConflictError, match="^The meeting has not started yet. Start the meeting first, then choose an item.$"):
        run(client, meeting, "chair", "agenda.next")


def test_goto_an_unknown_item_is_refused(client, meeting):
    run(client, meeting, "chair", "meeting.start")

    with pytest.raises(NotFoundError, match="^Agenda item 99999 does not exist in this meeting.$"):
        run(client, meeting, "chair", "agenda.goto", item_id=99999)


@pytest.mark.parametrize("role, allowed", [
    ("chair", True), ("organizer", True), ("secretary", False),
    ("delegate", False), ("guest", False)])
def test_who_may_move_the_current_item(client, meeting, role, allowed):
    run(client, meeting, "chair", "meeting.start")

    if allowed:
        assert run(client, meeting, role, "agenda.next")["result"]["item_id"]
    else:
        with pytest.raises(NotAllowedError, match="^You may not move to the next agenda item.$"):
            run(client, meeting, role, "agenda.next")


def test_internal_items_are_seen_by_staff_only(client, meeting):
    store = client.app.state.store
    delegate = viewer_for(meeting.people[meeting.code("delegate")])
    secretary = viewer_for(meeting.people[meeting.code("secretary")])

    seen_by_delegate = store.read_sync(visible_items, meeting.id, delegate)
    seen_by_secretary = store.read_sync(visible_items, meeting.id, secretary)
    seen_by_projector = store.read_sync(visible_items, meeting.id, projector_viewer(meeting.id))

    assert "hoan-thien-du-thao" in {i.key for i in seen_by_secretary}
    assert "hoan-thien-du-thao" not in {i.key for i in seen_by_delegate}
    assert "hoan-thien-du-thao" not in {i.key for i in seen_by_projector}


def test_internal_current_item_is_announced_to_staff_only(client, meeting):
    run(client, meeting, "chair", "meeting.start")
    internal = item_id(client, "hoan-thien-du-thao")

    run(client, meeting, "chair", "agenda.goto", item_id=internal)

    events = client.app.state.store.read_sync(lambda s: list(s.exec(
        select(Event).where(Event.type == "agenda.current").order_by(col(Event.seq)))))
    by_audience = {e.audience: json.loads(e.payload) for e in events}
    assert by_audience["staff"]["item"]["title"].startswith("Hoàn thiện dự thảo")
    assert by_audience["public"] == {"item_id": None, "item": None}
    assert "all" not in by_audience
    assert current_of(client, meeting, "delegate") is None
    assert current_of(client, meeting, "secretary") == internal


def test_only_the_organizer_sees_access_codes_and_projector_key(client, meeting):
    store = client.app.state.store
    organizer = store.read_sync(lambda s: s.exec(select(Participant).where(
        Participant.role == "organizer")).first())
    chair = viewer_for(meeting.people[meeting.code("chair")])
    delegate = viewer_for(meeting.people[meeting.code("delegate")])

    seen_by_organizer = store.read_sync(build_snapshot, meeting.id, viewer_for(organizer))
    seen_by_chair = store.read_sync(build_snapshot, meeting.id, chair)
    seen_by_delegate = store.read_sync(build_snapshot, meeting.id, delegate)

    assert seen_by_organizer["projector_key"]
    assert all(p["access_code"] for p in seen_by_organizer["participants"])
    assert seen_by_chair["projector_key"] is None
    assert not any("access_code" in p for p in seen_by_chair["participants"])
    assert seen_by_delegate["participants"] == []
