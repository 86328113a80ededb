"""The document library: uploads, versions, and who may read each document.

Rules:
- Only the organizer adds, replaces and removes documents and sets who may read
  them; documents also come from agenda files (server/agendaimport.py).
- An upload is streamed to disk and refused as soon as it passes the limit
  (PLENARY_MAX_UPLOAD_MB); it is never held in memory as a whole.
- An upload must be a PDF that a reader can open: it starts like a PDF, has at
  least one page and is not locked with a password. Bytes after the end of the
  PDF (some signing services leave them) are kept unchanged so the signatures
  stay verifiable, and the organizer is told.
- Office files are converted to PDF with LibreOffice where the server has it;
  where it does not, the organizer is told to upload a PDF instead.
- Replacing a document keeps the file it had as a superseded version. When two
  organizers replace the same document at once, the second is refused and told
  to look at the new version first.
- A file name never becomes a path: "../" and folders are dropped from it.
- Every path to a document (file, page, thumbnail, search hit, pushed event)
  answers a viewer who may not read it exactly as if it did not exist.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from server.access import Viewer
from server.commands import command
from server.documents import (
    can_read,
    document_view,
    get_policy,
    is_restricted,
    move_into_store,
)
from server.errors import (
    ConflictError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from server.eventlog import AUDIENCE_ALL, person_audience, record_event
from server.models import (
    ROLES,
    AgendaItem,
    Document,
    DocumentPolicy,
    DocumentVersion,
    Meeting,
    Participant,
    utcnow,
)

log = logging.getLogger(__name__)
ORGANIZER = frozenset({"organizer"})
OFFICE_SUFFIXES = {".doc", ".docx", ".odt", ".rtf", ".xls", ".xlsx", ".ods",
                   ".ppt", ".pptx", ".odp"}
HEAD_BYTES = 1024
TAIL_BYTES = 4096
CONVERT_TIMEOUT = 180
STALE_UPLOAD_SECONDS = 3600  # an upload that wrote nothing for an hour is dead
NOT_SHARED = "This document does not exist or is not shared with you."


class UploadTooLargeError(InvalidInputError):
    code = "too_large"
    status = 413


@dataclass
class Upload:
    """A file received into the upload folder, not yet checked."""

    path: Path
    sha256: str
    size: int


@dataclass
class PreparedFile:
    """A checked PDF in the store, ready to become a document version."""

    sha256: str
    size: int
    pages: int
    filename: str
    notice: str = ""


# -- receiving -------------------------------------------------------------------


def safe_filename(name: str, fallback: str = "document.pdf") -> str:
    """The last part of a name as typed, without folders, ``..`` or control characters."""
    last = name.replace("\\", "/").split("/")[-1]
    last = "".join(ch for ch in last if ch.isprintable()).strip().strip(".")
    return last[:200] or fallback


def ensure_size(declared: int | None, limit: int) -> None:
    if declared is not None and declared > limit:
        raise UploadTooLargeError("The file is larger than {mb} MB, the most this server accepts. Split it, or ask the administrator to raise PLENARY_MAX_UPLOAD_MB.", mb=limit // (1 << 20))


async def receive_upload(chunks: AsyncIterator[bytes], folder: Path, limit: int,
                         declared: int | None = None) -> Upload:
    """Write an upload to a new file in ``folder`` while hashing it.

    Reading stops at the first byte past ``limit``: the rest is never read.
    """
    ensure_size(declared, limit)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload-{secrets.token_hex(8)}.part"
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    ensure_size(size, limit)
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InvalidInputError("The file is empty. Choose the PDF again and upload it.")
    return Upload(path, digest.hexdigest(), size)


def remove_stale_uploads(documents_dir: Path, older_than: float = STALE_UPLOAD_SECONDS) -> int:
    """Delete what uploads cut off by a crash left behind; return how many.

    An upload in progress writes its part file all the time, so a part file or a
    work folder untouched for ``older_than`` seconds belongs to no live upload
    (another server sharing the folder may still be receiving a fresh one).
    """
    folder = documents_dir / "uploads"
    if not folder.is_dir():
        return 0
    removed, limit = 0, time.time() - older_than
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime >= limit:
                continue
        except FileNotFoundError:  # finished a moment ago
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.warning("Removed %d leftover upload file(s) of interrupted uploads.", removed)
    return removed


# -- checking --------------------------------------------------------------------


@dataclass
class PdfFacts:
    pages: int
    notice: str = ""


def inspect_pdf(path: Path, filename: str) -> PdfFacts:
    """Check that a file is a PDF a tablet can show; raise with the reason if not."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if b"%PDF-" not in head:
        raise InvalidInputError('The file "{name}" is not a PDF, even though it may be named like one. Export it as PDF and upload the PDF.', name=filename)
    pages = _count_pages(path, filename)
    trailing = trailing_bytes(path)
    notice = ""
    if trailing:
        notice = f"{trailing} bytes follow the end of the PDF; they were kept unchanged so that its signatures stay verifiable."
    return PdfFacts(pages, notice)


