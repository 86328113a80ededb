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
- Warning: two rows with the same name in different delegations and nothing
  else (ID number or email) to tell whether they are the same person.
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

from server.access import new_access_code
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.eventlog import AUDIENCE_ALL, record_event
from server.imports.tables import SourceRow, Table, read_table
from server.imports.vietnamese import fold
from server.models import Participant, ParticipantImport, ParticipantProfile
from server.organization import (
    add_member,
    clean_name,
    ensure_not_archived,
    find_person,
    link_participant,
    meeting_record,
    register_person,
    seats_of,
)
from server.staff import Actor, record_change

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
    for col, name in columns.items():
        text = source.values[col] if col < len(source.values) else ""
        values[name] = " ".join(text.split()) if name != "title" else text.strip()
        if col in source.notes:
            notes[name] = source.notes[col]
    row = PreviewRow(source.number, {})
    row.values = _combine_name(values)
    for name, note in notes.items():
        _note_cell(row, "name" if name in ("family", "given") else name, note)
    return row


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
    row.values["role"] = ROLE_WORDS.get(_heading(role), role) if role else "delegate"
    email = row.values.get("email", "")
    if email and ("@" not in email or " " in email or email.startswith("@")):
        row.add("email", "error", '"{email}" is not an email address.', email=email)


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


def preview_participants(
    session: Session, meeting_id: int, data: bytes, filename: str, actor: Actor
) -> dict[str, Any]:
    """Read and check a file, keep the preview, and return it with its id."""
    ensure_not_archived(session, meeting_id)
    preview = build_preview(read_table(data, filename), filename)
    _mark_existing(session, meeting_id, preview)
    stored = ParticipantImport(
        meeting_id=meeting_id,
        filename=filename[:200],
        preview_json=json.dumps(preview, ensure_ascii=False),
        created_by=actor.name,
    )
    session.add(stored)
    session.flush()
    return {"import_id": stored.id, **preview}


def _mark_existing(session: Session, meeting_id: int, preview: dict[str, Any]) -> None:
    """Rows that update a participant already in the meeting; seats already taken."""
    existing = _participants_by_identity(session, meeting_id)
    seats = {
        seat.upper(): pid for pid, seat in seats_of(session, meeting_id).items() if seat
    }
    for row in preview["rows"]:
        values = {name: cell["value"] for name, cell in row["cells"].items()}
        match = _existing_participant(session, meeting_id, existing, row["row"], values)
        if match is not None and row["status"] != "error":
            row["status"] = "update"
        seat = values.get("seat", "").upper()
        holder = seats.get(seat)
        if seat and holder is not None and (match is None or match.id != holder):
            problem = Problem(
                "error",
                "Seat {seat} is already given to another participant of this meeting.",
                {"seat": values["seat"]},
            )
            row["cells"]["seat"]["problems"].append(problem.as_dict())
            row["status"] = "error"
            preview["errors"] += 1
            preview["can_commit"] = False


def _existing_participant(
    session: Session,
    meeting_id: int,
    existing: dict,
    number: int,
    values: dict[str, str],
) -> Participant | None:
    found = existing.get(_identity(PreviewRow(number, values)))
    if found is None and values.get("name"):
        person = find_person(
            session, values["name"], values.get("email", ""), values.get("ref", "")
        )
        found = _by_person(session, meeting_id, person.id) if person else None
    return found


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
    session: Session, meeting_id: int, import_id: int, actor: Actor
) -> dict[str, int]:
    """Import every row of a checked preview, or none of them."""
    ensure_not_archived(session, meeting_id)
    stored = get_import(session, meeting_id, import_id)
    if stored.state != "preview":
        raise ConflictError(
            "This file was already imported. Upload it again to import it once more."
        )
    preview = json.loads(stored.preview_json)
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
        f"imported {counts['added']} new and updated {counts['updated']} participants from {stored.filename}",
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
    body_id = meeting_record(session, meeting_id).body_id
    existing = _participants_by_identity(session, meeting_id)
    order = _next_sort_order(session, meeting_id)
    counts = {"added": 0, "updated": 0}
    for row in rows:
        values = {name: cell["value"] for name, cell in row["cells"].items()}
        person = register_person(
            session, values["name"], values["email"], values["ref"]
        )
        participant = existing.get(_identity(PreviewRow(row["row"], values)))
        participant = participant or _by_person(session, meeting_id, person.id)
        counts["updated" if participant else "added"] += 1
        participant = _save_participant(
            session, meeting_id, participant, person.id, values, order
        )
        order += 1
        link_participant(session, participant.id, person.id, values["seat"])
        if body_id is not None:
            add_member(session, body_id, person.id, values["group"], values["title"])
    return counts


def _by_person(session: Session, meeting_id: int, person_id: int) -> Participant | None:
    stmt = (
        select(Participant)
        .join(ParticipantProfile)
        .where(
            Participant.meeting_id == meeting_id,
            ParticipantProfile.person_id == person_id,
        )
    )
    return session.exec(stmt).first()


def _save_participant(
    session: Session,
    meeting_id: int,
    participant: Participant | None,
    person_id: int,
    values: dict[str, str],
    order: int,
) -> Participant:
    if participant is None:
        participant = Participant(
            meeting_id=meeting_id,
            key=f"person-{person_id}",
            name=values["name"],
            role=values["role"],
            access_code=new_access_code(),
            sort_order=order,
        )
    participant.name, participant.role = values["name"], values["role"]
    participant.group_name = values["group"]
    participant.number, participant.title = values["number"], values["title"]
    participant.email = values["email"]
    participant.active = True
    session.add(participant)
    session.flush()
    return participant


def _next_sort_order(session: Session, meeting_id: int) -> int:
    stmt = select(Participant.sort_order).where(Participant.meeting_id == meeting_id)
    return max(session.exec(stmt), default=-1) + 1


def discard_import(session: Session, meeting_id: int, import_id: int) -> None:
    stored = get_import(session, meeting_id, import_id)
    if stored.state == "preview":
        stored.state = "discarded"
        session.add(stored)
