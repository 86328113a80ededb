"""Participant lists from CSV and XLSX: a preview with problems per cell, then a commit.

Rules:
- The header is the first row (of the first 20) that names a column for names:
  "Họ và tên", "Name", or "Họ" and "Tên" side by side. Rows above it (titles,
  empty rows) are skipped; columns with other headings are listed as not
  imported.
- Every row is shown as it will be imported, each cell with its problems.
  Errors block the import; warnings do not.
- Errors: a missing name, an unknown role, an email that is not one, a seat
  given twice, the same person twice, one person in two delegations, a formula
  without a saved result.
- Error: a cell with control characters (NUL and the like, which no name
  holds and PostgreSQL refuses); the preview shows the cell without them.
- Warning: two rows with the same name in different delegations and nothing
  else (ID number or email) to tell whether they are the same person.
- Warning: a cell that begins with =, +, - or @, which a spreadsheet could run
  as a formula. It is imported as written; CSV exports neutralise it
  (``tables.spreadsheet_safe``).
- An empty role keeps the role of someone already in the meeting; a new
  participant without a role is a delegate.
- Only the organizer may give or take away the roles organizer, chair and
  secretary: for anyone else, such a row is an error, and a preview that
  changes them cannot be committed by them.
- Reading the file (``read_participant_file``) needs no database: the web
  handler and the command line run it before they ask the single writer to
  keep the preview (``keep_preview``), so a big file never holds up writes.
- The commit imports every row or none. A person already registered is found
  again (ID number, then email, then exact name); a person already taking part
  in the meeting is updated and keeps their access code; everyone else gets a
  new participant with a new access code.
- A preview can be committed once, and only while the meeting is not archived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from server.errors import (
    ConflictError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from server.eventlog import AUDIENCE_ALL, record_event
from server.imports import _bulk
from server.imports.tables import FORMULA_STARTS, SourceRow, Table, read_table
from server.imports.vietnamese import fold
from server.models import Participant, ParticipantImport, ParticipantProfile, Person
from server.organization import (
    clean_name,
    ensure_not_archived,
    meeting_record,
    seats_of,
)
from server.staff import STAFF_MEETING_ROLES, Actor, record_change

FIELDS = ("name", "role", "group", "seat", "number", "title", "email", "ref")
# folded headings (see vietnamese.fold) -> field
HEADINGS = {
    "name": "name",
    "full name": "name",
    "ho va ten": "name",
    "ho ten": "name",
    "ten day du": "name",
    "ho va ten dai bieu": "name",
    "family name": "family",
    "last name": "family",
    "surname": "family",
    "ho": "family",
    "ho dem": "family",
    "ho va ten dem": "family",
    "ho va dem": "family",
    "given name": "given",
    "first name": "given",
    "ten": "given",
    "role": "role",
    "vai tro": "role",
    "delegation": "group",
    "group": "group",
    "doan": "group",
    "doan dai bieu": "group",
    "to": "group",
    "don vi": "group",
    "unit": "group",
    "seat": "seat",
    "ghe": "seat",
    "so ghe": "seat",
    "cho ngoi": "seat",
    "vi tri ngoi": "seat",
    "number": "number",
    "delegate number": "number",
    "ma dai bieu": "number",
    "so the": "number",
    "so dai bieu": "number",
    "title": "title",
    "position": "title",
    "chuc vu": "title",
    "chuc danh": "title",
    "email": "email",
    "e-mail": "email",
    "thu dien tu": "email",
    "id": "ref",
    "id number": "ref",
    "cccd": "ref",
    "cmnd": "ref",
    "so cccd": "ref",
    "so cmnd": "ref",
    "so dinh danh": "ref",
    "member number": "ref",
    "ma so": "ref",
}
ROLE_WORDS = {
    "delegate": "delegate",
    "dai bieu": "delegate",
    "chair": "chair",
    "chu toa": "chair",
    "chu tri": "chair",
    "secretary": "secretary",
    "thu ky": "secretary",
    "organizer": "organizer",
    "ban to chuc": "organizer",
    "to chuc": "organizer",
    "guest": "guest",
    "khach": "guest",
    "khach moi": "guest",
}
HEADER_SEARCH_ROWS = 20
MAX_NAME = 200
LOOKUP_CHUNK = 500  # values per IN (...) when finding people again


@dataclass
class Problem:
    level: str  # error, warning, note
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "template": self.template,
            "params": {k: str(v) for k, v in self.params.items()},
            "message": self.template.format(**self.params),
        }


@dataclass
class PreviewRow:
    row: int
    values: dict[str, str]
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    status: str = "new"

    def add(self, column: str, level: str, template: str, **params: Any) -> None:
        self.problems.setdefault(column, []).append(Problem(level, template, params))

    @property
    def has_errors(self) -> bool:
        return any(p.level == "error" for ps in self.problems.values() for p in ps)

    def as_dict(self) -> dict[str, Any]:
        cells = {
            name: {
                "value": self.values.get(name, ""),
                "problems": [p.as_dict() for p in self.problems.get(name, [])],
            }
            for name in FIELDS
        }
        return {
            "row": self.row,
            "status": "error" if self.has_errors else self.status,
            "cells": cells,
        }


# -- header --------------------------------------------------------------------


def find_header(table: Table) -> tuple[int, dict[int, str], list[str]]:
    """Index of the header row, column -> field, and the headings not imported."""
    for index, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        columns = {
            col: HEADINGS.get(_heading(text)) for col, text in enumerate(row.values)
        }
        fields = set(columns.values())
        if "name" in fields or {"family", "given"} <= fields:
            ignored = [
                row.values[col]
                for col, found in columns.items()
                if found is None and row.values[col]
            ]
            return index, {c: f for c, f in columns.items() if f}, ignored
    raise InvalidInputError(
        'The file has no column for names. Put a heading such as "Họ và tên" or "Name" above the names, and try again.'
    )


def _heading(text: str) -> str:
    return " ".join(fold(text).replace(":", " ").replace("*", " ").split())


# -- rows ------------------------------------------------------------------------


def read_rows(table: Table, header: int, columns: dict[int, str]) -> list[PreviewRow]:
    return [_read_row(row, columns) for row in table.rows[header + 1 :]]


def _read_row(source: SourceRow, columns: dict[int, str]) -> PreviewRow:
    values: dict[str, str] = {}
    notes: dict[str, str] = {}
    controls: set[str] = set()
    for col, name in columns.items():
        text = source.values[col] if col < len(source.values) else ""
        clean = _without_controls(text)
        if clean != text:
            controls.add(_cell_of(name))
        values[name] = " ".join(clean.split()) if name != "title" else clean.strip()
        if col in source.notes:
            notes[name] = source.notes[col]
    row = PreviewRow(source.number, {})
    row.values = _combine_name(values)
    for name, note in notes.items():
        _note_cell(row, _cell_of(name), note)
    for name in sorted(controls):
        row.add(
            name,
            "error",
            "This cell holds control characters (such as NUL) that no name or text may contain. Delete them in the file and upload it again.",
        )
    return row


def _cell_of(name: str) -> str:
    """The preview column of a file column: family and given names make the name."""
    return "name" if name in ("family", "given") else name


def _without_controls(text: str) -> str:
    """``text`` without control characters other than line breaks and tabs."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isprintable() or ch.isspace())


