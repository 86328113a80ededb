"""Watermarks on confidential documents (server/watermark.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from pypdf import PdfReader

from server import watermark
from server.search import read_text
from tests._library_fixtures import DECREE, INVITATION, SCANNED, encrypted_copy

WHEN = datetime(2020, 11, 16, 7, 5, tzinfo=timezone.utc)


def test_the_text_names_the_reader_and_the_local_time():
    text = watermark.watermark_text("Đại diện Ban Pháp chế HĐND huyện", WHEN, "Asia/Ho_Chi_Minh")

    assert text == "Đại diện Ban Pháp chế HĐND huyện · 16/11/2020 14:05"


def test_every_page_carries_the_stamp_with_every_tone_mark(tmp_path):
    target = tmp_path / "stamped.pdf"
    text = watermark.watermark_text("Trần Bình Trọng", WHEN, "Asia/Ho_Chi_Minh")

    pages = watermark.stamp_pdf(DECREE, target, text)
    read = read_text(target)

    assert pages == 31 and len(read.pages) == 31
    assert all("Trần Bình Trọng · 16/11/2020 14:05" in page for page in read.pages)
    assert "Quản lý, kết nối và chia sẻ dữ liệu số" in read.pages[0]


def test_the_stored_original_is_not_changed(tmp_path):
    before = INVITATION.read_bytes()

    watermark.stamp_pdf(INVITATION, tmp_path / "stamped.pdf", "Người đọc · 16/11/2020 14:05")

    assert INVITATION.read_bytes() == before


def test_a_scanned_document_gets_the_stamp_over_its_images(tmp_path):
    target = tmp_path / "stamped.pdf"

    watermark.stamp_pdf(SCANNED, target, "Người đọc · 16/11/2020 14:05")

    assert all("Người đọc" in page for page in read_text(target).pages)


def test_a_pdf_encrypted_without_an_open_password_is_stamped(tmp_path):
    source = encrypted_copy(INVITATION, tmp_path / "owner-only.pdf", password="")

    watermark.stamp_pdf(source, tmp_path / "stamped.pdf", "Người đọc · 16/11/2020 14:05")

    assert not PdfReader(tmp_path / "stamped.pdf").is_encrypted
