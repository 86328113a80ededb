"""Tables of the document library: versions, access, page text, notes, offline books.

The core ``Document`` row (server/models/core.py) stays the current version of a
document; these tables add its history, who may read it, its searchable text,
the private notes of each reader and which tablets hold the meeting book.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.core import utcnow


class DocumentVersion(SQLModel, table=True):
    """One file a document has had; all but the newest are superseded."""

    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    number: int = 1
    sha256: str = Field(max_length=64)
    size: int = 0
    filename: str = ""
    pages: int = 0
    uploaded_by: int | None = None
    uploaded_at: datetime = Field(default_factory=utcnow)
    superseded_at: datetime | None = None
    notice: str = ""


class DocumentPolicy(SQLModel, table=True):
    """Who may read a document besides the organizer, and whether it may be downloaded.

    Empty ``roles`` and ``groups`` mean: everyone may read it (staff only when the
    document is confidential).
    """

    document_id: int = Field(foreign_key="document.id", primary_key=True)
    roles: str = ""  # comma-separated role names
    groups_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    download_allowed: bool = True
    version: int = 1


class PageText(SQLModel, table=True):
    """The text layer of one page of a stored file, as read and folded for search."""

    __table_args__ = (UniqueConstraint("sha256", "page"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    page: int
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    folded: str = Field(default="", sa_column=Column(Text, nullable=False))


class TextLayer(SQLModel, table=True):
    """Whether a stored file has text to search: ``text``, ``none`` or ``unreadable``."""

    sha256: str = Field(primary_key=True, max_length=64)
    state: str = "text"
    pages: int = 0
    read_at: datetime = Field(default_factory=utcnow)


class Presentation(SQLModel, table=True):
    """The document and page a meeting's presenter shows right now."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    document_id: int | None = None
    page: int = 1
    presenter_id: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Annotation(SQLModel, table=True):
    """A private note on a page: a highlight, ink or text; only its owner sees it."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    page: int
    kind: str
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    removed: bool = False


class BookCopy(SQLModel, table=True):
    """A tablet that took the meeting book for offline reading."""

    __table_args__ = (UniqueConstraint("participant_id", "device"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    device: str = Field(max_length=64)
    documents: int = 0
    size: int = 0
    taken_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    deleted_at: datetime | None = None
