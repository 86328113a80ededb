"""Full-text search with and without Vietnamese tone marks (server/search.py)."""

from __future__ import annotations

import pytest

from server import library, search
from server.errors import InvalidInputError
from tests._library_fixtures import (
    DECREE,
    INVITATION,
    SCANNED,
    compression_bomb,
    prepared,
    viewer_of,
)
from tests._meeting_fixtures import next_command_id


def test_folding_drops_tone_marks_and_reads_d_for_the_crossed_d():
    assert search.fold("Nghị Định số 47/2020/NĐ-CP") == "nghi dinh so 47/2020/nd-cp"
    assert search.fold("Hội   đồng\nnhân dân") == "hoi dong nhan dan"


def test_a_query_has_marks_when_it_carries_tone_marks():
    assert search.has_marks("Giấy mời") and not search.has_marks("giay moi")


def test_the_text_of_each_page_is_read():
    read = search.read_text(DECREE)

    assert read.state == "text" and len(read.pages) == 31
    assert "Quản lý, kết nối và chia sẻ dữ liệu số" in read.pages[0]


def test_a_scanned_pdf_with_syntax_errors_has_no_text_layer():
    read = search.read_text(SCANNED)

    assert read.state == "none"


def test_a_file_no_reader_can_open_is_unreadable(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n garbage")

    assert search.read_text(broken).state == "unreadable"


def test_text_that_takes_too_long_to_read_is_given_up(tmp_path):
    bomb = compression_bomb(tmp_path / "bomb.pdf", 10)

    assert search.read_text(bomb, timeout=0.2).state == "timeout"


async def test_text_extraction_in_the_background_is_given_up_after_its_timeout(tmp_path):
    bomb = compression_bomb(tmp_path / "bomb.pdf", 10)

    read = await search.extract_text(bomb, timeout=0.2)

    assert read.state == "timeout" and read.pages == []


async def test_text_extraction_in_the_background_reads_every_page():
    read = await search.extract_text(DECREE, timeout=30)

    assert read.state == "text" and len(read.pages) == 31


def test_a_document_whose_text_was_not_read_yet_is_named_in_the_results(client, meeting):
    found = _search(client.app.state.store, meeting, "delegate", "giay moi")

    assert [silent["reason"] for silent in found["not_searched"]] == ["not read yet"]


@pytest.fixture
def searchable(client, meeting):
    """The meeting with the decree and the scanned notice added, text indexed."""
    store = client.app.state.store
    docs_dir = client.app.state.settings.documents_dir
    organizer = viewer_of(meeting, "organizer")
    for path, title in ((DECREE, "Nghị định 47"), (SCANNED, "Thông báo 79")):
        store.write_sync(library.add_document, organizer, prepared(docs_dir, path), title, None, False)
    search.index_files(store, docs_dir, store.read_sync(search.missing_text, meeting.id))
    return store


def _search(store, meeting, role, query):
    return store.read_sync(search.search_meeting, meeting.id, viewer_of(meeting, role), query)


def test_a_query_without_tone_marks_finds_the_words_with_them(searchable, meeting):
    found = _search(searchable, meeting, "delegate", "giay moi")

    assert [(h["title"], h["page"]) for h in found["hits"]] == [("Giấy mời số 06/GM-HĐND ngày 12/11/2020", 1)]
    assert "GIẤY MỜI" in found["hits"][0]["snippet"]


def test_a_query_with_tone_marks_finds_only_that_spelling(searchable, meeting):
    with_marks = _search(searchable, meeting, "delegate", "dữ liệu số")
    other_spelling = _search(searchable, meeting, "delegate", "dư liêu sô")

    assert with_marks["hits"] and with_marks["hits"][0]["title"] == "Nghị định 47"
    assert "dữ liệu số" in with_marks["hits"][0]["snippet"]
    assert other_spelling["hits"] == []


def test_case_does_not_matter(searchable, meeting):
    assert _search(searchable, meeting, "delegate", "TUẦN GIÁO")["hits"]


def test_a_scanned_document_is_listed_as_having_no_text_layer(searchable, meeting):
    found = _search(searchable, meeting, "delegate", "ket luan")

    assert found["not_searched"] == [{"document_id": found["not_searched"][0]["document_id"],
                                      "title": "Thông báo 79", "reason": "no text layer"}]


def test_hits_never_come_from_a_document_the_viewer_may_not_read(searchable, meeting):
    from server.commands import execute
    from server.documents import readable_documents
    organizer = viewer_of(meeting, "organizer")
    doc = [d for d, _ in searchable.read_sync(readable_documents, meeting.id, organizer)
           if d.title == "Nghị định 47"][0]
    searchable.write_sync(execute, organizer, "document.access", next_command_id(),
                          {"document_id": doc.id, "confidential": True})

    assert _search(searchable, meeting, "delegate", "du lieu so")["hits"] == []
    assert _search(searchable, meeting, "chair", "du lieu so")["hits"]


def test_a_query_of_one_letter_is_refused(searchable, meeting):
    with pytest.raises(InvalidInputError) as caught:
        _search(searchable, meeting, "delegate", " a ")

    assert caught.value.message == "Type at least 2 letters to search."


def test_the_same_file_is_read_once(searchable, meeting):
    assert searchable.read_sync(search.missing_text, meeting.id) == []
