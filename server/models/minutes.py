"""Tables of the minutes: sections the secretary writes, their revisions, the final
versions and the signatures on them.

The PDF files themselves live in the content-addressed minutes store on disk
(``<data dir>/minutes``); the rows name them by SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.core import utcnow


class MinutesSection(SQLModel, table=True):
    """The current text of one section of the minutes of one agenda item."""

    __tablename__ = "minutes_section"
    __table_args__ = (UniqueConstraint("meeting_id", "item_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int = Field(foreign_key="agendaitem.id")
    kind: str = Field(max_length=32)  # summary, decisions, conclusions, tasks
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    revision: int = 0
    updated_by: int | None = Field(default=None, foreign_key="participant.id")
    updated_at: datetime = Field(default_factory=utcnow)


class MinutesRevision(SQLModel, table=True):
    """A text a section held before it was replaced.

    ``conflict`` marks a text that was replaced by a save from a device that had
    not seen it: it is shown to the secretary until dismissed.
    """

    __tablename__ = "minutes_revision"

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="minutes_section.id", index=True)
    revision: int
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="participant.id")
    written_at: datetime = Field(default_factory=utcnow)
    replaced_by: int | None = Field(default=None, foreign_key="participant.id")
    conflict: bool = False
    dismissed: bool = False


class MinutesVersion(SQLModel, table=True):
    """A finalized, locked version of the minutes and its PDF."""

    __tablename__ = "minutes_version"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    number: int
    content_hash: str = Field(max_length=64)
    final_sha256: str = Field(max_length=64)  # the PDF as finalized, unsigned
    current_sha256: str = Field(max_length=64)  # with every signature so far
    audit_events: int = 0
    audit_hash: str = ""
    finalized_by: int | None = Field(default=None, foreign_key="participant.id")
    finalized_at: datetime = Field(default_factory=utcnow)
    signed_at: datetime | None = None  # when the last required signature was added


class MinutesSignature(SQLModel, table=True):
    """One signature added to a version, in order."""

    __tablename__ = "minutes_signature"
    __table_args__ = (UniqueConstraint("version_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="minutes_version.id", index=True)
    role: str = Field(max_length=16)  # secretary or chair
    participant_id: int = Field(foreign_key="participant.id")
    field_name: str = Field(max_length=64)
    signer_subject: str = ""
    certificate_sha256: str = Field(default="", max_length=64)
    key_source: str = Field(default="", max_length=16)  # key-file or organization
    timestamped: bool = False
    pdf_sha256: str = Field(max_length=64)
    signed_at: datetime = Field(default_factory=utcnow)
