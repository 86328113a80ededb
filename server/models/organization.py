"""Tables of the organization: bodies, people, staff roles, imports and their audit.

A person exists once and takes part in many meetings: each meeting participant
may point to a person through its profile. Meetings belong to a body through
their meeting record, which also says whether the meeting is archived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.core import utcnow

BODY_KINDS = (
    "standing_committee",
    "executive_committee",
    "congress",
    "delegation",
    "group",
    "committee",
)
STAFF_ROLE_NAMES = ("organizer", "secretary", "technician")


class Body(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=64)
    name: str
    kind: str = "committee"
    parent_id: int | None = Field(default=None, foreign_key="body.id")
    timezone: str = "Asia/Ho_Chi_Minh"
    created_at: datetime = Field(default_factory=utcnow)
    removed_at: datetime | None = None  # removed bodies keep their history


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_folded: str = Field(default="", index=True)  # for search without diacritics
    email: str = Field(default="", index=True)
    ref: str = Field(default="", index=True)  # ID card, member number or external id
    created_at: datetime = Field(default_factory=utcnow)


class BodyMember(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("body_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    body_id: int = Field(foreign_key="body.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    group_name: str = ""
    title: str = ""
    active: bool = True


class StaffRole(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("body_id", "person_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    body_id: int = Field(foreign_key="body.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str
    granted_at: datetime = Field(default_factory=utcnow)


class MeetingRecord(SQLModel, table=True):
    """What the organization knows of a meeting beyond the meeting itself."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    body_id: int | None = Field(default=None, foreign_key="body.id", index=True)
    copied_from_id: int | None = Field(default=None, foreign_key="meeting.id")
    archived_at: datetime | None = None


class ParticipantProfile(SQLModel, table=True):
    participant_id: int = Field(foreign_key="participant.id", primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    seat: str = ""


class ParticipantImport(SQLModel, table=True):
    """A checked participant file waiting to be committed (or already committed)."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    filename: str = ""
    state: str = "preview"  # preview, committed, discarded
    preview_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""


class ImportReport(SQLModel, table=True):
    """What an import from another system brought, left out and found wrong."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    source: str = ""
    report_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ImportedPoll(SQLModel, table=True):
    """A finished vote brought from another system, kept as history of its item."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_key: str = ""  # the key of its agenda item in the meeting
    source: str = ""  # openslides
    source_id: str = ""  # the poll's id in the source
    title: str = ""
    method: str = ""  # Y, YN, YNA, N (OpenSlides' poll methods)
    kind: str = ""  # analog, named, pseudoanonymous ...
    state: str = ""  # finished, published
    options_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    votes_valid: str | None = None  # decimals as text: votes may be weighted
    votes_invalid: str | None = None
    votes_cast: str | None = None
    contradictions_json: str = Field(
        default="[]", sa_column=Column(Text, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)


class OrganizerChange(SQLModel, table=True):
    """The audit of who changed what while preparing a meeting."""

    id: int | None = Field(default=None, primary_key=True)
    body_id: int | None = Field(default=None, foreign_key="body.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    actor: str = ""
    actor_participant_id: int | None = None
    action: str
    summary: str = ""
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
