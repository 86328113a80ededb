"""Helpers for the document tests: real PDFs, made-up bad ones, viewers by role."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from server.access import Viewer, viewer_for
from server.library import PreparedFile, inspect_pdf
from server.documents import hash_file, store_file

PDF_DIR = Path(__file__).resolve().parent / "data" / "pdfs"
INVITATION = PDF_DIR / "vn-giay-moi-06-GM-HDND-tuan-giao-2020-signed.pdf"
DECREE = PDF_DIR / "vn-nghi-dinh-47-2020-ND-CP-vgca-signed.pdf"
SCANNED = PDF_DIR / "vn-thong-bao-79-TB-VPCP-2022-scanned.pdf"


def viewer_of(meeting, role: str, index: int = 0) -> Viewer:
    return viewer_for(meeting.people[meeting.code(role, index)])


def prepared(documents_dir: Path, path: Path) -> PreparedFile:
    """A file put into the store as an upload would be."""
    sha = store_file(documents_dir, path)
    facts = inspect_pdf(path, path.name)
    return PreparedFile(sha, path.stat().st_size, facts.pages, path.name, facts.notice)


def encrypted_copy(source: Path, target: Path, password: str = "mat-khau") -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=password, owner_password="chu-so-huu")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def first_pages(source: Path, target: Path, count: int) -> Path:
    reader = PdfReader(source)
    writer = PdfWriter()
    for page in reader.pages[:count]:
        writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    target.write_bytes(buffer.getvalue())
    return target


__all__ = ["DECREE", "INVITATION", "PDF_DIR", "SCANNED", "encrypted_copy", "first_pages",
           "hash_file", "prepared", "viewer_of"]
