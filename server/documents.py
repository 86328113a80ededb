"""Meeting documents: files stored once by content hash, listed per agenda item."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sqlmodel import Session, col, select

from server.access import Viewer
from server.models import Document

HASH_CHUNK = 1 << 20


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blob_path(documents_dir: Path, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"expected a sha256 hex digest, got {sha256!r}")
    return documents_dir / sha256[:2] / f"{sha256}.pdf"


def store_file(documents_dir: Path, source: Path, sha256: str | None = None) -> str:
    """Copy a file into the content-addressed store; return its hash."""
    sha256 = sha256 or hash_file(source)
    target = blob_path(documents_dir, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    return sha256


def can_read(viewer: Viewer, document: Document) -> bool:
    return viewer.is_staff or not document.confidential


def list_documents(session: Session, meeting_id: int, viewer: Viewer) -> list[dict]:
    stmt = (select(Document).where(Document.meeting_id == meeting_id,
                                   Document.removed == False)  # noqa: E712
            .order_by(col(Document.position)))
    return [document_view(doc) for doc in session.exec(stmt) if can_read(viewer, doc)]


def document_view(doc: Document) -> dict:
    return {"id": doc.id, "item_id": doc.item_id, "title": doc.title,
            "filename": doc.filename, "size": doc.size,
            "confidential": doc.confidential, "url": f"/documents/{doc.id}"}
