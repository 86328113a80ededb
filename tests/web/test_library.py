"""Document routes, and the access matrix: every path, both ways.

The invitation of the sample meeting is made confidential and shared with one
group (Ban Pháp chế). A delegate of that group, and the organizer, get it on
every path; a delegate of another group, a guest, the chair (not on the list)
and the projector get nothing on any path: not the file, not the download, not
the thumbnail, not the reader page, not a search hit, not a pushed event.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.models import Document
from tests._library_fixtures import DECREE, INVITATION, SCANNED, compression_bomb
from tests._meeting_fixtures import next_command_id

ALLOWED_GROUP = "Ban Pháp chế HĐND huyện"
NOT_SHARED = "This document does not exist or is not shared with you."
NOISE = {"presence", "ping", "pong"}


def _code_of_group(meeting, group: str) -> str:
    return next(code for code, p in meeting.people.items() if p.group_name == group)


def _command(client, meeting, name, args):
    response = client.post(f"/api/meetings/{meeting.id}/commands",
                           json={"id": next_command_id(), "name": name, "args": args})
    return response


@pytest.fixture
def doc_id(client, meeting):
    return client.app.state.store.read_sync(lambda s: s.exec(select(Document)).first().id)


@pytest.fixture
def organizer(meeting, login):
    return login(meeting.code("organizer"))


@pytest.fixture
def restricted(organizer, meeting, doc_id):
    response = _command(organizer, meeting, "document.access",
                        {"document_id": doc_id, "confidential": True, "groups": [ALLOWED_GROUP]})
    assert response.status_code == 200, response.text
    return doc_id


@pytest.fixture
def allowed(meeting, login):
    return login(_code_of_group(meeting, ALLOWED_GROUP))


@pytest.fixture
def denied(meeting, login):
    return login(_code_of_group(meeting, "Ban Kinh tế - Xã hội HĐND huyện"))


def _projector_key(client, meeting):
    from server.models import Meeting
    return client.app.state.store.read_sync(lambda s: s.get(Meeting, meeting.id).projector_key)


# -- the matrix ------------------------------------------------------------------

PATHS = ["/documents/{id}", "/documents/{id}?download=1", "/documents/{id}/thumbnail",
         "/m/{meeting}/documents/{id}", "/api/documents/{id}/versions",
         "/api/documents/{id}/notes"]


@pytest.mark.parametrize("path", PATHS)
def test_a_delegate_without_access_gets_nothing_on_any_path(denied, meeting, restricted, path):
    response = denied.get(path.format(id=restricted, meeting=meeting.id),
                          headers={"accept": "application/json"}, follow_redirects=False)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == NOT_SHARED


@pytest.mark.parametrize("path", PATHS)
def test_a_delegate_of_the_allowed_group_gets_it_on_every_path(allowed, meeting, restricted, path):
    response = allowed.get(path.format(id=restricted, meeting=meeting.id), follow_redirects=False)

    assert response.status_code in (200, 303)


@pytest.mark.parametrize("role", ["guest", "chair"])
def test_roles_not_on_the_list_get_nothing(meeting, login, restricted, role):
    other = login(meeting.code(role))

    assert other.get(f"/documents/{restricted}").status_code == 404
    assert other.get(f"/documents/{restricted}/thumbnail").status_code == 404


def test_the_projector_gets_a_restricted_document_on_no_path(client, meeting, restricted):
    key = _projector_key(client, meeting)

    response = client.get(f"/documents/{restricted}?projector={meeting.id}&key={key}")

    assert response.status_code == 404


def test_the_projector_gets_an_open_document(client, meeting, doc_id):
    key = _projector_key(client, meeting)

    response = client.get(f"/documents/{doc_id}?projector={meeting.id}&key={key}")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_a_document_of_another_meeting_answers_the_same_as_a_missing_one(allowed):
    response = allowed.get("/documents/99999", headers={"accept": "application/json"})

    assert response.status_code == 404 and response.json()["error"]["message"] == NOT_SHARED


def test_search_hits_come_only_from_documents_the_viewer_may_read(allowed, denied, meeting, restricted):
    found = allowed.get(f"/api/meetings/{meeting.id}/search", params={"q": "giay moi"}).json()
    hidden = denied.get(f"/api/meetings/{meeting.id}/search", params={"q": "giay moi"}).json()

    assert [h["document_id"] for h in found["hits"]] == [restricted]
    assert hidden == {"query": "giay moi", "hits": [], "not_searched": []}


def test_the_library_list_shows_only_readable_documents(allowed, denied, meeting, restricted):
    assert [d["id"] for d in allowed.get(f"/api/meetings/{meeting.id}/library").json()["documents"]] == [restricted]
    assert denied.get(f"/api/meetings/{meeting.id}/library").json()["documents"] == []


def _receive(ws) -> dict:
    for _ in range(50):
        message = ws.receive_json()
        if message["type"] not in NOISE:
            return message
    raise AssertionError("nothing but noise")


def _join(client, meeting):
    ws = client.websocket_connect("/ws").__enter__()
    ws.send_json({"type": "hello", "meeting": meeting.id, "last_seq": None})
    assert _receive(ws)["type"] == "welcome"
    snapshot = _receive(ws)
    assert snapshot["type"] == "snapshot"
    return ws, snapshot


def test_a_pushed_presentation_reaches_only_those_who_may_read(organizer, allowed, denied, chair_client, meeting, restricted):
    allowed_ws, _ = _join(allowed, meeting)
    denied_ws, _ = _join(denied, meeting)
    try:
        response = _command(organizer, meeting, "document.present", {"document_id": restricted, "page": 1})
        assert response.status_code == 200, response.text
        _command(chair_client, meeting, "meeting.start", {})

        got = _receive(allowed_ws)
        first_for_denied = _receive(denied_ws)
    finally:
        allowed_ws.__exit__(None, None, None)
        denied_ws.__exit__(None, None, None)

    assert got["event"] == "document.present" and got["data"]["document_id"] == restricted
    assert first_for_denied["event"] == "meeting.state"


def test_the_snapshot_shows_the_presentation_only_to_those_who_may_read(organizer, allowed, denied, meeting, restricted):
    _command(organizer, meeting, "document.present", {"document_id": restricted, "page": 1})

    allowed_ws, allowed_snapshot = _join(allowed, meeting)
    allowed_ws.__exit__(None, None, None)
    denied_ws, denied_snapshot = _join(denied, meeting)
    denied_ws.__exit__(None, None, None)

    assert allowed_snapshot["data"]["presentation"]["document_id"] == restricted
    assert denied_snapshot["data"]["presentation"] is None
    assert denied_snapshot["data"]["documents"] == []


# -- files, watermark, downloads -------------------------------------------------


def test_a_confidential_document_is_handed_out_stamped_with_the_readers_name(allowed, meeting, restricted, tmp_path):
    from server.search import read_text
    response = allowed.get(f"/documents/{restricted}")
    target = tmp_path / "copy.pdf"
    target.write_bytes(response.content)

    text = read_text(target).pages[0]

    assert "Đại diện Ban Pháp chế HĐND huyện · " in text
    assert "accept-ranges" not in response.headers
    assert response.headers["cache-control"] == "private, no-store"


def test_an_open_document_is_served_as_stored_with_ranges(allowed, doc_id):
    response = allowed.get(f"/documents/{doc_id}", headers={"range": "bytes=0-99"})

    assert response.status_code == 206 and response.content == INVITATION.read_bytes()[:100]


def test_a_forbidden_download_is_refused_but_reading_still_works(organizer, allowed, meeting, doc_id):
    _command(organizer, meeting, "document.access", {"document_id": doc_id, "download": False})

    refused = allowed.get(f"/documents/{doc_id}?download=1", headers={"accept": "application/json"})

    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "The organizer has not allowed downloading this document. You can read it on the tablet."
    assert allowed.get(f"/documents/{doc_id}").status_code == 200


def test_a_download_is_an_attachment(allowed, doc_id):
    response = allowed.get(f"/documents/{doc_id}?download=1")

    assert response.headers["content-disposition"].startswith("attachment;")


def test_the_thumbnail_is_a_small_png(allowed, doc_id):
    response = allowed.get(f"/documents/{doc_id}/thumbnail")

    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


# -- a PDF whose page inflates to many megabytes -------------------------------


@pytest.fixture
def bomb(tmp_path):
    """About 30 KB that inflate to 10 MB of operators: pdftotext needs about a
    second and pdftoppm about ten, far above the timeouts the tests set."""
    return compression_bomb(tmp_path / "to-trinh.pdf", 10)


def test_the_upload_is_answered_before_the_text_is_read(organizer, meeting, monkeypatch):
    import asyncio

    from server import search
    started, release = [], asyncio.Event()

    async def slow_extract(path, timeout):
        started.append(path)
        await release.wait()
        return search.TextRead(search.HAS_TEXT, ["Tờ trình"])
    monkeypatch.setattr(search, "extract_text", slow_extract)

    response = _upload(organizer, meeting, DECREE, title="Nghị định 47/2020/NĐ-CP")

    assert response.status_code == 201
    assert len(started) == 1
    organizer.portal.call(release.set)


def test_text_that_takes_too_long_to_extract_is_recorded_once_and_named_in_search(organizer, meeting, bomb, monkeypatch):
    from server import search
    organizer.app.state.text_indexer.timeout = 0.2
    calls = []
    extract = search.extract_text

    async def counted(path, timeout):
        calls.append(path)
        return await extract(path, timeout)
    monkeypatch.setattr(search, "extract_text", counted)

    uploaded = _upload(organizer, meeting, bomb, title="Tờ trình 12")
    first = organizer.get(f"/api/meetings/{meeting.id}/search", params={"q": "Ha"}).json()
    second = organizer.get(f"/api/meetings/{meeting.id}/search", params={"q": "Ha"}).json()

    assert uploaded.status_code == 201
    expected = {"document_id": uploaded.json()["id"], "title": "Tờ trình 12", "reason": "text could not be extracted"}
    assert expected in first["not_searched"] and expected in second["not_searched"]
    assert [p.read_bytes() for p in calls].count(bomb.read_bytes()) == 1


def test_a_thumbnail_that_takes_too_long_is_refused_with_a_sentence_and_not_drawn_again(organizer, meeting, bomb, monkeypatch):
    from server import thumbnails
    monkeypatch.setattr(thumbnails, "RENDER_TIMEOUT", 0.3)
    runs = []
    run = thumbnails._run

    async def counted(args, timeout):
        runs.append(args)
        return await run(args, timeout)
    monkeypatch.setattr(thumbnails, "_run", counted)
    doc = _upload(organizer, meeting, bomb, title="Tờ trình 12").json()["id"]

    first = organizer.get(f"/documents/{doc}/thumbnail", headers={"accept": "application/json"})
    second = organizer.get(f"/documents/{doc}/thumbnail", headers={"accept": "application/json"})

    assert first.status_code == second.status_code == 404
    assert first.json()["error"]["message"] == "The first page of this document could not be drawn, so it has no thumbnail. The document itself can still be opened."
    assert second.json() == first.json()
    assert len(runs) == 1
    assert organizer.get(f"/documents/{doc}").status_code == 200


# -- uploads ---------------------------------------------------------------------


def _upload(client, meeting, path, **params):
    params.setdefault("filename", path.name)
    return client.post(f"/api/meetings/{meeting.id}/documents", params=params,
                       content=path.read_bytes(), headers={"content-type": "application/pdf"})


def test_the_organizer_uploads_a_pdf_and_everyone_sees_it(organizer, allowed, meeting):
    response = _upload(organizer, meeting, DECREE, title="Nghị định 47/2020/NĐ-CP")

    assert response.status_code == 201
    assert "bytes follow the end of the PDF" in response.json()["notice"]
    titles = [d["title"] for d in allowed.get(f"/api/meetings/{meeting.id}/library").json()["documents"]]
    assert "Nghị định 47/2020/NĐ-CP" in titles


def test_a_delegate_cannot_upload(allowed, meeting):
    response = _upload(allowed, meeting, DECREE)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only the organizer may change the meeting's documents."


def test_an_upload_past_the_limit_is_refused(organizer, meeting, monkeypatch):
    import dataclasses
    app = organizer.app
    monkeypatch.setattr(app.state, "settings", dataclasses.replace(app.state.settings, max_upload_mb=1))

    response = _upload(organizer, meeting, SCANNED)

    assert response.status_code == 413
    assert response.json()["error"]["message"] == "The file is larger than 1 MB, the most this server accepts. Split it, or ask the administrator to raise PLENARY_MAX_UPLOAD_MB."


def test_a_non_pdf_upload_is_refused(organizer, meeting, tmp_path):
    fake = tmp_path / "to-trinh.pdf"
    fake.write_bytes(b"<html>not a pdf</html>")

    response = _upload(organizer, meeting, fake)

    assert response.status_code == 422
    assert response.json()["error"]["message"] == 'The file "to-trinh.pdf" is not a PDF, even though it may be named like one. Export it as PDF and upload the PDF.'


def test_an_upload_named_with_dot_dot_stays_in_the_store(organizer, meeting):
    response = _upload(organizer, meeting, DECREE, filename="../../../nghi-dinh.pdf")

    assert response.json()["filename"] == "nghi-dinh.pdf"


def test_replacing_with_a_stale_version_is_refused(organizer, meeting, doc_id):
    first = organizer.post(f"/api/documents/{doc_id}/replace", params={"version": 1, "filename": "a.pdf"},
                           content=DECREE.read_bytes())
    second = organizer.post(f"/api/documents/{doc_id}/replace", params={"version": 1, "filename": "b.pdf"},
                            content=SCANNED.read_bytes())

    assert first.status_code == 200 and first.json()["version"] == 2
    assert second.status_code == 409


# -- notes over HTTP -------------------------------------------------------------


def test_notes_follow_their_owner_to_another_device(meeting, login, doc_id):
    code = meeting.code("delegate")
    tablet, phone = login(code), login(code)

    tablet.post(f"/api/documents/{doc_id}/notes", json={"page": 1, "kind": "text",
                                                          "data": {"x": 0.1, "y": 0.1, "text": "Ghi chú"}})

    assert [n["data"]["text"] for n in phone.get(f"/api/documents/{doc_id}/notes").json()["notes"]] == ["Ghi chú"]
    other = login(meeting.code("delegate", 1))
    assert other.get(f"/api/documents/{doc_id}/notes").json()["notes"] == []


def test_the_notes_export_is_a_pdf(allowed, doc_id):
    allowed.post(f"/api/documents/{doc_id}/notes", json={"page": 1, "kind": "highlight",
                                                          "data": {"rects": [[0.1, 0.1, 0.3, 0.05]]}})

    response = allowed.get(f"/documents/{doc_id}/notes.pdf")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")


# -- offline book ----------------------------------------------------------------

DEVICE = "tablet-0001"


def test_the_book_holds_readable_documents_except_confidential_ones(allowed, meeting, restricted, organizer):
    _upload(organizer, meeting, DECREE, title="Nghị định")

    manifest = allowed.get(f"/api/meetings/{meeting.id}/book", params={"device": DEVICE}).json()

    assert [d["title"] for d in manifest["documents"]] == ["Nghị định"]
    assert manifest["revoked"] is False


def test_the_organizer_sees_who_has_the_book_and_withdraws_it(allowed, organizer, meeting):
    allowed.post(f"/api/meetings/{meeting.id}/book/taken", json={"device": DEVICE, "documents": 1, "size": 5})

    copies = organizer.get(f"/api/meetings/{meeting.id}/book-copies").json()["copies"]
    assert [(c["name"], c["state"]) for c in copies] == [("Đại diện Ban Pháp chế HĐND huyện", "taken")]

    _command(organizer, meeting, "book.revoke", {})
    assert allowed.get(f"/api/meetings/{meeting.id}/book", params={"device": DEVICE}).json() == {"revoked": True, "documents": []}
    allowed.post(f"/api/meetings/{meeting.id}/book/deleted", json={"device": DEVICE})
    copies = organizer.get(f"/api/meetings/{meeting.id}/book-copies").json()["copies"]
    assert copies[0]["state"] == "deleted"


def test_a_delegate_cannot_see_who_has_the_book(allowed, meeting):
    response = allowed.get(f"/api/meetings/{meeting.id}/book-copies")

    assert response.status_code == 403


def test_the_organizer_ends_a_participants_sessions(organizer, allowed, meeting):
    person = next(p for p in meeting.people.values() if p.group_name == ALLOWED_GROUP)

    response = organizer.post(f"/api/meetings/{meeting.id}/participants/{person.id}/end-sessions")

    assert response.json()["ended"] == 1
    after = allowed.get(f"/api/meetings/{meeting.id}/library")
    assert after.status_code == 401


def test_ending_sessions_logs_the_open_tablet_out_and_frees_its_connection(organizer, allowed, meeting):
    from starlette.websockets import WebSocketDisconnect
    person = next(p for p in meeting.people.values() if p.group_name == ALLOWED_GROUP)
    hub = allowed.app.state.hub
    ws, _ = _join(allowed, meeting)
    try:
        response = organizer.post(f"/api/meetings/{meeting.id}/participants/{person.id}/end-sessions")
        goodbye = _receive(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            _receive(ws)
    finally:
        ws.__exit__(None, None, None)

    assert response.status_code == 200 and response.json()["ended"] == 1
    assert goodbye["type"] == "error"
    assert goodbye["message"] == "The organizer has ended your session. Please log in again with your access code."
    assert closed.value.code == 4401
    assert person.id not in hub.connected_ids(meeting.id)
    assert all(c.viewer.participant_id != person.id for c in hub.connections())
    assert allowed.get(f"/api/meetings/{meeting.id}/library").status_code == 401


def test_a_delegate_cannot_end_sessions(allowed, meeting):
    person = next(iter(meeting.people.values()))

    assert allowed.post(f"/api/meetings/{meeting.id}/participants/{person.id}/end-sessions").status_code == 403


def test_the_service_worker_may_serve_the_whole_site(client):
    response = client.get("/sw.js")

    assert response.headers["service-worker-allowed"] == "/"
