"""Meeting documents: files stored once by content hash, and who may read them.

Rules:
- A file is stored once under its sha256, whatever its name or how often it is
  attached; a stored file never changes.
- The organizer may read every document of the meeting.
- A document with an access list (roles and groups) may be read by the
  participants whose role or group is on the list, and by nobody else.
- A confidential document without an access list may be read by staff only
  (chair, secretary, organizer).
- Any other document may be read by everyone in the meeting, the projector
  included. The projector never shows a restricted or confidential document.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from sqlmodel import Session, col, select

from server.access import Viewer
from server.models import Document, DocumentPolicy

HASH_CHUNK = 1 << 20


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def blob_path(documents_dir: Path, sha256: str) -> Path:
    if not is_sha256(sha256):
        raise ValueError(f"expected a sha256 hex digest, got {sha256!r}")
    return documents_dir / sha256[:2] / f"{sha256}.pdf"


def store_file(documents_dir: Path, source: Path, sha256: str | None = None) -> str:
    """Copy a file into the content-addressed store; return its hash."""
    sha256 = sha256 or hash_file(source)
    target = blob_path(documents_dir, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(source, partial)
        sync_file(partial)
        os.replace(partial, target)
        sync_folder(target.parent)
    return sha256


def sync_file(path: Path) -> None:
    """Put a file's bytes on disk before the database may name it (power loss)."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Put a rename inside ``folder`` on disk, so a stored name survives power loss."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def move_into_store(documents_dir: Path, source: Path, sha256: str) -> Path:
    """Move a finished upload into the store (no copy); a twin already there wins."""
    target = blob_path(documents_dir, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        source.unlink(missing_ok=True)
    else:
        sync_file(source)
        os.replace(source, target)
        sync_folder(target.parent)
    return target


# -- access ----------------------------------------------------------------------


def policy_roles(policy: DocumentPolicy | None) -> set[str]:
    if policy is None or not policy.roles:
        return set()
    return {role for role in policy.roles.split(",") if role}


def policy_groups(policy: DocumentPolicy | None) -> set[str]:
    if policy is None:
        return set()
    return set(json.loads(policy.groups_json or "[]"))


def has_access_list(policy: DocumentPolicy | None) -> bool:
    return bool(policy_roles(policy) or policy_groups(policy))


def is_restricted(document: Document, policy: DocumentPolicy | None) -> bool:
    """True when not everyone in the meeting may read the document."""
    return document.confidential or has_access_list(policy)


def can_read(viewer: Viewer, document: Document,
             policy: DocumentPolicy | None = None) -> bool:
    if document.meeting_id != viewer.meeting_id or document.removed:
        return False
    if viewer.role == "organizer":
        return True
    if has_access_list(policy):
        return (viewer.role in policy_roles(policy)
                or (bool(viewer.group) and viewer.group in policy_groups(policy)))
    if document.confidential:
        return viewer.is_staff
    return True


def can_download(viewer: Viewer, document: Document,
                 policy: DocumentPolicy | None) -> bool:
    if not can_read(viewer, document, policy):
        return False
    return viewer.role == "organizer" or policy is None or policy.download_allowed


def get_policy(session: Session, document_id: int) -> DocumentPolicy | None:
    return session.get(DocumentPolicy, document_id)


def policies_of(session: Session, meeting_id: int) -> dict[int, DocumentPolicy]:
    stmt = (select(DocumentPolicy).join(Document)
            .where(Document.meeting_id == meeting_id))
    return {policy.document_id: policy for policy in session.exec(stmt)}


def readable_documents(session: Session, meeting_id: int,
                       viewer: Viewer) -> list[tuple[Document, DocumentPolicy | None]]:
    stmt = (select(Document).where(Document.meeting_id == meeting_id,
                                   Document.removed == False)  # noqa: E712
            .order_by(col(Document.position), col(Document.id)))
    policies = policies_of(session, meeting_id)
    found = []
    for doc in session.exec(stmt):
        policy = policies.get(doc.id)
        if can_read(viewer, doc, policy):
            found.append((doc, policy))
    return found


def list_documents(session: Session, meeting_id: int, viewer: Viewer) -> list[dict]:
    return [document_view(doc, policy, viewer)
            for doc, policy in readable_documents(session, meeting_id, viewer)]


def document_view(doc: Document, policy: DocumentPolicy | None = None,
                  viewer: Viewer | None = None) -> dict:
    view = {"id": doc.id, "item_id": doc.item_id, "title": doc.title,
            "filename": doc.filename, "size": doc.size,
            "confidential": doc.confidential,
            "restricted": is_restricted(doc, policy),
            "version": policy.version if policy else 1,
            "download": policy.download_allowed if policy else True,
            "url": f"/documents/{doc.id}?v={doc.sha256[:16]}"}
    if viewer is not None and viewer.role == "organizer":
        view["roles"] = sorted(policy_roles(policy))
        view["groups"] = sorted(policy_groups(policy))
    return view
