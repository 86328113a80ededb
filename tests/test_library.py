"""The document library: uploads, checks, versions and access (server/library.py)."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest
from sqlmodel import select

from server import library
from server.documents import blob_path, can_download, can_read, get_policy
from server.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from server.models import Document, DocumentVersion, Event
from tests._library_fixtures import (
    DECREE, INVITATION, SCANNED, encrypted_copy, prepared, viewer_of,
)
from tests._meeting_fixtures import next_command_id

MB = 1 << 20


def _run(store, viewer, name, args):
    from server.commands import execute
    return store.write_sync(execute, viewer, name, next_command_id(), args)


async def _chunks(total_mb: int, counter: list[int]):
    block = b"%PDF-1.7\n" + b"0" * (MB - 9)
    for _ in range(total_mb):
        counter[0] += 1
        yield block


# -- receiving uploads -----------------------------------------------------------


def test_a_300_mb_upload_is_refused_past_the_limit_without_reading_the_rest(tmp_path):
    read = [0]
    tracemalloc.start()

    with pytest.raises(library.UploadTooLargeError) as caught:
        asyncio.run(library.receive_upload(_chunks(300, read), tmp_path, 20 * MB))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert caught.value.message == "The file is larger than 20 MB, the most this server accepts. Split it, or ask the administrator to raise PLENARY_MAX_UPLOAD_MB."
    assert read[0] == 21
    assert peak < 8 * MB
    assert list(tmp_path.iterdir()) == []


def test_an_upload_announced_as_too_large_is_refused_before_reading(tmp_path):
    read = [0]

    with pytest.raises(library.UploadTooLargeError):
        asyncio.run(library.receive_upload(_chunks(300, read), tmp_path, 20 * MB,
                                           declared=300 * MB))

    assert read[0] == 0


def test_an_upload_is_hashed_while_it_is_written(tmp_path):
    async def body():
        yield INVITATION.read_bytes()

    upload = asyncio.run(library.receive_upload(body(), tmp_path, 20 * MB))

    assert upload.size == INVITATION.stat().st_size
    assert upload.path.read_bytes() == INVITATION.read_bytes()
    from server.documents import hash_file
    assert upload.sha256 == hash_file(INVITATION)


def test_an_empty_upload_is_refused(tmp_path):
    async def body():
        yield b""

    with pytest.raises(InvalidInputError) as caught:
        asyncio.run(library.receive_upload(body(), tmp_path, MB))

    assert caught.value.message == "The file is empty. Choose the PDF again and upload it."


@pytest.mark.parametrize("typed, kept", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\báo cáo.pdf", "báo cáo.pdf"),
    ("/abs/path/Tờ trình.pdf", "Tờ trình.pdf"),
    ("..", "document.pdf"),
    ("a\x00b\nc.pdf", "abc.pdf"),
])
def test_a_file_name_never_becomes_a_path(typed, kept):
    assert library.safe_filename(typed) == kept


# -- checking PDFs ---------------------------------------------------------------


def test_a_file_that_claims_to_be_a_pdf_but_is_not_is_refused(tmp_path):
    fake = tmp_path / "bao-cao.pdf"
    fake.write_bytes(b"PK\x03\x04 this is a zip file renamed to .pdf")

    with pytest.raises(InvalidInputError) as caught:
        library.inspect_pdf(fake, "bao-cao.pdf")

    assert caught.value.message == 'The file "bao-cao.pdf" is not a PDF, even though it may be named like one. Export it as PDF and upload the PDF.'


def test_a_broken_pdf_is_refused_as_damaged(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(DECREE.read_bytes()[:4000])

    with pytest.raises(InvalidInputError) as caught:
        library.inspect_pdf(broken, "broken.pdf")

    assert caught.value.message == 'The file "broken.pdf" is damaged: no page of it can be read. Open it on your computer, save it as PDF again and upload the new file.'


def test_a_pdf_locked_with_a_password_is_refused(tmp_path):
    locked = encrypted_copy(INVITATION, tmp_path / "locked.pdf")

    with pytest.raises(InvalidInputError) as caught:
        library.inspect_pdf(locked, "locked.pdf")

    assert caught.value.message == 'The file "locked.pdf" is locked with a password, so tablets cannot open it. Save a copy without the password and upload that.'


def test_a_pdf_encrypted_without_an_open_password_is_accepted(tmp_path):
    locked = encrypted_copy(INVITATION, tmp_path / "owner-only.pdf", password="")

    assert library.inspect_pdf(locked, "owner-only.pdf").pages == 1


def test_the_scanned_pdf_with_syntax_errors_is_accepted():
    assert library.inspect_pdf(SCANNED, SCANNED.name).pages == 5


def test_bytes_after_the_end_of_a_signed_pdf_are_kept_with_a_notice(tmp_path):
    facts = library.inspect_pdf(DECREE, DECREE.name)

    assert facts.pages == 31
    assert facts.notice.endswith("bytes follow the end of the PDF; they were kept unchanged so that its signatures stay verifiable.")
    assert library.trailing_bytes(INVITATION) == 0


def test_an_office_file_is_refused_with_the_reason_when_libreoffice_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(library.shutil, "which", lambda name: None)
    upload = tmp_path / "upload.part"
    upload.write_bytes(b"PK\x03\x04 docx")
    received = library.Upload(upload, "0" * 64, upload.stat().st_size)

    with pytest.raises(InvalidInputError) as caught:
        library.prepare_upload(tmp_path / "store", received, "Tờ trình.docx")

    assert caught.value.message == '"Tờ trình.docx" is an office file. This server cannot convert it to PDF because LibreOffice is not installed on it. Save the file as PDF on your computer and upload the PDF.'
    assert not upload.exists()


def test_a_checked_upload_lands_in_the_store_under_its_hash(tmp_path):
    upload = tmp_path / "upload.part"
    upload.write_bytes(INVITATION.read_bytes())
    from server.documents import hash_file
    received = library.Upload(upload, hash_file(INVITATION), upload.stat().st_size)

    result = library.prepare_upload(tmp_path / "store", received, "../giay-moi.pdf")

    assert result.filename == "giay-moi.pdf" and result.pages == 1
    assert blob_path(tmp_path / "store", result.sha256).read_bytes() == INVITATION.read_bytes()


# -- adding and replacing --------------------------------------------------------


@pytest.fixture
def docs_dir(client):
    return client.app.state.settings.documents_dir


def test_the_organizer_adds_a_document_to_an_agenda_item(client, meeting, docs_dir):
    store = client.app.state.store
    organizer = viewer_of(meeting, "organizer")

    view = store.write_sync(library.add_document, organizer, prepared(docs_dir, DECREE),
                            "Nghị định 47/2020/NĐ-CP", None, False)

    assert view["title"] == "Nghị định 47/2020/NĐ-CP" and view["version"] == 1
    assert "bytes follow the end of the PDF" in view["notice"]


def test_a_delegate_may_not_add_a_document(client, meeting, docs_dir):
    store = client.app.state.store

    with pytest.raises(NotAllowedError) as caught:
        store.write_sync(library.add_document, viewer_of(meeting, "delegate"),
                         prepared(docs_dir, DECREE), "x", None, False)

    assert caught.value.message == "Only the organizer may change the meeting's documents."


def test_a_document_cannot_go_to_an_agenda_item_of_another_meeting(client, meeting, docs_dir):
    with pytest.raises(NotFoundError) as caught:
        client.app.state.store.write_sync(library.add_document, viewer_of(meeting, "organizer"),
                                          prepared(docs_dir, DECREE), "x", 9999, False)

    assert caught.value.message == "Agenda item 9999 does not exist in this meeting."


def _imported_document(store) -> Document:
    return store.read_sync(lambda s: s.exec(select(Document)).first())


def test_replacing_keeps_the_old_file_as_a_superseded_version(client, meeting, docs_dir):
    store = client.app.state.store
    doc = _imported_document(store)
    old_sha = doc.sha256

    view = store.write_sync(library.replace_document, viewer_of(meeting, "organizer"),
                            doc.id, prepared(docs_dir, DECREE), 1)
    versions = store.read_sync(library.list_versions, viewer_of(meeting, "organizer"), doc.id)

    assert view["version"] == 2
    assert [(v["number"], v["superseded"]) for v in versions] == [(2, False), (1, True)]
    assert versions[1]["sha256"] == old_sha and blob_path(docs_dir, old_sha).exists()


def test_two_organizers_replacing_the_same_document_at_once_the_second_is_refused(client, meeting, docs_dir):
    store = client.app.state.store
    doc = _imported_document(store)
    organizer = viewer_of(meeting, "organizer")
    first = store.submit(library.replace_document, organizer, doc.id,
                         prepared(docs_dir, DECREE), 1)
    second = store.submit(library.replace_document, organizer, doc.id,
                          prepared(docs_dir, SCANNED), 1)

    assert first.result()["version"] == 2
    with pytest.raises(ConflictError) as caught:
        second.result()
    assert caught.value.message == "Someone else replaced this document a moment ago; it is now at version 2. Look at the new version, then replace it again if you still need to."
    assert store.read_sync(lambda s: s.get(Document, doc.id).sha256) == prepared(docs_dir, DECREE).sha256


def test_replacing_with_the_same_file_is_refused(client, meeting, docs_dir):
    store = client.app.state.store
    doc = _imported_document(store)

    with pytest.raises(ConflictError) as caught:
        store.write_sync(library.replace_document, viewer_of(meeting, "organizer"), doc.id,
                         prepared(docs_dir, INVITATION), None)

    assert caught.value.message == "This file is the same as the current version of the document."


# -- access ----------------------------------------------------------------------


def _set_access(client, meeting, **args):
    doc = _imported_document(client.app.state.store)
    return _run(client.app.state.store, viewer_of(meeting, "organizer"), "document.access",
                {"document_id": doc.id, **args})


def _can(client, meeting, role):
    store = client.app.state.store
    doc = _imported_document(store)
    policy = store.read_sync(get_policy, doc.id)
    return can_read(viewer_of(meeting, role), doc, policy)


def test_an_open_document_is_read_by_everyone(client, meeting):
    assert all(_can(client, meeting, role) for role in
               ("organizer", "chair", "secretary", "delegate", "guest"))


def test_a_confidential_document_without_a_list_is_read_by_staff_only(client, meeting):
    _set_access(client, meeting, confidential=True)

    assert [_can(client, meeting, r) for r in ("organizer", "chair", "secretary", "delegate", "guest")] == [True, True, True, False, False]


def test_an_access_list_by_group_lets_in_that_group_only(client, meeting):
    _set_access(client, meeting, confidential=True, groups=["Ban Pháp chế HĐND huyện"])
    store = client.app.state.store
    doc = _imported_document(store)
    policy = store.read_sync(get_policy, doc.id)
    delegates = [viewer_of(meeting, "delegate", i) for i in range(5)]

    allowed = [d.group for d in delegates if can_read(d, doc, policy)]

    assert allowed == ["Ban Pháp chế HĐND huyện"]
    assert not _can(client, meeting, "chair") and _can(client, meeting, "organizer")


def test_an_access_list_by_role(client, meeting):
    _set_access(client, meeting, roles=["chair", "delegate"])

    assert [_can(client, meeting, r) for r in ("chair", "secretary", "delegate", "guest")] == [True, False, True, False]


def test_an_unknown_role_in_an_access_list_is_refused(client, meeting):
    with pytest.raises(InvalidInputError) as caught:
        _set_access(client, meeting, roles=["president"])

    assert caught.value.message == "There is no role called president; the roles are organizer, chair, secretary, delegate, guest."


def test_only_the_organizer_sets_access(client, meeting):
    doc = _imported_document(client.app.state.store)

    with pytest.raises(NotAllowedError) as caught:
        _run(client.app.state.store, viewer_of(meeting, "chair"), "document.access",
             {"document_id": doc.id, "confidential": True})

    assert caught.value.message == "You may not set who may read a document."


def test_downloads_can_be_forbidden_per_document(client, meeting):
    _set_access(client, meeting, download=False)
    store = client.app.state.store
    doc = _imported_document(store)
    policy = store.read_sync(get_policy, doc.id)

    assert not can_download(viewer_of(meeting, "delegate"), doc, policy)
    assert can_read(viewer_of(meeting, "delegate"), doc, policy)
    assert can_download(viewer_of(meeting, "organizer"), doc, policy)


def test_a_change_of_access_is_announced_only_to_those_who_may_read(client, meeting):
    _set_access(client, meeting, confidential=True, groups=["Ban Pháp chế HĐND huyện"])
    store = client.app.state.store
    seen = store.read_sync(lambda s: len(list(s.exec(select(Event)))))

    _set_access(client, meeting, confidential=True, groups=["Ban Dân tộc HĐND huyện"])

    events = store.read_sync(lambda s: list(s.exec(select(Event)))[seen:])
    people = {meeting.people[c].id: meeting.people[c] for c in meeting.people}
    groups = {people[int(e.audience.split(":")[1])].group_name for e in events}
    assert all(e.type == "library.changed" for e in events)
    assert "Ban Kinh tế - Xã hội HĐND huyện" not in groups
    assert {"Ban Pháp chế HĐND huyện", "Ban Dân tộc HĐND huyện"} <= groups
    assert json.loads(events[-1].payload) == {"document_id": _imported_document(store).id}


def test_a_removed_document_is_read_by_nobody(client, meeting):
    store = client.app.state.store
    doc = _imported_document(store)

    _run(store, viewer_of(meeting, "organizer"), "document.remove", {"document_id": doc.id})

    assert not _can(client, meeting, "organizer")
    with pytest.raises(NotFoundError) as caught:
        store.read_sync(library.get_readable, viewer_of(meeting, "organizer"), doc.id)
    assert caught.value.message == "This document does not exist or is not shared with you."


def test_the_first_version_of_an_imported_document_is_listed(client, meeting):
    store = client.app.state.store
    doc = _imported_document(store)

    versions = store.read_sync(library.list_versions, viewer_of(meeting, "delegate"), doc.id)

    assert [(v["number"], v["superseded"], v["sha256"]) for v in versions] == [(1, False, doc.sha256)]
    assert store.read_sync(lambda s: list(s.exec(select(DocumentVersion)))) == []
