"""Short-lived memory for the document file route, which a hall of tablets hits at once.

Two things are remembered:

- ``GrantCache``: who a login token is and that it may read a document, for a
  few seconds, so that the second request of a tablet (PDF.js asks for byte
  ranges) needs no database trip. Correctness comes first: every committed
  change to a login session, a participant, a document or its access policy
  forgets the grants it could touch at once (before the writer's caller hears
  back), so a revoked reader, a participant whose role changed or who was
  logged out everywhere loses access with the very next request.
- ``BlobCache``: the bytes of small stored files, keyed by content hash. A
  stored file never changes under its hash, so there is nothing to invalidate;
  the cache is bounded in bytes and forgets the least recently used files.

Grants are forgotten only by writes made in this process. The web layer keeps
grants only with the local broker (a single server process); with several
processes (Redis or PostgreSQL broker) it asks the database every time.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from server.access import Viewer
from server.models import Document, DocumentPolicy, LoginSession, Participant

GRANT_SECONDS = 10.0
MAX_GRANTS = 20_000
BLOB_BUDGET = 64 << 20  # bytes of file content kept in memory
MAX_BLOB = 8 << 20  # larger files are always read from disk
_CHANGES = "plenary_access_changes"


@dataclass(frozen=True)
class Grant:
    viewer: Viewer
    document: Document
    policy: DocumentPolicy | None
    expires: float


@dataclass
class Changes:
    """What a transaction changed that a grant may depend on."""
    tokens: set[str]
    participants: set[int]
    documents: set[int]
    everything: bool = False  # a bulk statement: which rows is not known

    def __bool__(self) -> bool:
        return bool(self.everything or self.tokens or self.participants or self.documents)


class GrantCache:
    """Read grants by (login token, document id), valid for ``seconds``."""

    def __init__(self, seconds: float = GRANT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._grants: dict[tuple[str, int], Grant] = {}
        self._lock = threading.Lock()
        self._epoch = 0
        _live_caches.add(self)

    def epoch(self) -> int:
        """Take this before reading the database; hand it to ``remember``."""
        return self._epoch

    def lookup(self, token: str, document_id: int) -> Grant | None:
        grant = self._grants.get((token, document_id))
        if grant is None or grant.expires <= self.clock():
            return None
        return grant

    def remember(self, token: str, viewer: Viewer, document: Document,
                 policy: DocumentPolicy | None, epoch: int) -> None:
        """Keep a grant read from the database, unless a change was committed since."""
        with self._lock:
            if epoch != self._epoch:
                return  # the read may predate that change
            if len(self._grants) >= MAX_GRANTS:
                self._grants.clear()
            self._grants[(token, document.id)] = Grant(
                viewer, document, policy, self.clock() + self.seconds)

    def forget(self, changes: Changes) -> None:
        with self._lock:
            self._epoch += 1
            self._grants = {key: grant for key, grant in self._grants.items()
                            if not _touched(key, grant, changes)}

    def __len__(self) -> int:
        return len(self._grants)


def _touched(key: tuple[str, int], grant: Grant, changes: Changes) -> bool:
    return (changes.everything or key[0] in changes.tokens or key[1] in changes.documents
            or grant.viewer.participant_id in changes.participants)


# -- invalidation by committed writes ----------------------------------------------

_live_caches: weakref.WeakSet[GrantCache] = weakref.WeakSet()
_WATCHED_TABLES = frozenset(model.__tablename__ for model in
                            (LoginSession, Participant, Document, DocumentPolicy))


def changes_of(objects: Iterable[Any]) -> Changes:
    changes = Changes(set(), set(), set())
    for obj in objects:
        if isinstance(obj, LoginSession):
            changes.tokens.add(obj.token)
        elif isinstance(obj, Participant) and obj.id is not None:
            changes.participants.add(obj.id)
        elif isinstance(obj, Document) and obj.id is not None:
            changes.documents.add(obj.id)
        elif isinstance(obj, DocumentPolicy):
            changes.documents.add(obj.document_id)
    return changes


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: Any) -> None:
    found = changes_of([*session.new, *session.dirty, *session.deleted])
    if found:
        session.info.setdefault(_CHANGES, []).append(found)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statement(state: Any) -> None:
    """An INSERT, UPDATE or DELETE statement bypasses the flush: forget all grants."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _WATCHED_TABLES:
        found = Changes(set(), set(), set(), everything=True)
        state.session.info.setdefault(_CHANGES, []).append(found)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    for found in session.info.pop(_CHANGES, []):
        for cache in list(_live_caches):
            cache.forget(found)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_CHANGES, None)


# -- file bytes ----------------------------------------------------------------------


class BlobCache:
    """The content of small stored files by hash, least recently used out first."""

    def __init__(self, budget: int = BLOB_BUDGET, largest: int = MAX_BLOB) -> None:
        self.budget, self.largest = budget, largest
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, sha256: str) -> bytes | None:
        with self._lock:
            data = self._blobs.get(sha256)
            if data is not None:
                self._blobs.move_to_end(sha256)
            return data

    def load(self, sha256: str, path: Path) -> bytes | None:
        """Read a file into the cache (blocking); None when it is too large to keep."""
        if path.stat().st_size > self.largest:
            return None
        data = path.read_bytes()
        with self._lock:
            if sha256 not in self._blobs:
                self._blobs[sha256] = data
                self._size += len(data)
            while self._size > self.budget and self._blobs:
                _, dropped = self._blobs.popitem(last=False)
                self._size -= len(dropped)
        return data
