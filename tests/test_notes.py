"""Private notes on pages (server/notes.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from server import notes
from server.errors import InvalidInputError, NotAllowedError, NotFoundError
from server.access import projector_viewer
from server.models import Document, Event
from server.search import read_text
from tests._library_fixtures import viewer_of
from tests._meeting_fixtures import next_command_id

HIGHLIGHT = {"rects": [[0.1, 0.2, 0.5, 0.03]]}
INK = {"points": [[0.1, 0.5], [0.2, 0.55], [0.3, 0.5]], "width": 2}
TEXT = {"x": 0.1, "y": 0.8, "text": "Hỏi lại về kinh phí"}


@pytest.fixture
def doc_id(client, meeting):
    return client.app.state.store.read_sync(lambda s: s.exec(select(Document)).first().id)


def _add(client, viewer, doc_id, page=1, kind="highlight", data=HIGHLIGHT):
    return client.app.state.store.write_sync(notes.add_note, viewer, doc_id, page, kind, data)


def _list(client, viewer, doc_id):
    return client.app.state.store.read_sync(notes.list_notes, viewer, doc_id)


def test_a_delegate_adds_a_highlight_ink_and_text_to_a_page(client, meeting, doc_id):
    me = viewer_of(meeting, "delegate")

    for kind, data in (("highlight", HIGHLIGHT), ("ink", INK), ("text", TEXT)):
        _add(client, me, doc_id, 1, kind, data)

    assert [n["kind"] for n in _list(client, me, doc_id)] == ["highlight", "ink", "text"]
    assert _list(client, me, doc_id)[2]["data"]["text"] == "Hỏi lại về kinh phí"


def test_notes_are_seen_by_their_owner_only(client, meeting, doc_id):
    _add(client, viewer_of(meeting, "delegate", 0), doc_id)

    assert _list(client, viewer_of(meeting, "delegate", 1), doc_id) == []
    assert _list(client, viewer_of(meeting, "chair"), doc_id) == []
    assert _list(client, viewer_of(meeting, "organizer"), doc_id) == []


def test_notes_never_become_events(client, meeting, doc_id):
    store = client.app.state.store
    before = store.read_sync(lambda s: len(list(s.exec(select(Event)))))

    _add(client, viewer_of(meeting, "delegate"), doc_id)

    assert store.read_sync(lambda s: len(list(s.exec(select(Event))))) == before


def test_another_person_cannot_change_or_remove_a_note(client, meeting, doc_id):
    note = _add(client, viewer_of(meeting, "delegate", 0), doc_id)
    other = viewer_of(meeting, "delegate", 1)

    with pytest.raises(NotFoundError) as caught:
        client.app.state.store.write_sync(notes.remove_note, other, note["id"])

    assert caught.value.message == "This note does not exist."


def test_the_owner_changes_and_removes_a_note(client, meeting, doc_id):
    me = viewer_of(meeting, "delegate")
    note = _add(client, me, doc_id, 1, "text", TEXT)
    store = client.app.state.store

    store.write_sync(notes.change_note, me, note["id"], {**TEXT, "text": "Đã hỏi"})
    assert _list(client, me, doc_id)[0]["data"]["text"] == "Đã hỏi"
    store.write_sync(notes.remove_note, me, note["id"])
    assert _list(client, me, doc_id) == []


def test_the_projector_keeps_no_notes(client, meeting, doc_id):
    with pytest.raises(NotAllowedError) as caught:
        _add(client, projector_viewer(meeting.id), doc_id)

    assert caught.value.message == "The projector keeps no notes."


@pytest.mark.parametrize("kind, data, message", [
    ("stamp", HIGHLIGHT, "A note is a highlight, ink or text; stamp is none of these."),
    ("highlight", {"rects": [[0.1, 0.2, 1.5, 0.1]]}, "Note positions must be numbers between 0 and 1."),
    ("highlight", {"rects": []}, "A highlight needs between 1 and 200 areas."),
    ("ink", {"points": [[0.1, 0.1]]}, "An ink stroke needs between 2 and 4000 points."),
    ("text", {"x": 0.1, "y": 0.1, "text": "  "}, "A text note needs between 1 and 4000 characters."),
    ("text", {**TEXT, "color": "red;x"}, "A note colour must look like #ffcc00."),
])
def test_a_note_of_the_wrong_shape_is_refused(client, meeting, doc_id, kind, data, message):
    with pytest.raises(InvalidInputError) as caught:
        _add(client, viewer_of(meeting, "delegate"), doc_id, 1, kind, data)

    assert caught.value.message == message


def test_no_note_on_a_document_the_viewer_may_not_read(client, meeting, doc_id):
    from server.commands import execute
    client.app.state.store.write_sync(execute, viewer_of(meeting, "organizer"), "document.access",
                                      next_command_id(), {"document_id": doc_id, "confidential": True})

    with pytest.raises(NotFoundError):
        _add(client, viewer_of(meeting, "delegate"), doc_id)


def test_the_export_holds_the_annotated_pages_with_the_notes_drawn(client, meeting, doc_id, tmp_path):
    me = viewer_of(meeting, "delegate")
    _add(client, me, doc_id, 1, "text", TEXT)
    _add(client, me, doc_id, 1, "ink", INK)
    target = tmp_path / "notes.pdf"

    pages = client.app.state.store.read_sync(
        notes.export_notes, me, doc_id, client.app.state.settings.documents_dir, target,
        datetime(2020, 11, 16, tzinfo=timezone.utc))

    read = read_text(target)
    assert pages == 1 and len(read.pages) == 1
    assert "Hỏi lại về kinh phí" in read.pages[0] and "GIẤY MỜI" in read.pages[0]


def test_an_export_without_notes_is_refused(client, meeting, doc_id, tmp_path):
    with pytest.raises(NotFoundError) as caught:
        client.app.state.store.read_sync(
            notes.export_notes, viewer_of(meeting, "delegate"), doc_id,
            client.app.state.settings.documents_dir, tmp_path / "n.pdf",
            datetime(2020, 11, 16, tzinfo=timezone.utc))

    assert caught.value.message == "You have no notes on this document yet."