def _count_pages(path: Path, filename: str) -> int:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password")
        pages = len(reader.pages)
    except FileNotDecryptedError:
        raise InvalidInputError('The file "{name}" is locked with a password, so tablets cannot open it. Save a copy without the password and upload that.', name=filename) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError,
            IndexError, RecursionError, NotImplementedError) as exc:
        log.warning("Refused a damaged PDF %s: %s", filename, exc)
        raise InvalidInputError('The file "{name}" is damaged: no page of it can be read. Open it on your computer, save it as PDF again and upload the new file.', name=filename) from None
    if pages < 1:
        raise InvalidInputError('The file "{name}" has no pages. Upload the complete PDF.', name=filename)
    return pages


def trailing_bytes(path: Path) -> int:
    """How many bytes follow the last ``%%EOF`` marker (line ends not counted)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    at = tail.rfind(b"%%EOF")
    if at < 0:
        return 0
    return len(tail[at + 5:].strip(b"\r\n\x00 "))


def convert_office(path: Path, filename: str, workdir: Path) -> Path:
    """Convert an office file to PDF with LibreOffice, or say why it cannot be."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise InvalidInputError('"{name}" is an office file. This server cannot convert it to PDF because LibreOffice is not installed on it. Save the file as PDF on your computer and upload the PDF.', name=filename)
    source = workdir / ("source" + Path(filename).suffix.lower())
    os.replace(path, source)
    try:
        subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir",
                        str(workdir), str(source)], capture_output=True,
                       timeout=CONVERT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pass
    result = source.with_suffix(".pdf")
    if not result.exists():
        raise InvalidInputError('LibreOffice could not convert "{name}" to PDF. Save it as PDF on your computer and upload the PDF.', name=filename)
    return result


def prepare_upload(documents_dir: Path, upload: Upload, filename: str) -> PreparedFile:
    """Convert if needed, check, and move an upload into the store (blocking)."""
    filename = safe_filename(filename)
    path, sha256, size = upload.path, upload.sha256, upload.size
    with tempfile.TemporaryDirectory(dir=upload.path.parent) as work:
        try:
            if Path(filename).suffix.lower() in OFFICE_SUFFIXES:
                path = convert_office(path, filename, Path(work))
                filename = str(Path(filename).with_suffix(".pdf"))
                from server.documents import hash_file
                sha256, size = hash_file(path), path.stat().st_size
            facts = inspect_pdf(path, filename)
            move_into_store(documents_dir, path, sha256)
        finally:
            upload.path.unlink(missing_ok=True)
    return PreparedFile(sha256, size, facts.pages, filename, facts.notice)


# -- the library -----------------------------------------------------------------


def ensure_organizer(viewer: Viewer) -> None:
    if viewer.role != "organizer":
        raise NotAllowedError("Only the organizer may change the meeting's documents.")


