"""Participant import: preview with problems per cell, then all or nothing
(server/imports/participants.py). The tests follow the module's rules in order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.errors import (
    ConflictError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from server.imports.participants import (
    commit_participants,
    keep_preview,
    read_participant_file,
)
from server.models import Participant, ParticipantProfile, Person
from server.staff import COMMAND_LINE
from tests import _organize_fixtures
from tests._organize_fixtures import add_meeting
from tests._participant_files import HEADER, PEOPLE, csv_text, encode, xlsx_bytes

org_store = _organize_fixtures.org_store  # the fixture, under its own name


def preview(store, meeting_id, data, filename="dai-bieu.csv", organizer=True):
    read = read_participant_file(data, filename)
    return store.write_sync(keep_preview, meeting_id, read, COMMAND_LINE, organizer)


def commit(store, meeting_id, import_id):
    return store.write_sync(commit_participants, meeting_id, import_id, COMMAND_LINE)


def participants(store, meeting_id):
    def read(session):
        stmt = select(Participant).where(Participant.meeting_id == meeting_id)
        return {p.name: p for p in session.exec(stmt)}

    return store.read_sync(read)


def problems(result, row_index, column):
    return [
        p["message"] for p in result["rows"][row_index]["cells"][column]["problems"]
    ]


def test_the_header_may_sit_below_a_title_and_empty_rows(org_store):
    meeting = add_meeting(org_store)
    rows = [["DANH SÁCH ĐẠI BIỂU DỰ ĐẠI HỘI"], [], HEADER, *PEOPLE]

    result = preview(
        org_store,
        meeting,
        xlsx_bytes(rows, blank_rows=1, merges=("A2:E2",)),
        "dai-hoi.xlsx",
    )

    assert result["header_row"] == 4
    assert len(result["rows"]) == 6
    assert result["can_commit"] is True


def test_family_and_given_name_columns_are_joined():
    from server.imports.participants import build_preview
    from server.imports.tables import read_table

    data = csv_text(
        [["STT", "Họ và tên đệm", "Tên", "Đoàn"], ["1", "Nguyễn Thị", "Ánh", "Huế"]]
    )

    result = build_preview(read_table(data.encode(), "x.csv"), "x.csv")

    assert result["rows"][0]["cells"]["name"]["value"] == "Nguyễn Thị Ánh"
    assert result["ignored_columns"] == ["STT"]


def test_a_file_without_a_name_column_is_refused(org_store):
    meeting = add_meeting(org_store)

    with pytest.raises(InvalidInputError) as caught:
        preview(org_store, meeting, b"Ghi chu,So ghe\nx,1\n")

    assert (
        caught.value.message
        == 'The file has no column for names. Put a heading such as "Họ và tên" or "Name" above the names, and try again.'
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_every_row_is_shown_as_it_will_be_imported(org_store, encoding):
    meeting = add_meeting(org_store)
    data = encode(csv_text([HEADER, *PEOPLE], ";"), encoding)

    result = preview(org_store, meeting, data)

    first = result["rows"][0]
    assert first["row"] == 2
    assert first["status"] == "new"
    assert {k: c["value"] for k, c in first["cells"].items()} == {
        "name": "Nguyễn Thị Ánh",
        "role": "delegate",
        "group": "Đoàn Hà Nội",
        "seat": "A01",
        "number": "",
        "title": "Đại biểu",
        "email": "",
        "ref": "",
    }


def test_cell_problems_are_marked_on_their_cells(org_store):
    meeting = add_meeting(org_store)
    rows = [
        ["Họ và tên", "Vai trò", "Email"],
        ["", "đại biểu", ""],
        ["Lê Văn An", "thủ quỹ", "an.example.org"],
        ["Trần Văn Đức", "Chủ tọa", "d@x.vn"],
    ]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 0, "name") == ["The name is missing."]
    assert problems(result, 1, "role") == [
        'Unknown role "thủ quỹ": write delegate, chair, secretary, organizer or guest (đại biểu, chủ tọa, thư ký, ban tổ chức, khách mời).'
    ]
    assert problems(result, 1, "email") == ['"an.example.org" is not an email address.']
    assert result["rows"][2]["cells"]["role"]["value"] == "chair"
    assert [r["status"] for r in result["rows"]] == ["error", "error", "new"]
    assert result["errors"] == 3
    assert result["can_commit"] is False


def test_a_formula_without_saved_result_is_an_error_on_its_cell(org_store):
    meeting = add_meeting(org_store)
    rows = [HEADER, ["Lê Văn An", '="Đoàn "&"Huế"', "", "", ""]]

    result = preview(org_store, meeting, xlsx_bytes(rows), "x.xlsx")

    assert problems(result, 0, "group") == [
        "This cell holds a formula whose result was not saved. Open the file in Excel, save it, and upload it again."
    ]


def test_a_merged_delegation_is_noted_and_given_to_each_row(org_store):
    meeting = add_meeting(org_store)
    rows = [
        HEADER,
        ["Nguyễn Thị Ánh", "Đoàn Hà Nội", "", "", ""],
        ["Phạm Thị Ân", None, "", "", ""],
    ]

    result = preview(org_store, meeting, xlsx_bytes(rows, merges=("B2:B3",)), "x.xlsx")

    assert result["rows"][1]["cells"]["group"]["value"] == "Đoàn Hà Nội"
    assert problems(result, 1, "group") == [
        "Taken from a merged cell (merged with the cell in row 2)."
    ]
    assert result["can_commit"] is True


def test_a_seat_given_twice_is_an_error(org_store):
    meeting = add_meeting(org_store)
    rows = [["Họ và tên", "Ghế"], ["Lê Văn An", "B12"], ["Trần Văn Đức", "b12"]]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 1, "seat") == ["Seat b12 is also given to row 2."]


def test_the_same_person_twice_is_an_error(org_store):
    meeting = add_meeting(org_store)
    rows = [["Họ và tên", "Đoàn"], ["Lê Văn An", "Đoàn Huế"], ["Lê Văn An", "Đoàn Huế"]]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 1, "name") == [
        "This person is already in row 2. Delete one of the rows."
    ]


def test_one_person_in_two_delegations_is_an_error(org_store):
    meeting = add_meeting(org_store)
    rows = [
        ["Họ và tên", "Đoàn", "CCCD"],
        ["Lê Văn An", "Đoàn Huế", "001085000123"],
        ["Lê Văn An", "Đoàn Hà Nội", "001085000123"],
    ]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 1, "group") == [
        'This person is also in row 2, in the delegation "Đoàn Huế". A participant belongs to one delegation: delete one of the rows.'
    ]


def test_the_same_name_in_two_delegations_without_ids_is_a_warning(org_store):
    meeting = add_meeting(org_store)
    rows = [
        ["Họ và tên", "Đoàn"],
        ["Nguyễn Văn Hùng", "Đoàn Huế"],
        ["Nguyễn Văn Hùng", "Đoàn Hà Nội"],
    ]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 1, "name") == [
        'Row 2 has the same name in the delegation "Đoàn Huế". If it is the same person, delete one row; if not, add an ID number or an email to tell them apart.'
    ]
    assert result["warnings"] == 1
    assert result["can_commit"] is True


def test_commit_imports_every_row_with_new_access_codes(org_store):
    meeting = add_meeting(org_store)
    result = preview(org_store, meeting, encode(csv_text([HEADER, *PEOPLE]), "cp1258"))

    counts = commit(org_store, meeting, result["import_id"])

    assert counts == {"added": 6, "updated": 0}
    people = participants(org_store, meeting)
    assert people["Trần Văn Đức"].group_name == "Đoàn Huế"
    assert people["Trần Văn Đức"].email == "duc.tv@example.org"
    assert len({p.access_code for p in people.values()}) == len(people)


def test_commit_keeps_seats_and_registers_each_person_once(org_store):
    meeting = add_meeting(org_store)
    result = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, meeting, result["import_id"])
    other = add_meeting(org_store, "thuong-truc-02")

    again = preview(org_store, other, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, other, again["import_id"])

    def read(session):
        seats = {p.seat for p in session.exec(select(ParticipantProfile))}
        return len(session.exec(select(Person)).all()), seats

    count, seats = org_store.read_sync(read)
    assert count == 6
    assert {"A01", "A06"} <= seats


def test_commit_makes_each_person_a_member_of_the_meetings_body_once(org_store):
    from server.models import Body, BodyMember, MeetingRecord

    meeting = add_meeting(org_store)

    def give_body(session):
        body = Body(key="thuong-truc", name="Thường trực", kind="standing_committee")
        session.add(body)
        session.flush()
        session.add(MeetingRecord(meeting_id=meeting, body_id=body.id))
        return body.id

    body_id = org_store.write_sync(give_body)
    result = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, meeting, result["import_id"])
    again = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, meeting, again["import_id"])

    def read(session):
        stmt = select(BodyMember, Person).join(Person).where(
            BodyMember.body_id == body_id
        )
        return {p.name: (m.group_name, m.title) for m, p in session.exec(stmt)}

    members = org_store.read_sync(read)
    assert len(members) == 6
    assert members["Trần Văn Đức"] == ("Đoàn Huế", "Trưởng đoàn")


def test_reimport_updates_participants_and_keeps_their_access_codes(org_store):
    meeting = add_meeting(org_store)
    first = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, meeting, first["import_id"])
    codes = {n: p.access_code for n, p in participants(org_store, meeting).items()}
    changed = [[*PEOPLE[0][:2], "Trưởng đoàn", *PEOPLE[0][3:]], *PEOPLE[1:]]

    second = preview(org_store, meeting, csv_text([HEADER, *changed]).encode())
    counts = commit(org_store, meeting, second["import_id"])

    assert {r["status"] for r in second["rows"]} == {"update"}
    assert counts == {"added": 0, "updated": 6}
    after = participants(org_store, meeting)
    assert after["Nguyễn Thị Ánh"].title == "Trưởng đoàn"
    assert {n: p.access_code for n, p in after.items()} == codes


def test_a_person_named_by_id_number_in_one_row_and_by_email_in_another_is_imported_once(
    org_store,
):
    meeting = add_meeting(org_store)
    before = participants(org_store, meeting)
    rows = [
        ["Họ và tên", "Đoàn", "Email", "CCCD"],
        ["Nguyễn Văn Bình", "Đoàn Huế", "binh.nv@example.org", "001089000123"],
        ["Nguyễn Văn Bình", "Đoàn Huế", "binh.nv@example.org", ""],
    ]
    result = preview(org_store, meeting, csv_text(rows).encode())

    counts = commit(org_store, meeting, result["import_id"])

    assert counts == {"added": 1, "updated": 1}
    after = participants(org_store, meeting)
    assert after.keys() - before.keys() == {"Nguyễn Văn Bình"}
    assert after["Nguyễn Văn Bình"].email == "binh.nv@example.org"


def test_a_seat_taken_by_someone_else_in_the_meeting_is_an_error(org_store):
    meeting = add_meeting(org_store)
    first = preview(
        org_store,
        meeting,
        csv_text([["Họ và tên", "Ghế"], ["Lê Văn An", "C1"]]).encode(),
    )
    commit(org_store, meeting, first["import_id"])

    second = preview(
        org_store,
        meeting,
        csv_text([["Họ và tên", "Ghế"], ["Trần Đức", "C1"]]).encode(),
    )

    assert problems(second, 0, "seat") == [
        "Seat C1 is already given to another participant of this meeting."
    ]
    assert second["can_commit"] is False


def test_a_preview_with_errors_imports_nothing(org_store):
    meeting = add_meeting(org_store)
    before = participants(org_store, meeting)
    rows = [HEADER, *PEOPLE, ["", "Đoàn Huế", "", "", ""]]
    result = preview(org_store, meeting, csv_text(rows).encode())

    with pytest.raises(ConflictError) as caught:
        commit(org_store, meeting, result["import_id"])

    assert (
        caught.value.message
        == "Problems left in the file: 1. Correct them in the file and upload it again."
    )
    assert participants(org_store, meeting).keys() == before.keys()


def test_a_failure_half_way_leaves_no_participant_behind(org_store, monkeypatch):
    from server.imports import _bulk

    meeting = add_meeting(org_store)
    before = participants(org_store, meeting)
    result = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())

    def failing(session, participant_rows, *args, **kwargs):
        # the people and participants are already written when the disk fills
        assert all(p["id"] is not None for p in participant_rows)
        raise RuntimeError("disk full")

    monkeypatch.setattr(_bulk, "link_profiles", failing)
    with pytest.raises(RuntimeError):
        commit(org_store, meeting, result["import_id"])

    assert participants(org_store, meeting).keys() == before.keys()


def test_a_preview_is_committed_only_once(org_store):
    meeting = add_meeting(org_store)
    result = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())
    commit(org_store, meeting, result["import_id"])

    with pytest.raises(ConflictError) as caught:
        commit(org_store, meeting, result["import_id"])

    assert (
        caught.value.message
        == "This file was already imported. Upload it again to import it once more."
    )


def test_a_preview_of_another_meeting_is_not_found(org_store):
    meeting = add_meeting(org_store)
    other = add_meeting(org_store, "khac")
    result = preview(org_store, meeting, csv_text([HEADER, *PEOPLE]).encode())

    with pytest.raises(NotFoundError) as caught:
        commit(org_store, other, result["import_id"])

    assert (
        caught.value.message
        == f"There is no participant import {result['import_id']} in this meeting. Upload the file again."
    )


# -- cells that would harm later: control characters, formulas -----------------------


def test_a_nul_character_in_a_name_is_an_error_and_left_out_of_the_preview(org_store):
    meeting = add_meeting(org_store)
    rows = [HEADER, ["Lê Văn\x00 An", "Đoàn\x07 Huế", "", "B01", ""]]

    result = preview(org_store, meeting, csv_text(rows).encode())

    control = "This cell holds control characters (such as NUL) that no name or text may contain. Delete them in the file and upload it again."
    assert problems(result, 0, "name") == [control]
    assert problems(result, 0, "group") == [control]
    assert result["rows"][0]["cells"]["name"]["value"] == "Lê Văn An"
    assert result["can_commit"] is False


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_a_warning(org_store):
    meeting = add_meeting(org_store)
    rows = [HEADER, ['=HYPERLINK("http://x","Bấm")', "+Đoàn Huế", "", "B01", ""]]

    result = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(result, 0, "name") == [
        'This cell begins with "=", so a spreadsheet could run it as a formula. It is imported as written; files exported from Plenary put an apostrophe before it.'
    ]
    assert problems(result, 0, "group")[0].startswith('This cell begins with "+"')
    assert result["warnings"] == 2
    assert result["can_commit"] is True


# -- roles: kept when empty, staff roles only from the organizer -----------------------

ROLE_HEADER = ["Họ và tên", "Vai trò", "Ghế"]


def test_an_empty_role_keeps_the_role_of_someone_already_in_the_meeting(org_store):
    meeting = add_meeting(org_store)
    rows = [ROLE_HEADER, ["Trần Bình Trọng", "", "C01"], ["Lê Văn An", "", "C02"]]

    result = preview(org_store, meeting, csv_text(rows).encode())
    commit(org_store, meeting, result["import_id"])

    people = participants(org_store, meeting)
    assert people["Trần Bình Trọng"].role == "chair"
    assert people["Lê Văn An"].role == "delegate"


def test_only_the_organizer_may_import_a_chair_or_an_organizer(org_store):
    meeting = add_meeting(org_store)
    rows = [
        ROLE_HEADER,
        ["Lê Văn An", "chủ tọa", "C01"],
        ["Phạm Thị Ân", "ban tổ chức", "C02"],
        ["Đặng Quốc Bảo", "đại biểu", "C03"],
    ]

    by_secretary = preview(org_store, meeting, csv_text(rows).encode(), organizer=False)
    by_organizer = preview(org_store, meeting, csv_text(rows).encode())

    assert problems(by_secretary, 0, "role") == [
        "Only the organizer may make someone chair. Write delegate or guest, or leave this row to the organizer."
    ]
    assert problems(by_secretary, 1, "role")[0].startswith(
        "Only the organizer may make someone organizer."
    )
    assert problems(by_secretary, 2, "role") == []
    assert by_secretary["can_commit"] is False
    assert by_organizer["can_commit"] is True


def test_only_the_organizer_may_take_a_staff_role_away(org_store):
    meeting = add_meeting(org_store)
    rows = [ROLE_HEADER, ["Trần Bình Trọng", "đại biểu", "C01"]]

    result = preview(org_store, meeting, csv_text(rows).encode(), organizer=False)

    assert problems(result, 0, "role") == [
        "This person is chair of this meeting, and only the organizer may change that role. Leave the role empty to keep it."
    ]


def test_a_secretary_may_update_the_chair_without_changing_the_role(org_store):
    meeting = add_meeting(org_store)
    rows = [ROLE_HEADER, ["Trần Bình Trọng", "", "C01"], ["Lê Văn An", "khách mời", ""]]

    result = preview(org_store, meeting, csv_text(rows).encode(), organizer=False)

    assert result["can_commit"] is True
    assert result["rows"][0]["status"] == "update"


def test_a_preview_that_changes_staff_roles_is_committed_only_by_the_organizer(
    org_store,
):
    meeting = add_meeting(org_store)
    rows = [ROLE_HEADER, ["Lê Văn An", "thư ký", "C01"]]
    result = preview(org_store, meeting, csv_text(rows).encode())

    with pytest.raises(NotAllowedError) as caught:
        org_store.write_sync(
            commit_participants, meeting, result["import_id"], COMMAND_LINE, False
        )

    assert (
        caught.value.message
        == "You may not import this file: it gives or changes the roles organizer, chair or secretary, and only the organizer may do that."
    )
    assert commit(org_store, meeting, result["import_id"]) == {"added": 1, "updated": 0}