def _combine_name(values: dict[str, str]) -> dict[str, str]:
    if not values.get("name"):
        values["name"] = " ".join(
            v for v in (values.get("family", ""), values.get("given", "")) if v
        )
    values.pop("family", None)
    values.pop("given", None)
    values["name"] = clean_name(values["name"])
    return values


def _note_cell(row: PreviewRow, column: str, note: str) -> None:
    if note.startswith("formula"):
        row.add(
            column,
            "error",
            "This cell holds a formula whose result was not saved. Open the file in Excel, save it, and upload it again.",
        )
    else:
        row.add(column, "note", "Taken from a merged cell ({note}).", note=note)


def check_row(row: PreviewRow) -> None:
    name = row.values.get("name", "")
    if not name:
        row.add("name", "error", "The name is missing.")
    elif len(name) > MAX_NAME:
        row.add(
            "name",
            "error",
            "The name is longer than {limit} characters.",
            limit=MAX_NAME,
        )
    role = row.values.get("role", "")
    if role and ROLE_WORDS.get(_heading(role)) is None:
        row.add(
            "role",
            "error",
            'Unknown role "{role}": write delegate, chair, secretary, organizer or guest (đại biểu, chủ tọa, thư ký, ban tổ chức, khách mời).',
            role=role,
        )
    row.values["role"] = ROLE_WORDS.get(_heading(role), role) if role else ""
    email = row.values.get("email", "")
    if email and ("@" not in email or " " in email or email.startswith("@")):
        row.add("email", "error", '"{email}" is not an email address.', email=email)
    _warn_formulas(row)


