"""Tables of the meeting floor: attendance, the list of speakers, polls and ballots.

Secrecy is a property of the schema, not only of the code: for a secret poll,
``PollVoter`` says who has voted and ``Ballot`` holds what was chosen, and
nothing links a row of one to a row of the other. Ballots have random keys, no
time, no author and no order (on SQLite the table has no rowid either, so even
the storage order follows the random key, not the arrival).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.core import utcnow

ATTENDANCE_STATES = ("present", "absent", "excused", "proxy")
POLL_STATES = ("prepared", "open", "closed", "published", "cancelled")


class Attendance(SQLModel, table=True):
    """The current attendance of one participant; its history is AttendanceChange."""

    __table_args__ = (UniqueConstraint("meeting_id", "participant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    status: str = "absent"
    proxy_holder_id: int | None = Field(default=None, foreign_key="participant.id")
    first_present_at: datetime | None = None
    changed_at: datetime = Field(default_factory=utcnow)


class AttendanceChange(SQLModel, table=True):
    """One change of attendance, with its time: the record the minutes use."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    status: str
    proxy_holder_id: int | None = None
    method: str = ""  # scan, manual, self
    by_id: int | None = None
    at: datetime = Field(default_factory=utcnow)


class Speech(SQLModel, table=True):
    """A place on an item's list of speakers, and the speech given from it."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int = Field(foreign_key="agendaitem.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    kind: str = "speech"  # speech, point_of_order
    state: str = "waiting"  # waiting, speaking, paused, done, withdrawn
    position: int = 0
    time_limit: int = 0  # seconds; 0 means no limit
    spoken_seconds: float = 0.0  # before the running segment
    requested_at: datetime = Field(default_factory=utcnow)
    first_started_at: datetime | None = None
    running_since: datetime | None = None
    ended_at: datetime | None = None


class Poll(SQLModel, table=True):
    """A vote on a motion or an election, with its rule and its stored result."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    kind: str = "motion"  # motion, election
    title: str
    mode: str = "secret"  # named, secret, analog
    rule: str = "simple"
    state: str = "prepared"
    seats: int = 1
    ballot_style: str = ""  # elections: choose, yes_no, strike
    reason: str = ""  # why it was cancelled or repeated
    repeat_of_id: int | None = None
    plan_key: str = ""
    voted: int = 0  # voter-list rows: the live count of ballots cast
    progress_sent: int = -1  # the count last announced to the tablets
    tally_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    result_json: str = Field(default="", sa_column=Column(Text, nullable=False))
    ballot_hash: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    published_at: datetime | None = None


class Candidate(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("poll_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    name: str
    group_name: str = ""
    position: int = 0
    participant_id: int | None = None


class PollVoter(SQLModel, table=True):
    """Who has voted (in person, or through the proxy holder ``cast_by_id``).

    One row per voter and poll: the unique constraint is what makes it one
    ballot each, whatever tablet or retry it comes from. The key is random and
    (on SQLite) the table has no rowid, so the rows keep no voting order;
    ``command_id`` is empty for a secret poll (a client's id may hold a time).
    """

    __table_args__ = (UniqueConstraint("poll_id", "participant_id"),
                      {"sqlite_with_rowid": False})

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    cast_by_id: int = Field(foreign_key="participant.id")
    command_id: str = Field(default="", max_length=64)


class Ballot(SQLModel, table=True):
    """One anonymous ballot: a random key, the poll, the choice and its weight.

    ``voter_id`` is filled only in a named poll, where who chose what is public.
    """

    __table_args__ = ({"sqlite_with_rowid": False},)

    id: str = Field(primary_key=True, max_length=32)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    choice: str  # motions: yes, no, abstain; elections: valid, blank, invalid
    marks: str = Field(default="", sa_column=Column(Text, nullable=False))
    weight: int = 1
    voter_id: int | None = None