def get_readable(session: Session, viewer: Viewer,
                 document_id: int) -> tuple[Document, DocumentPolicy | None]:
    """The document and its policy, if ``viewer`` may read it; else not found."""
    doc = session.get(Document, document_id)
    policy = get_policy(session, document_id) if doc is not None else None
    if doc is None or not can_read(viewer, doc, policy):
        raise NotFoundError(NOT_SHARED)
    return doc, policy


def reader_audiences(session: Session, doc: Document,
                     policy: DocumentPolicy | None) -> list[str]:
    """Where events about ``doc`` may go: everyone, or each allowed person."""
    if not is_restricted(doc, policy):
        return [AUDIENCE_ALL]
    stmt = select(Participant).where(Participant.meeting_id == doc.meeting_id,
                                     Participant.active == True)  # noqa: E712
    found = []
    for person in session.exec(stmt.order_by(col(Participant.id))):
        viewer = Viewer(doc.meeting_id, person.role, person.id, person.name,
                        person.group_name)
        if can_read(viewer, doc, policy):
            found.append(person_audience(person.id))
    return found


def announce_change(session: Session, doc: Document, audiences: list[str],
                    actor: Viewer) -> None:
    """Tell the tablets that may read ``doc`` (now or before) to reload the list."""
    for audience in dict.fromkeys(audiences):
        record_event(session, doc.meeting_id, "library.changed",
                     {"document_id": doc.id}, audience=audience,
                     actor_id=actor.participant_id)


def _ensure_item(session: Session, meeting_id: int, item_id: int | None) -> None:
    if item_id is None:
        return
    item = session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id or item.removed:
        raise NotFoundError("Agenda item {item} does not exist in this meeting.", item=item_id)


def add_document(session: Session, viewer: Viewer, prepared: PreparedFile, title: str,
                 item_id: int | None = None, confidential: bool = False) -> dict:
    """Attach a checked file as a new document of the viewer's meeting."""
    ensure_organizer(viewer)
    _ensure_item(session, viewer.meeting_id, item_id)
    title = " ".join(title.split())[:300] or Path(prepared.filename).stem
    doc = Document(meeting_id=viewer.meeting_id, item_id=item_id, title=title,
                   filename=prepared.filename, sha256=prepared.sha256,
                   size=prepared.size, confidential=confidential,
                   position=_next_position(session, viewer.meeting_id))
    session.add(doc)
    session.flush()
    policy = DocumentPolicy(document_id=doc.id)
    session.add(policy)
    session.add(_version(doc.id, 1, prepared, viewer))
    announce_change(session, doc, reader_audiences(session, doc, policy), viewer)
    log.info("Document %s added to meeting %s (%d pages).", doc.id, doc.meeting_id, prepared.pages)
    return {**document_view(doc, policy, viewer), "notice": prepared.notice}


def _next_position(session: Session, meeting_id: int) -> int:
    stmt = select(Document.position).where(Document.meeting_id == meeting_id)
    return max(session.exec(stmt), default=-1) + 1


def _version(document_id: int, number: int, prepared: PreparedFile,
             viewer: Viewer) -> DocumentVersion:
    return DocumentVersion(document_id=document_id, number=number,
                           sha256=prepared.sha256, size=prepared.size,
                           filename=prepared.filename, pages=prepared.pages,
                           uploaded_by=viewer.participant_id, notice=prepared.notice)


def ensure_versions(session: Session, doc: Document) -> DocumentPolicy:
    """Give a document from an agenda file its policy row and first version."""
    policy = get_policy(session, doc.id)
    if policy is None:
        policy = DocumentPolicy(document_id=doc.id)
        session.add(policy)
    has_version = session.exec(select(DocumentVersion.id).where(
        DocumentVersion.document_id == doc.id)).first()
    if has_version is None:
        session.add(DocumentVersion(document_id=doc.id, number=policy.version,
                                    sha256=doc.sha256, size=doc.size,
                                    filename=doc.filename))
    session.flush()
    return policy