def _warn_formulas(row: PreviewRow) -> None:
    for column, value in row.values.items():
        if value.startswith(FORMULA_STARTS) and column != "role":
            row.add(
                column,
                "warning",
                'This cell begins with "{char}", so a spreadsheet could run it as a formula. It is imported as written; files exported from Plenary put an apostrophe before it.',
                char=value[0],
            )


def check_duplicates(rows: list[PreviewRow]) -> None:
    """Seats given twice, people listed twice or in two delegations."""
    _check_seats(rows)
    seen: dict[str, PreviewRow] = {}
    by_name: dict[str, list[PreviewRow]] = {}
    for row in rows:
        identity = _identity(row)
        if identity in seen:
            _flag_same_person(row, seen[identity])
        else:
            seen[identity] = row
        if row.values.get("name"):
            by_name.setdefault(row.values["name"].lower(), []).append(row)
    for same in by_name.values():
        _warn_same_name(same)


def _identity(row: PreviewRow) -> str:
    if row.values.get("ref"):
        return "ref:" + row.values["ref"]
    if row.values.get("email"):
        return "email:" + row.values["email"].lower()
    group = row.values.get("group", "").lower()
    return f"name:{row.values.get('name', '').lower()}|{group}"


def _flag_same_person(row: PreviewRow, first: PreviewRow) -> None:
    group, other = row.values.get("group", ""), first.values.get("group", "")
    if group.lower() != other.lower():
        row.add(
            "group",
            "error",
            'This person is also in row {row}, in the delegation "{group}". A participant belongs to one delegation: delete one of the rows.',
            row=first.row,
            group=other,
        )
    else:
        row.add(
            "name",
            "error",
            "This person is already in row {row}. Delete one of the rows.",
            row=first.row,
        )


def _warn_same_name(rows: list[PreviewRow]) -> None:
    undecided = [
        r for r in rows if not r.values.get("ref") and not r.values.get("email")
    ]
    groups = {r.values.get("group", "").lower() for r in undecided}
    if len(undecided) < 2 or len(groups) < 2:
        return
    for row in undecided[1:]:
        row.add(
            "name",
            "warning",
            'Row {row} has the same name in the delegation "{group}". If it is the same person, delete one row; if not, add an ID number or an email to tell them apart.',
            row=undecided[0].row,
            group=undecided[0].values.get("group", ""),
        )


def _check_seats(rows: list[PreviewRow]) -> None:
    taken: dict[str, PreviewRow] = {}
    for row in rows:
        seat = row.values.get("seat", "").upper()
        if not seat:
            continue
        if seat in taken:
            row.add(
                "seat",
                "error",
                "Seat {seat} is also given to row {row}.",
                seat=row.values["seat"],
                row=taken[seat].row,
            )
        else:
            taken[seat] = row


# -- preview and commit ------------------------------------------------------------


def build_preview(table: Table, filename: str) -> dict[str, Any]:
    """The preview of a file: every row with its problems, and whether it may be committed."""
    header, columns, ignored = find_header(table)
    rows = read_rows(table, header, columns)
    for row in rows:
        check_row(row)
    check_duplicates(rows)
    errors = sum(
        1 for r in rows for ps in r.problems.values() for p in ps if p.level == "error"
    )
    warnings = sum(
        1
        for r in rows
        for ps in r.problems.values()
        for p in ps
        if p.level == "warning"
    )
    headings = {field: table.rows[header].values[col] for col, field in columns.items()}
    return {
        "filename": filename,
        "kind": table.kind,
        "encoding": table.encoding,
        "separator": table.separator,
        "header_row": table.rows[header].number,
        "columns": headings,
        "ignored_columns": ignored,
        "rows": [row.as_dict() for row in rows],
        "errors": errors,
        "warnings": warnings,
        "can_commit": bool(rows) and errors == 0,
    }


def read_participant_file(data: bytes, filename: str) -> dict[str, Any]:
    """Read and check a file on its own; CPU work only, run it outside the writer."""
    return build_preview(read_table(data, filename), filename)


def keep_preview(
    session: Session,
    meeting_id: int,
    preview: dict[str, Any],
    actor: Actor,
    may_change_staff_roles: bool = True,
) -> dict[str, Any]:
    """Check a read file against the meeting, keep the preview, return it with its id."""
    ensure_not_archived(session, meeting_id)
    filename = preview["filename"]
    _mark_existing(session, meeting_id, preview, may_change_staff_roles)
    stored = ParticipantImport(
        meeting_id=meeting_id,
        filename=filename[:200],
        preview_json=json.dumps(preview, ensure_ascii=False),
        created_by=actor.name,
    )
    session.add(stored)
    session.flush()
    return {"import_id": stored.id, **preview}


