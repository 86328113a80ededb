"""Core tables: meetings, participants, agenda, documents, the event record.

Schema changes are Alembic migrations in ``server/migrations``; the app applies
them at start. Times are stored in UTC; each meeting names its own time zone.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

ROLES = ("organizer", "chair", "secretary", "delegate", "guest")
STAFF_ROLES = frozenset({"organizer", "chair", "secretary"})
MEETING_STATES = ("scheduled", "running", "ended")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Meeting(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=64)
    title: str
    body: str = ""
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    place: str = ""
    language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    starts_at: datetime
    ends_at: datetime | None = None
    state: str = "scheduled"
    current_item_id: int | None = None
    settings_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    projector_key: str = ""
    last_seq: int = 0
    last_hash: str = ""
    source_path: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    key: str = Field(max_length=64)
    name: str
    role: str
    group_name: str = ""
    number: str = ""
    title: str = ""
    email: str = ""
    access_code: str = Field(index=True, unique=True)
    active: bool = True
    sort_order: int = 0
    # where the participant came from: "agenda" (the agenda file), "openslides"
    # (an OpenSlides export), "" (a participant list, a page, a copied meeting);
    # importing a file again ends the access only of its own participants
    origin: str = Field(default="", max_length=16)


class AgendaItem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    key: str = Field(max_length=64)
    parent_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    position: int = 0
    number: str = ""
    title: str
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    duration_min: int | None = None
    presenter: str = ""
    internal: bool = False
    removed: bool = False


class Document(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    title: str
    filename: str = ""
    sha256: str = Field(index=True, max_length=64)
    size: int = 0
    confidential: bool = False
    position: int = 0
    removed: bool = False


class LoginSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(index=True, unique=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen: datetime | None = None
    revoked: bool = False


class Event(SQLModel, table=True):
    """One state change of a meeting, in order; the log tablets resync from.

    ``hash`` chains each event to the one before it, so the record of the
    meeting can be sealed into the minutes.
    """

    __table_args__ = (UniqueConstraint("meeting_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    seq: int
    type: str
    audience: str = "all"
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    actor_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    hash: str = ""


class CommandReceipt(SQLModel, table=True):
    """The answer to a client command, kept so a retried command is answered again."""

    __table_args__ = (UniqueConstraint("participant_id", "command_id"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    command_id: str = Field(max_length=64)
    name: str
    response: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
