"""Files that an agenda file refers to: attached PDF documents and the CSV list.

A referenced file must lie inside the folder of the agenda file (after following
symbolic links), so that an agenda file cannot reach into the rest of the disk.
A document counts as a PDF by its content, not by its name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from server import _agendamessages as msg
from server._agendafields import FieldReader, Place, clean_text
from server._agendaspec import DocumentSpec

DOCUMENT_FIELDS = ("path", "title", "confidential")
PATH_LIMIT = 1_000
TITLE_LIMIT = 500
# PDF readers accept the header anywhere in the first kilobyte.
PDF_MAGIC = b"%PDF-"
PDF_HEADER_WINDOW = 1024


def locate(reader: FieldReader, folder: Path, raw: str, where: str) -> Path | None:
    """The file that `raw` names relative to `folder`, if it is safe and present."""
    try:
        path = (folder / raw).resolve()
        inside = path.is_relative_to(folder)
        present = inside and path.is_file()
    except (OSError, ValueError):
        inside, present = True, False
    if not inside:
        reader.report(where, msg.OUTSIDE.format(path=raw))
        return None
    if not present:
        reader.report(where, msg.NOT_FOUND.format(path=raw))
        return None
    return path


def is_pdf(path: Path) -> bool:
    with path.open("rb") as handle:
        return PDF_MAGIC in handle.read(PDF_HEADER_WINDOW)


def digest(path: Path) -> tuple[str, int]:
    """The SHA-256 hex digest and the size in bytes of a file."""
    with path.open("rb") as handle:
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    return sha256, path.stat().st_size


def read_documents(
    reader: FieldReader, table: dict[str, Any], place: Place, folder: Path
) -> list[DocumentSpec]:
    documents = []
    for entry_place, entry in reader.tables(table, "documents", place, "document"):
        document = read_document(reader, entry, entry_place, folder)
        if document is not None:
            documents.append(document)
    return documents


def read_document(
    reader: FieldReader, table: dict[str, Any], place: Place, folder: Path
) -> DocumentSpec | None:
    reader.check_fields(table, DOCUMENT_FIELDS, place)
    title = reader.text(table, "title", place, TITLE_LIMIT)
    confidential = reader.flag(table, "confidential", place)
    if reader.text(table, "path", place, PATH_LIMIT, required=True) is None:
        return None

    # The path is used as written: file names on disk need not be in NFC.
    raw = table["path"].strip()
    path = locate(reader, folder, raw, place.of("path"))
    if path is None:
        return None
    if not is_pdf(path):
        reader.report(place.of("path"), msg.NOT_PDF.format(path=raw))
        return None

    sha256, size = digest(path)
    title = title or default_title(path)
    return DocumentSpec(path, title, sha256, size, confidential)


def default_title(path: Path) -> str:
    """The title a document gets when the agenda file gives none: its file name."""
    return clean_text(path.stem)
