"""Grants expire, a read that raced a committed change is not kept, files stay bounded."""

from __future__ import annotations

from server.access import Viewer
from server.models import Document
from server.readcache import BlobCache, Changes, GrantCache

VIEWER = Viewer(1, "delegate", 7, "Đại biểu", "Tổ 1")


def _doc(doc_id: int = 3) -> Document:
    return Document(id=doc_id, meeting_id=1, title="Tài liệu", filename="a.pdf", sha256="0" * 64, size=1)


def test_a_grant_is_forgotten_after_its_seconds():
    now = [100.0]
    grants = GrantCache(seconds=10, clock=lambda: now[0])
    grants.remember("token", VIEWER, _doc(), None, grants.epoch())

    assert grants.lookup("token", 3) is not None
    now[0] = 110.0
    assert grants.lookup("token", 3) is None


def test_a_read_that_raced_a_committed_change_is_not_remembered():
    grants = GrantCache()
    epoch = grants.epoch()

    grants.forget(Changes({"other"}, set(), set()))
    grants.remember("token", VIEWER, _doc(), None, epoch)

    assert grants.lookup("token", 3) is None


def test_a_change_forgets_only_the_grants_it_touches():
    grants = GrantCache()
    for token, doc_id in (("a", 3), ("b", 4)):
        grants.remember(token, VIEWER, _doc(doc_id), None, grants.epoch())

    grants.forget(Changes(set(), set(), {3}))

    assert grants.lookup("a", 3) is None and grants.lookup("b", 4) is not None


def test_a_participant_change_forgets_every_grant_of_that_participant():
    grants = GrantCache()
    grants.remember("a", VIEWER, _doc(3), None, grants.epoch())
    grants.remember("a", VIEWER, _doc(4), None, grants.epoch())

    grants.forget(Changes(set(), {7}, set()))

    assert len(grants) == 0


def test_the_file_cache_keeps_within_its_budget(tmp_path):
    blobs = BlobCache(budget=250, largest=200)
    for name in "abc":
        (tmp_path / name).write_bytes(name.encode() * 100)
        blobs.load(name, tmp_path / name)

    assert blobs.get("a") is None and blobs.get("b") is not None and blobs.get("c") is not None


def test_a_file_larger_than_the_cache_takes_is_read_from_disk(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 300)
    blobs = BlobCache(budget=1000, largest=200)

    assert blobs.load("big", tmp_path / "big") is None and blobs.get("big") is None


def test_a_bulk_update_of_participants_forgets_every_grant(tmp_path):
    from sqlalchemy import update

    from server.db import Store, migrate
    from server.models import Participant
    url = f"sqlite:///{tmp_path / 'plenary.db'}"
    migrate(url)
    store = Store(url)
    grants = GrantCache()
    grants.remember("a", VIEWER, _doc(3), None, grants.epoch())
    try:
        store.write_sync(lambda s: s.execute(update(Participant).where(Participant.id == 7)
                                             .values(role="guest")))
    finally:
        store.close()

    assert len(grants) == 0


def test_a_flushed_change_to_a_document_forgets_its_grants(tmp_path):
    from server.db import Store, migrate
    from server.models import Meeting, utcnow
    url = f"sqlite:///{tmp_path / 'plenary.db'}"
    migrate(url)
    store = Store(url)
    grants = GrantCache()

    def add(session):
        meeting = Meeting(key="ky-hop", title="Kỳ họp", starts_at=utcnow())
        session.add(meeting)
        session.flush()
        doc = Document(meeting_id=meeting.id, title="T", filename="a.pdf", sha256="0" * 64, size=1)
        session.add(doc)
        session.flush()
        return doc.id
    try:
        doc_id = store.write_sync(add)
        grants.remember("a", VIEWER, _doc(doc_id), None, grants.epoch())
        grants.remember("b", VIEWER, _doc(doc_id + 1), None, grants.epoch())
        store.write_sync(lambda s: setattr(s.get(Document, doc_id), "removed", True))
    finally:
        store.close()

    assert grants.lookup("a", doc_id) is None and grants.lookup("b", doc_id + 1) is not None
