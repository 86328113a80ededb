"""Committing a checked participant file in a few statements, not a few per row.

The rows are applied as ``organization.register_person``, ``link_participant``
and ``add_member`` would apply them one after the other, with the same results:
a person is found again by ID number, then email, then exact name (when the
row gives neither); a participant already in the meeting (same identity, or
same person) is updated. Everything the rows need is loaded with one query per
kind (in chunks of ``LOOKUP_CHUNK``) as plain rows, kept in dictionaries that
each row updates, and written with one INSERT and one UPDATE per table, each
for many rows at once. Building ORM objects row by row was what made a
10,000-row commit hold the single writer for half a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from server.access import new_access_code
from server.imports.vietnamese import fold
from server.models import BodyMember, Participant, ParticipantProfile, Person, utcnow
from server.organization import clean_name

LOOKUP_CHUNK = 500
Values = dict[str, str]
Row = dict[str, Any]


class Changes:
    """Rows of one table to insert, and rows (by primary key) to update."""

    def __init__(self) -> None:
        self.new: list[Row] = []
        self.changed: dict[Any, Row] = {}

    def write(self, session: Session, model: Any, match: tuple[str, ...] = ()) -> None:
        """Insert the new rows (learning their ids through the ``match`` columns,
        unique among them) and update the changed ones, each in one statement."""
        if self.new and match:
            self._insert_returning(session, model, match)
        elif self.new:
            session.execute(insert(model), self.new)
        if self.changed:
            session.execute(update(model), list(self.changed.values()))

    def _insert_returning(
        self, session: Session, model: Any, match: tuple[str, ...]
    ) -> None:
        # Without sort_by_parameter_order the rows go in batches of many VALUES;
        # with it, SQLite would take one statement per row.
        columns = [getattr(model, name) for name in ("id", *match)]
        stmt = insert(model).returning(*columns)
        found = {tuple(row[1:]): row[0] for row in session.execute(stmt, self.new)}
        for row in self.new:
            row["id"] = found[tuple(row[name] for name in match)]


class Registry:
    """The people a file names, loaded at once and found as ``find_person`` finds them."""

    def __init__(self, session: Session, rows: list[Values]) -> None:
        self.by_ref: dict[str, Row] = {}
        self.by_email: dict[str, Row] = {}
        self.by_name: dict[str, Row] = {}
        self.changes = Changes()
        refs = {v["ref"] for v in rows if v["ref"]}
        emails = {v["email"].lower() for v in rows if v["email"]}
        names = {clean_name(v["name"]) for v in rows if not (v["ref"] or v["email"])}
        for person in _load(session, PERSON_COLUMNS, Person.ref, refs):
            self.by_ref.setdefault(person["ref"], person)
        for person in _load(session, PERSON_COLUMNS, Person.email, emails):
            self.by_email.setdefault(person["email"], person)
        for person in _load(session, PERSON_COLUMNS, Person.name, names):
            if not person["ref"] and not person["email"]:
                self.by_name.setdefault(person["name"], person)

    def find(self, name: str, email: str, ref: str) -> Row | None:
        if ref and ref in self.by_ref:
            return self.by_ref[ref]
        if email and email in self.by_email:
            return self.by_email[email]
        if ref or email:
            return None  # a different ID or email is a different person
        return self.by_name.get(name)

    def register(self, values: Values) -> Row:
        """As ``register_person``: find the person or add them; fill in what was missing."""
        name, email = clean_name(values["name"]), values["email"].lower()
        ref = values["ref"]
        person = self.find(name, email, ref)
        if person is None:
            person = {"id": None, "name": name, "email": "", "ref": ""}
            person["created_at"] = utcnow()
            self.changes.new.append(person)
        before = dict(person)
        person["name"], person["name_folded"] = name, fold(name)
        person["email"] = person["email"] or email
        person["ref"] = person["ref"] or ref
        if person["id"] is not None and person != before:
            self.changes.changed[person["id"]] = person
        self._index(person)
        return person

    def _index(self, person: Row) -> None:
        if person["ref"]:
            self.by_ref.setdefault(person["ref"], person)
        if person["email"]:
            self.by_email.setdefault(person["email"], person)
        if person["ref"] or person["email"]:
            if self.by_name.get(person["name"]) is person:
                del self.by_name[person["name"]]
        else:
            self.by_name.setdefault(person["name"], person)


PERSON_COLUMNS = (Person.id, Person.name, Person.name_folded, Person.email, Person.ref)


def _load(
    session: Session, columns: tuple[Any, ...], where: Any, wanted: Iterable[Any]
) -> list[Row]:
    """Rows (as dictionaries) whose ``where`` column holds one of ``wanted``, by id."""
    values = sorted(wanted)
    found: list[Row] = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        stmt = select(*columns).where(col(where).in_(chunk)).order_by(columns[0])
        found.extend(dict(row._mapping) for row in session.execute(stmt))
    return found


def register_people(session: Session, rows: list[Values]) -> list[Row]:
    """The person of every row; new people inserted, changed ones updated, at once."""
    registry = Registry(session, rows)
    people = [registry.register(values) for values in rows]
    registry.changes.write(session, Person, ("name", "email", "ref"))
    return people


PARTICIPANT_COLUMNS = (
    Participant.id,
    Participant.name,
    Participant.group_name,
    Participant.email,
)


def save_participants(
    session: Session,
    meeting_id: int,
    rows: list[Values],
    people: list[Row],
    identity: Callable[[Values], str],
    order: int,
) -> tuple[list[Row], dict[str, int]]:
    """Update the participants the rows match, add the others; counts of both."""
    existing = _participants_by_identity(session, meeting_id, identity)
    by_person = _participants_by_person(session, meeting_id)
    changes = Changes()
    counts = {"added": 0, "updated": 0}
    saved: list[Row] = []
    for values, person in zip(rows, people, strict=True):
        found = existing.get(identity(values)) or by_person.get(person["id"])
        counts["updated" if found else "added"] += 1
        participant = _participant_row(values, found)
        if found is None:
            participant.update(_new_participant(meeting_id, person["id"], order))
            changes.new.append(participant)
            by_person[person["id"]] = participant
        elif found.get("id") is None:  # added by an earlier row of this file
            found.update(participant)
            participant = found
        else:
            changes.changed[found["id"]] = participant
        order += 1
        saved.append(participant)
    changes.write(session, Participant, ("key",))
    return saved, counts


def _participants_by_identity(
    session: Session, meeting_id: int, identity: Callable[[Values], str]
) -> dict[str, Row]:
    where = Participant.meeting_id
    found: dict[str, Row] = {}
    for row in _load(session, PARTICIPANT_COLUMNS, where, [meeting_id]):
        values = {
            "name": row["name"],
            "group": row["group_name"],
            "email": row["email"],
            "ref": "",
        }
        found[identity(values)] = row
        if row["email"]:
            found["email:" + row["email"].lower()] = row
    return found


def _participants_by_person(session: Session, meeting_id: int) -> dict[int, Row]:
    stmt = (
        select(ParticipantProfile.person_id, Participant.id)
        .join(Participant, Participant.id == ParticipantProfile.participant_id)
        .where(Participant.meeting_id == meeting_id)
        .order_by(col(Participant.id).desc())
    )
    return {pid: {"id": ident} for pid, ident in session.execute(stmt) if pid}


def _participant_row(values: Values, found: Row | None) -> Row:
    # a participant added by an earlier row of the file has no id yet
    row = {"id": found["id"]} if found and found.get("id") is not None else {}
    row.update(
        name=values["name"],
        role=values["role"],
        group_name=values["group"],
        number=values["number"],
        title=values["title"],
        email=values["email"],
        active=True,
    )
    return row


def _new_participant(meeting_id: int, person_id: int, order: int) -> Row:
    return {
        "meeting_id": meeting_id,
        "key": f"person-{person_id}",
        "access_code": new_access_code(),
        "sort_order": order,
    }


def link_profiles(
    session: Session,
    participants: list[Row],
    people: list[Row],
    rows: list[Values],
) -> None:
    """As ``link_participant`` for every row: the person and seat of each participant."""
    key = ParticipantProfile.participant_id
    ids = {p["id"] for p in participants}
    known = {row["participant_id"] for row in _load(session, (key,), key, ids)}
    changes = Changes()
    for participant, person, values in zip(participants, people, rows, strict=True):
        profile = {
            "participant_id": participant["id"],
            "person_id": person["id"],
            "seat": values["seat"],
        }
        if participant["id"] in known:
            changes.changed[participant["id"]] = profile
        else:
            changes.new.append(profile)
            known.add(participant["id"])
    changes.write(session, ParticipantProfile)


MEMBER_COLUMNS = (
    BodyMember.id,
    BodyMember.person_id,
    BodyMember.group_name,
    BodyMember.title,
    BodyMember.active,
)


def add_members(
    session: Session, body_id: int, people: list[Row], rows: list[Values]
) -> None:
    """As ``add_member`` for every row: each person a member of the meeting's body."""
    where = BodyMember.body_id
    members = {
        m["person_id"]: m for m in _load(session, MEMBER_COLUMNS, where, [body_id])
    }
    changes = Changes()
    for person, values in zip(people, rows, strict=True):
        member = members.get(person["id"])
        if member is None:
            member = {"body_id": body_id, "person_id": person["id"]}
            member.update(group_name="", title="")
            members[person["id"]] = member
            changes.new.append(member)
        elif member.get("id") is not None:
            changes.changed[member["id"]] = member
        member["group_name"] = values["group"] or member["group_name"]
        member["title"] = values["title"] or member["title"]
        member["active"] = True
    changes.write(session, BodyMember)
