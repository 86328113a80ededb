"""Backup of a running server and restore: consistent, checked, never silently partial."""

from __future__ import annotations

import tarfile
import threading

import pytest

from server.backup import make_backup, restore_backup
from server.db import Store
from server.errors import ConflictError, InvalidInputError
from server.eventlog import verify_chain
from server.models import Meeting
from tests._meeting_fixtures import next_command_id


def _keep_moving(chair, meeting_id: int, stop: threading.Event) -> int:
    """The chair jumps between items while the backup runs; returns commands sent."""
    sent = 0
    while not stop.is_set() and sent < 400:
        step = "agenda.next" if sent % 2 == 0 else "agenda.previous"
        body = {"id": next_command_id(), "name": step, "args": {}}
        chair.post(f"/api/meetings/{meeting_id}/commands", json=body)
        sent += 1
    return sent


def test_backup_of_a_busy_server_restores_to_a_consistent_meeting(client, meeting, chair_client, settings, tmp_path):
    chair_client.post(f"/api/meetings/{meeting.id}/commands",
                      json={"id": "start", "name": "meeting.start", "args": {}})
    chair_client.post(f"/api/meetings/{meeting.id}/commands",
                      json={"id": "first", "name": "agenda.next", "args": {}})
    stop = threading.Event()
    mover = threading.Thread(target=_keep_moving, args=(chair_client, meeting.id, stop))
    mover.start()
    try:
        archive = tmp_path / "backup.tar"
        manifest = make_backup(settings.resolved_database_url, settings.data_dir, archive)
    finally:
        stop.set()
        mover.join(30)
    restored_dir = tmp_path / "restored"
    url = f"sqlite:///{restored_dir / 'plenary.db'}"

    restore_backup(archive, url, restored_dir)

    store = Store(url)
    try:
        intact, count, last_hash = store.read_sync(verify_chain, meeting.id)
        stored = store.read_sync(lambda s: s.get(Meeting, meeting.id))
    finally:
        store.close()
    assert intact and count == stored.last_seq and last_hash == stored.last_hash
    assert stored.state == "running"
    assert any(name.startswith("documents/") for name in manifest["files"])
    assert list((restored_dir / "documents").rglob("*.pdf"))


def test_restore_refuses_to_overwrite_an_existing_database(client, meeting, settings, tmp_path):
    archive = tmp_path / "b.tar"
    make_backup(settings.resolved_database_url, settings.data_dir, archive)

    with pytest.raises(ConflictError, match="^A database already exists at .* Stop the server and restore with --replace"):
        restore_backup(archive, settings.resolved_database_url, settings.data_dir)


def test_a_damaged_backup_restores_nothing(client, meeting, settings, tmp_path):
    archive = tmp_path / "b.tar"
    make_backup(settings.resolved_database_url, settings.data_dir, archive)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "plenary.db":
                data = data[:-10] + b"0123456789"
            member.size = len(data)
            import io
            dst.addfile(member, io.BytesIO(data))
    target = tmp_path / "new"

    with pytest.raises(InvalidInputError, match="^The backup is damaged: plenary.db does not match its recorded hash. Nothing was restored.$"):
        restore_backup(damaged, f"sqlite:///{target / 'plenary.db'}", target)

    assert not (target / "plenary.db").exists()


def test_backup_of_postgres_points_to_pg_dump(tmp_path):
    with pytest.raises(InvalidInputError, match="For PostgreSQL use pg_dump"):
        make_backup("postgresql+psycopg://u@h/db", tmp_path, tmp_path / "x.tar")


def test_cli_backup_and_restore(client, meeting, settings, tmp_path, capsys):
    from server.cli import main

    archive = tmp_path / "cli.tar"
    assert main(["--data-dir", str(settings.data_dir), "backup", "-o", str(archive)]) == 0
    assert main(["--data-dir", str(tmp_path / "fresh"), "restore", str(archive)]) == 0

    out = capsys.readouterr().out
    assert "Backup written to" in out and "Restored the backup of" in out
