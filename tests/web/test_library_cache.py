"""The document file route remembers grants and small files; access changes win at once.

Each test first reads the document (so a grant is remembered), then changes who
may read it, then reads again: the second answer must follow the change.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.models import Document, Participant
from tests._library_fixtures import INVITATION
from tests._meeting_fixtures import next_command_id

NOT_SHARED = "This document does not exist or is not shared with you."
SESSION_ENDED = "Your session has ended. Please log in again with your access code."
GROUP = "Ban Pháp chế HĐND huyện"


def _command(client, meeting, name, args):
    return client.post(f"/api/meetings/{meeting.id}/commands",
                       json={"id": next_command_id(), "name": name, "args": args})


def _person(meeting):
    return next(p for p in meeting.people.values() if p.group_name == GROUP)


def _read(client, doc_id):
    return client.get(f"/documents/{doc_id}", headers={"accept": "application/json",
                                                      "range": "bytes=0-99"})


def _message(response) -> str:
    return response.json()["error"]["message"]


@pytest.fixture
def doc_id(client, meeting):
    return client.app.state.store.read_sync(lambda s: s.exec(select(Document)).first().id)


@pytest.fixture
def organizer(meeting, login):
    return login(meeting.code("organizer"))


@pytest.fixture
def reader(meeting, login, doc_id):
    """A delegate who has just read the document, so the grant is remembered."""
    client = login(_person(meeting).access_code)
    assert _read(client, doc_id).status_code == 206
    assert len(client.app.state.grant_cache) >= 1
    return client


def test_a_second_range_request_needs_no_database_trip(reader, doc_id, monkeypatch):
    store = reader.app.state.store
    monkeypatch.setattr(store, "read", None)  # any database read would fail now

    response = reader.get(f"/documents/{doc_id}", headers={"range": "bytes=100-199"})

    assert response.status_code == 206 and response.content == INVITATION.read_bytes()[100:200]


def test_a_reader_shut_out_by_a_new_access_list_loses_the_file_at_once(organizer, reader, meeting, doc_id):
    _command(organizer, meeting, "document.access", {"document_id": doc_id, "roles": ["chair"]})

    after = _read(reader, doc_id)

    assert after.status_code == 404 and _message(after) == NOT_SHARED


def test_a_removed_document_is_gone_at_once(organizer, reader, meeting, doc_id):
    _command(organizer, meeting, "document.remove", {"document_id": doc_id})

    after = _read(reader, doc_id)

    assert after.status_code == 404 and _message(after) == NOT_SHARED


def test_a_reader_whose_sessions_were_ended_loses_the_file_at_once(organizer, reader, meeting, doc_id):
    organizer.post(f"/api/meetings/{meeting.id}/participants/{_person(meeting).id}/end-sessions")

    after = _read(reader, doc_id)

    assert after.status_code == 401 and _message(after) == SESSION_ENDED


def test_logging_out_everywhere_on_one_device_shuts_the_other_out_at_once(reader, login, meeting, doc_id):
    other_device = login(_person(meeting).access_code)

    other_device.post("/logout?everywhere=1")
    after = _read(reader, doc_id)

    assert after.status_code == 401 and _message(after) == SESSION_ENDED


def test_a_logged_out_cookie_reads_nothing_even_if_replayed(reader, doc_id):
    cookie = reader.cookies.get("plenary_session")

    reader.post("/logout")
    reader.cookies.set("plenary_session", cookie)
    after = _read(reader, doc_id)

    assert after.status_code == 401 and _message(after) == SESSION_ENDED


def test_a_reader_whose_role_changed_loses_a_document_kept_for_their_old_role(organizer, login, meeting, doc_id):
    _command(organizer, meeting, "document.access", {"document_id": doc_id, "roles": ["delegate"]})
    person = _person(meeting)
    client = login(person.access_code)
    assert _read(client, doc_id).status_code == 206

    def make_guest(session):
        row = session.get(Participant, person.id)
        row.role = "guest"
        session.add(row)
    client.app.state.store.write_sync(make_guest)
    after = _read(client, doc_id)

    assert after.status_code == 404 and _message(after) == NOT_SHARED


def test_a_replaced_document_is_served_in_its_new_version_at_once(organizer, reader, doc_id):
    from tests._library_fixtures import DECREE
    response = organizer.post(f"/api/documents/{doc_id}/replace?filename=decree.pdf",
                              content=DECREE.read_bytes())
    assert response.status_code == 200, response.text

    after = reader.get(f"/documents/{doc_id}")

    assert after.status_code == 200 and after.content == DECREE.read_bytes()


def test_the_last_bytes_are_served_for_a_suffix_range(reader, doc_id):
    data = INVITATION.read_bytes()

    response = reader.get(f"/documents/{doc_id}", headers={"range": "bytes=-64"})

    assert response.status_code == 206 and response.content == data[-64:]
    assert response.headers["content-range"] == f"bytes {len(data) - 64}-{len(data) - 1}/{len(data)}"


def test_a_range_past_the_end_is_refused_as_not_satisfiable(reader, doc_id):
    size = INVITATION.stat().st_size

    response = reader.get(f"/documents/{doc_id}", headers={"range": f"bytes={size + 10}-"})

    assert response.status_code == 416


def test_two_ranges_at_once_are_still_answered(reader, doc_id):
    response = reader.get(f"/documents/{doc_id}", headers={"range": "bytes=0-9,20-29"})

    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges")


def test_the_whole_file_says_it_accepts_ranges(reader, doc_id):
    response = reader.get(f"/documents/{doc_id}")

    assert response.status_code == 200 and response.content == INVITATION.read_bytes()
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "private, no-cache"


def test_a_kept_copy_is_confirmed_without_its_bytes_while_the_reader_may_read(reader, doc_id):
    first = reader.get(f"/documents/{doc_id}")

    again = reader.get(f"/documents/{doc_id}", headers={"if-none-match": first.headers["etag"]})

    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_kept_copy_is_not_confirmed_once_access_is_withdrawn(organizer, reader, meeting, doc_id):
    etag = reader.get(f"/documents/{doc_id}").headers["etag"]
    _command(organizer, meeting, "document.access", {"document_id": doc_id, "roles": ["chair"]})

    again = reader.get(f"/documents/{doc_id}", headers={"if-none-match": etag, "accept": "application/json"})

    assert again.status_code == 404 and _message(again) == NOT_SHARED
