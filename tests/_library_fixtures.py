"""Helpers for the document tests: real PDFs, made-up bad ones, viewers by role."""

from __future__ import annotations

import io
import zlib
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


def compression_bomb(target: Path, megabytes: float) -> Path:
    """A valid one-page PDF of a few KB whose page inflates to ``megabytes`` of
    drawing and text operators: slow to draw and to read, cheap to upload."""
    operator = b"BT /F1 12 Tf 10 10 Td (Ha) Tj ET 0 0 m 500 700 l S\n"
    content = zlib.compress(operator * int(megabytes * (1 << 20) / len(operator)), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    target.write_bytes(bytes(out))
    return target


__all__ = ["compression_bomb", "DECREE", "INVITATION", "PDF_DIR", "SCANNED", "encrypted_copy", "first_pages",
           "hash_file", "prepared", "viewer_of"]