def _mark_existing(
    session: Session,
    meeting_id: int,
    preview: dict[str, Any],
    may_change_staff_roles: bool,
) -> None:
    """Rows that update a participant already in the meeting; seats already taken;
    roles: kept when empty, staff roles changed only by the organizer."""
    existing = _participants_by_identity(session, meeting_id)
    registered = _registered_in_meeting(session, meeting_id, preview["rows"])
    seats = {
        seat.upper(): pid for pid, seat in seats_of(session, meeting_id).items() if seat
    }
    preview["changes_staff_roles"] = False
    for row in preview["rows"]:
        values = {name: cell["value"] for name, cell in row["cells"].items()}
        match = existing.get(_identity(PreviewRow(row["row"], values)))
        match = match or _registered_match(registered, values)
        if match is not None and row["status"] != "error":
            row["status"] = "update"
        _settle_role(preview, row, match, may_change_staff_roles)
        seat = values.get("seat", "").upper()
        holder = seats.get(seat)
        if seat and holder is not None and (match is None or match.id != holder):
            _add_error(
                preview,
                row,
                "seat",
                "Seat {seat} is already given to another participant of this meeting.",
                seat=values["seat"],
            )


def _add_error(
    preview: dict[str, Any], row: dict[str, Any], column: str, template: str, **params
) -> None:
    row["cells"][column]["problems"].append(
        Problem("error", template, params).as_dict()
    )
    row["status"] = "error"
    preview["errors"] += 1
    preview["can_commit"] = False


def _settle_role(
    preview: dict[str, Any],
    row: dict[str, Any],
    match: Participant | None,
    may_change_staff_roles: bool,
) -> None:
    cell = row["cells"]["role"]
    before = match.role if match is not None else None
    cell["value"] = cell["value"] or before or "delegate"
    after = cell["value"]
    if after == before or not ({after, before} & STAFF_MEETING_ROLES):
        return
    preview["changes_staff_roles"] = True
    if may_change_staff_roles:
        return
    if before in STAFF_MEETING_ROLES:
        _add_error(
            preview,
            row,
            "role",
            "This person is {role} of this meeting, and only the organizer may change that role. Leave the role empty to keep it.",
            role=before,
        )
    else:
        _add_error(
            preview,
            row,
            "role",
            "Only the organizer may make someone {role}. Write delegate or guest, or leave this row to the organizer.",
            role=after,
        )


Registered = dict[str, Participant]


def _registered_in_meeting(
    session: Session, meeting_id: int, rows: list[dict[str, Any]]
) -> Registered:
    """Participants of the meeting found through the registry, as ``find_person``
    finds people: by ID number, by email, or by exact name when neither is given.
    A few queries for the whole file instead of a few per row."""
    refs, emails, names = set(), set(), set()
    for row in rows:
        values = {name: cell["value"] for name, cell in row["cells"].items()}
        if values.get("ref"):
            refs.add(values["ref"])
        if values.get("email"):
            emails.add(values["email"].lower())
        if values.get("name") and not values.get("ref") and not values.get("email"):
            names.add(clean_name(values["name"]))
    people: dict[str, int] = {}
    for key, column, wanted in (
        ("ref", Person.ref, refs),
        ("email", Person.email, emails),
        ("name", Person.name, names),
    ):
        for person in _people_where(session, column, wanted, key == "name"):
            value = getattr(person, key)
            people.setdefault(f"{key}:{value}", person.id)
    in_meeting = _participants_by_person(session, meeting_id, set(people.values()))
    return {
        key: in_meeting[person_id]
        for key, person_id in people.items()
        if person_id in in_meeting
    }


def _people_where(
    session: Session, column: Any, wanted: set[str], unidentified: bool
) -> list[Person]:
    found: list[Person] = []
    values = sorted(wanted)
    for start in range(0, len(values), LOOKUP_CHUNK):
        stmt = select(Person).where(column.in_(values[start : start + LOOKUP_CHUNK]))
        if unidentified:
            stmt = stmt.where(Person.ref == "", Person.email == "")
        found.extend(session.exec(stmt.order_by(Person.id)))
    return found