def replace_document(session: Session, viewer: Viewer, document_id: int,
                     prepared: PreparedFile, expected_version: int | None) -> dict:
    """Give a document a new file; the old one stays listed as superseded."""
    ensure_organizer(viewer)
    doc, _ = get_readable(session, viewer, document_id)
    policy = ensure_versions(session, doc)
    if expected_version is not None and expected_version != policy.version:
        raise ConflictError("Someone else replaced this document a moment ago; it is now at version {version}. Look at the new version, then replace it again if you still need to.", version=policy.version)
    if prepared.sha256 == doc.sha256:
        raise ConflictError("This file is the same as the current version of the document.")

    _supersede(session, doc.id)
    policy.version += 1
    session.add(_version(doc.id, policy.version, prepared, viewer))
    doc.sha256, doc.size, doc.filename = prepared.sha256, prepared.size, prepared.filename
    session.add_all([doc, policy])
    announce_change(session, doc, reader_audiences(session, doc, policy), viewer)
    log.info("Document %s replaced: version %d.", doc.id, policy.version)
    return {**document_view(doc, policy, viewer), "notice": prepared.notice}


def _supersede(session: Session, document_id: int) -> None:
    stmt = select(DocumentVersion).where(DocumentVersion.document_id == document_id,
                                         DocumentVersion.superseded_at == None)  # noqa: E711
    for row in session.exec(stmt):
        row.superseded_at = utcnow()
        session.add(row)


def list_versions(session: Session, viewer: Viewer, document_id: int) -> list[dict]:
    doc, _ = get_readable(session, viewer, document_id)
    stmt = (select(DocumentVersion).where(DocumentVersion.document_id == doc.id)
            .order_by(col(DocumentVersion.number).desc()))
    rows = list(session.exec(stmt))
    if not rows:  # from an agenda file, never replaced
        rows = [DocumentVersion(document_id=doc.id, sha256=doc.sha256, size=doc.size,
                                filename=doc.filename)]
    return [version_view(row) for row in rows]


def version_view(row: DocumentVersion) -> dict:
    return {"number": row.number, "filename": row.filename, "size": row.size,
            "pages": row.pages, "sha256": row.sha256,
            "uploaded_at": row.uploaded_at.isoformat(),
            "superseded": row.superseded_at is not None, "notice": row.notice}


# -- commands --------------------------------------------------------------------


def _text_list(args: dict[str, Any], name: str) -> list[str]:
    value = args.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError("The command needs {name} as a list of names.", name=name)
    return sorted({" ".join(v.split()) for v in value if v.strip()})


def _document_of(session: Session, meeting: Meeting, viewer: Viewer,
                 args: dict[str, Any]) -> tuple[Document, DocumentPolicy]:
    document_id = args.get("document_id")
    if isinstance(document_id, bool) or not isinstance(document_id, int):
        raise InvalidInputError("The command needs document_id as a whole number.")
    doc, _ = get_readable(session, viewer, document_id)
    return doc, ensure_versions(session, doc)


@command("document.access", ORGANIZER, "set who may read a document")
def set_access(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    """Roles and groups that may read, confidentiality, and whether it may be downloaded."""
    doc, policy = _document_of(session, meeting, viewer, args)
    roles = _text_list(args, "roles")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise InvalidInputError("There is no role called {role}; the roles are {roles}.", role=unknown[0], roles=", ".join(ROLES))
    before = reader_audiences(session, doc, policy)

    policy.roles = ",".join(roles)
    policy.groups_json = json.dumps(_text_list(args, "groups"), ensure_ascii=False)
    policy.download_allowed = bool(args.get("download", policy.download_allowed))
    doc.confidential = bool(args.get("confidential", doc.confidential))
    session.add_all([doc, policy])
    session.flush()
    announce_change(session, doc, before + reader_audiences(session, doc, policy), viewer)
    return document_view(doc, policy, viewer)


@command("document.remove", ORGANIZER, "remove a document")
def remove_document(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    doc, policy = _document_of(session, meeting, viewer, args)
    audiences = reader_audiences(session, doc, policy)
    doc.removed = True
    session.add(doc)
    announce_change(session, doc, audiences, viewer)
    return {"document_id": doc.id, "removed": True}
