"""Participants of a meeting, from the agenda file itself and from its CSV list.

Every participant needs a name and a role. A participant without a key gets one
made from their number or, failing that, from their name. Keys are unique across
both sources together, and at least one participant chairs the meeting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from server import _agendamessages as msg
from server._agendacsv import read_csv_rows
from server._agendafields import FieldReader, Place, clean_text, slugify
from server._agendaspec import ROLES, ParticipantSpec

PARTICIPANT_FIELDS = ("key", "name", "role", "group", "number", "title", "email")
NAME_LIMIT = 200
NUMBER_LIMIT = 64
EMAIL_LIMIT = 254
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def read_participants(
    reader: FieldReader, data: dict[str, Any], folder: Path
) -> list[ParticipantSpec]:
    top = Place("", "agenda file")
    entries = reader.tables(data, "participants", top, "participant")
    for place, table in entries:
        reader.check_fields(table, PARTICIPANT_FIELDS, place)
    csv_name = reader.text(data, "participants_csv", top, limit=1_000)
    if csv_name is not None:
        entries += read_csv_rows(reader, folder, data["participants_csv"].strip())

    people = [read_participant(reader, table, place) for place, table in entries]
    ensure_unique_keys(reader, people, [place for place, _ in entries])
    if not any(is_chair(table) for _, table in entries):
        reader.report("participants", msg.NO_CHAIR)
    return people


def read_participant(
    reader: FieldReader, table: dict[str, Any], place: Place
) -> ParticipantSpec:
    name = reader.text(table, "name", place, NAME_LIMIT, required=True)
    return ParticipantSpec(
        key=read_key(reader, table, place, name),
        name=name or "",
        role=read_role(reader, table, place),
        group=reader.text(table, "group", place, NAME_LIMIT),
        number=reader.text(table, "number", place, NUMBER_LIMIT),
        title=reader.text(table, "title", place, NAME_LIMIT),
        email=read_email(reader, table, place),
    )


def read_key(
    reader: FieldReader, table: dict[str, Any], place: Place, name: str | None
) -> str:
    """The given key, or one made from the number or the name."""
    given = table.get("key")
    if given is None or (isinstance(given, str) and not given.strip()):
        return derive_key(reader, table, place, name)
    return reader.key(table, "key", place) or ""


def derive_key(
    reader: FieldReader, table: dict[str, Any], place: Place, name: str | None
) -> str:
    number = table.get("number")
    if isinstance(number, str) and slugify(number):
        return slugify(number)
    if name is None:
        return ""
    key = slugify(name)
    if not key:
        reader.report(place.of("key"), msg.NO_KEY_FROM_NAME.format(name=name))
    return key


def read_role(reader: FieldReader, table: dict[str, Any], place: Place) -> str:
    role = reader.text(table, "role", place, NAME_LIMIT, required=True)
    if role is None:
        return ""
    if role.lower() not in ROLES:
        message = msg.UNKNOWN_ROLE.format(value=role, allowed=", ".join(ROLES))
        reader.report(place.of("role"), message)
    return role.lower()


def read_email(reader: FieldReader, table: dict[str, Any], place: Place) -> str | None:
    email = reader.text(table, "email", place, EMAIL_LIMIT)
    if email is not None and not EMAIL_PATTERN.fullmatch(email):
        reader.report(place.of("email"), msg.BAD_EMAIL.format(value=email))
    return email


def ensure_unique_keys(
    reader: FieldReader, people: list[ParticipantSpec], places: list[Place]
) -> None:
    first_seen: dict[str, str] = {}
    for person, place in zip(people, places, strict=True):
        if not person.key:
            continue
        if person.key in first_seen:
            message = msg.DUPLICATE_PARTICIPANT.format(
                key=person.key, first=first_seen[person.key]
            )
            reader.report(place.of("key"), message)
        first_seen.setdefault(person.key, place.of("key"))


def is_chair(table: dict[str, Any]) -> bool:
    role = table.get("role")
    return isinstance(role, str) and clean_text(role).lower() == "chair"