def _participants_by_person(
    session: Session, meeting_id: int, person_ids: set[int]
) -> dict[int, Participant]:
    if not person_ids:
        return {}
    stmt = (
        select(ParticipantProfile.person_id, Participant)
        .join(Participant, Participant.id == ParticipantProfile.participant_id)
        .where(Participant.meeting_id == meeting_id)
    )
    return {
        person_id: participant
        for person_id, participant in session.exec(stmt)
        if person_id in person_ids
    }


def _registered_match(
    registered: Registered, values: dict[str, str]
) -> Participant | None:
    """The participant ``find_person`` would lead to, from the preloaded registry."""
    if not values.get("name"):
        return None
    ref, email = values.get("ref", ""), values.get("email", "").lower()
    if ref and f"ref:{ref}" in registered:
        return registered[f"ref:{ref}"]
    if email and f"email:{email}" in registered:
        return registered[f"email:{email}"]
    if ref or email:
        return None
    return registered.get("name:" + clean_name(values["name"]))


def _participants_by_identity(
    session: Session, meeting_id: int
) -> dict[str, Participant]:
    stmt = select(Participant).where(Participant.meeting_id == meeting_id)
    found: dict[str, Participant] = {}
    for person in session.exec(stmt):
        values = {
            "name": person.name,
            "group": person.group_name,
            "email": person.email,
            "ref": "",
        }
        found[_identity(PreviewRow(0, values))] = person
        if person.email:
            found["email:" + person.email.lower()] = person
    return found


def get_import(session: Session, meeting_id: int, import_id: int) -> ParticipantImport:
    stored = session.get(ParticipantImport, import_id)
    if stored is None or stored.meeting_id != meeting_id:
        raise NotFoundError(
            "There is no participant import {id} in this meeting. Upload the file again.",
            id=import_id,
        )
    return stored


def commit_participants(
    session: Session,
    meeting_id: int,
    import_id: int,
    actor: Actor,
    may_change_staff_roles: bool = True,
) -> dict[str, int]:
    """Import every row of a checked preview, or none of them."""
    ensure_not_archived(session, meeting_id)
    stored = get_import(session, meeting_id, import_id)
    if stored.state != "preview":
        raise ConflictError(
            "This file was already imported. Upload it again to import it once more."
        )
    preview = json.loads(stored.preview_json)
    if preview.get("changes_staff_roles") and not may_change_staff_roles:
        raise NotAllowedError(
            "You may not import this file: it gives or changes the roles organizer, chair or secretary, and only the organizer may do that."
        )
    if not preview["can_commit"]:
        raise ConflictError(
            "Problems left in the file: {count}. Correct them in the file and upload it again.",
            count=preview["errors"],
        )

    counts = _apply_rows(session, meeting_id, preview["rows"])
    stored.state = "committed"
    session.add(stored)
    record_change(
        session,
        actor,
        "participants.import",
        "imported {added} new and updated {updated} participants from {file}",
        values={"added": counts["added"], "updated": counts["updated"], "file": stored.filename},
        meeting_id=meeting_id,
        details={"import_id": stored.id, **counts},
    )
    record_event(
        session,
        meeting_id,
        "meeting.changed",
        {"counts": counts},
        audience=AUDIENCE_ALL,
        actor_id=actor.participant_id,
    )
    return counts


def _apply_rows(session: Session, meeting_id: int, rows: list[dict]) -> dict[str, int]:
    """Every row at once: one query per kind of lookup, one write per table."""
    body_id = meeting_record(session, meeting_id).body_id
    values = [
        {name: cell["value"] for name, cell in row["cells"].items()} for row in rows
    ]
    order = _next_sort_order(session, meeting_id)

    people = _bulk.register_people(session, values)
    participants, counts = _bulk.save_participants(
        session, meeting_id, values, people, _identity_of, order
    )
    _bulk.link_profiles(session, participants, people, values)
    if body_id is not None:
        _bulk.add_members(session, body_id, people, values)
    return counts


def _identity_of(values: dict[str, str]) -> str:
    return _identity(PreviewRow(0, values))


def _next_sort_order(session: Session, meeting_id: int) -> int:
    stmt = select(Participant.sort_order).where(Participant.meeting_id == meeting_id)
    return max(session.exec(stmt), default=-1) + 1


def discard_import(session: Session, meeting_id: int, import_id: int) -> None:
    stored = get_import(session, meeting_id, import_id)
    if stored.state == "preview":
        stored.state = "discarded"
        session.add(stored)
