"""Commands: roles checked on the server, ids, and at-most-once execution."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.access import projector_viewer, viewer_for
from server.commands import execute
from server.errors import InvalidInputError, NotAllowedError
from server.models import Event


def test_a_retried_command_is_answered_again_without_running_twice(client, meeting):
    store = client.app.state.store
    chair = viewer_for(meeting.people[meeting.code("chair")])
    store.write_sync(execute, chair, "meeting.start", "start-1", {})

    first = store.write_sync(execute, chair, "agenda.next", "next-1", {})
    again = store.write_sync(execute, chair, "agenda.next", "next-1", {})

    assert again == {**first, "repeated": True}
    kinds = store.read_sync(lambda s: [e.type for e in s.exec(select(Event))])
    assert kinds.count("agenda.current") == 1


def test_the_same_id_from_another_person_is_a_different_command(client, meeting):
    store = client.app.state.store
    chair = viewer_for(meeting.people[meeting.code("chair")])
    organizer = viewer_for(meeting.people[meeting.code("organizer")])
    store.write_sync(execute, chair, "meeting.start", "x", {})

    answer = store.write_sync(execute, organizer, "agenda.next", "x", {})

    assert "repeated" not in answer


def test_unknown_command_says_to_reload(client, meeting):
    chair = viewer_for(meeting.people[meeting.code("chair")])

    with pytest.raises(InvalidInputError) as caught:
        client.app.state.store.write_sync(execute, chair, "agenda.fly", "c1", {})

    assert caught.value.message == "The server does not know the command agenda.fly. Reload the page to get the current version."


def test_projector_cannot_send_commands(client, meeting):
    with pytest.raises(NotAllowedError, match="^You may not start the meeting.$"):
        client.app.state.store.write_sync(execute, projector_viewer(meeting.id), "meeting.start", "p1", {})


def test_goto_needs_a_whole_number(client, meeting):
    store = client.app.state.store
    chair = viewer_for(meeting.people[meeting.code("chair")])
    store.write_sync(execute, chair, "meeting.start", "s", {})

    with pytest.raises(InvalidInputError, match="^The command needs item_id as a whole number.$"):
        store.write_sync(execute, chair, "agenda.goto", "g", {"item_id": "3; drop table"})
