"""Backups of a running meeting server: the database and the document store.

Rules:
- A backup is one tar file: a consistent copy of the SQLite database taken with
  SQLite's online backup (the server keeps running and writing), the documents it
  refers to, the secret key, and a manifest with the SHA-256 of every member.
- Documents are stored by content and never changed, so copying them after the
  database copy always finds every document the copy refers to.
- A restore checks every hash before it touches anything, and refuses to replace
  an existing database unless told to.
- PostgreSQL is backed up with its own tools (pg_dump); see docs/operations.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from server.db import is_sqlite
from server.errors import ConflictError, InvalidInputError

MANIFEST = "manifest.json"
DATABASE = "plenary.db"


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def ensure_sqlite(url: str) -> None:
    if not is_sqlite(url):
        raise InvalidInputError("plenary backup copies SQLite databases. For PostgreSQL use pg_dump and pg_restore as described in docs/operations.md.")


def make_backup(database_url: str, data_dir: Path, target: Path) -> dict:
    """Write a backup archive to ``target``; return its manifest."""
    ensure_sqlite(database_url)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / DATABASE
        _copy_database(sqlite_path(database_url), copy)
        members = {DATABASE: copy}
        members.update(_document_members(data_dir / "documents"))
        secret = data_dir / "secret_key"
        if secret.exists():
            members["secret_key"] = secret
        manifest = {"created": datetime.now(timezone.utc).isoformat(),
                    "files": {name: _sha256(path) for name, path in members.items()}}
        _write_archive(target, members, manifest)
    return manifest


def _copy_database(source: Path, target: Path) -> None:
    # SQLite's online backup: a consistent copy while the server goes on writing.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst_check = sqlite3.connect(target)
    try:
        if dst_check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ConflictError("The database copy failed its integrity check; the backup was not written.")
    finally:
        dst_check.close()


def _document_members(documents: Path) -> dict[str, Path]:
    if not documents.exists():
        return {}
    return {f"documents/{path.relative_to(documents).as_posix()}": path
            for path in sorted(documents.rglob("*.pdf")) if path.is_file()}


def _write_archive(target: Path, members: dict[str, Path], manifest: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with tarfile.open(partial, "w") as archive:
        body = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
        for name, path in members.items():
            archive.add(path, arcname=name)
    os.replace(partial, target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def restore_backup(archive_path: Path, database_url: str, data_dir: Path,
                   *, replace: bool = False) -> dict:
    """Bring a backup back into ``data_dir``; return its manifest."""
    ensure_sqlite(database_url)
    if not archive_path.is_file():
        raise InvalidInputError("The backup file {name} was not found; check its name and folder.", name=str(archive_path))
    database = sqlite_path(database_url)
    if database.exists() and not replace:
        raise ConflictError("A database already exists at {path}. Stop the server and restore with --replace to overwrite it, or choose another data folder.", path=str(database))
    with tempfile.TemporaryDirectory() as scratch:
        manifest = _extract_checked(archive_path, Path(scratch))
        _install(Path(scratch), manifest, database, data_dir)
    return manifest


def _extract_checked(archive_path: Path, into: Path) -> dict:
    try:
        with tarfile.open(archive_path, "r") as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInputError("The file {name} is not a readable Plenary backup ({reason}).", name=archive_path.name, reason=type(exc).__name__) from None
    manifest_path = into / MANIFEST
    if not manifest_path.exists():
        raise InvalidInputError("The file {name} has no manifest; it is not a Plenary backup.", name=archive_path.name)
    manifest = json.loads(manifest_path.read_text())
    for name, expected in manifest["files"].items():
        member = into / name
        if not member.exists() or _sha256(member) != expected:
            raise InvalidInputError("The backup is damaged: {member} does not match its recorded hash. Nothing was restored.", member=name)
    return manifest


def _install(scratch: Path, manifest: dict, database: Path, data_dir: Path) -> None:
    for name in manifest["files"]:
        if name.startswith("documents/"):
            target = data_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.replace(scratch / name, target)
    secret = scratch / "secret_key"
    if secret.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        os.replace(secret, data_dir / "secret_key")
        os.chmod(data_dir / "secret_key", 0o600)
    database.parent.mkdir(parents=True, exist_ok=True)
    for stale in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        stale.unlink(missing_ok=True)
    os.replace(scratch / DATABASE, database)
