"""Bodies, people and meetings from one to the next (server/organization.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from server.errors import ConflictError, InvalidInputError
from server.models import AgendaItem, Meeting, MeetingRecord, Participant
from server.organization import (
    add_member,
    archive_meeting,
    assign_body,
    copy_meeting,
    create_body,
    link_participant,
    list_members,
    register_person,
    search_people,
)
from server.staff import COMMAND_LINE, list_changes
from tests import _organize_fixtures
from tests._organize_fixtures import add_meeting

org_store = _organize_fixtures.org_store  # the fixture, under its own name


def test_a_body_has_members_sorted_in_vietnamese_order(org_store):
    def setup(session):
        body = create_body(
            session,
            "thuong-truc",
            "Thường trực HĐND",
            "standing_committee",
            COMMAND_LINE,
        )
        for name in ("Trần Văn Đức", "Lê Văn Dũng", "Phạm Thị Ánh"):
            add_member(session, body.id, register_person(session, name).id, "Đoàn Huế")
        return [p.name for _m, p in list_members(session, body.id)]

    assert org_store.write_sync(setup) == [
        "Phạm Thị Ánh",
        "Lê Văn Dũng",
        "Trần Văn Đức",
    ]


def test_a_body_key_is_checked(org_store):
    with pytest.raises(InvalidInputError) as caught:
        org_store.write_sync(create_body, "Thường Trực", "x", "committee", COMMAND_LINE)

    assert (
        caught.value.message
        == "The body key Thường Trực may only hold lower-case letters, digits and dashes."
    )


def test_a_person_exists_once_and_is_found_by_id_then_email_then_name(org_store):
    def setup(session):
        first = register_person(session, "Nguyễn Văn Hùng", ref="001085000123")
        by_ref = register_person(session, "Nguyễn  Văn Hùng", ref="001085000123")
        other = register_person(session, "Nguyễn Văn Hùng", ref="001085000999")
        by_name = register_person(session, "Lê Thị Hoa")
        again = register_person(session, "Lê Thị Hoa")
        return first.id, by_ref.id, other.id, by_name.id, again.id

    first, by_ref, other, by_name, again = org_store.write_sync(setup)

    assert first == by_ref and other != first and by_name == again


def test_people_are_searched_with_or_without_diacritics(org_store):
    org_store.write_sync(
        lambda s: [
            register_person(s, n)
            for n in ("Nguyễn Văn Đức", "Le Van Duc", "Lê Văn Dũng")
        ]
    )

    plain = org_store.read_sync(search_people, "van du")
    marked = org_store.read_sync(search_people, "Lê")

    # by given name: "Duc" before "Dũng" (c before n), "Đức" last (đ after d)
    assert [p.name for p in plain] == ["Le Van Duc", "Lê Văn Dũng", "Nguyễn Văn Đức"]
    assert [p.name for p in marked] == ["Lê Văn Dũng"]


def test_copy_keeps_the_skeleton_people_and_settings_with_new_codes(org_store):
    meeting = add_meeting(org_store)

    def setup(session):
        body = create_body(
            session, "ttr", "Thường trực", "standing_committee", COMMAND_LINE
        )
        assign_body(session, meeting, body.id, COMMAND_LINE)
        delegate = session.exec(
            select(Participant).where(Participant.key == "d1")
        ).one()
        link_participant(
            session, delegate.id, register_person(session, "Đại biểu 1").id, "B7"
        )

    org_store.write_sync(setup)

    copy = org_store.write_sync(copy_meeting, meeting, COMMAND_LINE)

    def read(session):
        items = session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == copy.id)
            .order_by(col(AgendaItem.position))
        ).all()
        people = session.exec(
            select(Participant).where(Participant.meeting_id == copy.id)
        ).all()
        before = session.exec(
            select(Participant).where(Participant.meeting_id == meeting)
        ).all()
        return items, people, before, session.get(MeetingRecord, copy.id)

    items, people, before, record = org_store.read_sync(read)
    assert copy.key == "thuong-truc-01-copy"
    assert copy.state == "scheduled"
    assert copy.starts_at == datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    assert json.loads(copy.settings_json) == {"quorum": "half"}
    assert [(i.number, i.title, i.internal, i.description) for i in items] == [
        ("1", "Khai mạc", False, ""),
        ("1.1", "Báo cáo", True, ""),
    ]
    assert items[1].parent_id == items[0].id
    assert sorted(p.name for p in people) == sorted(p.name for p in before)
    assert not {p.access_code for p in people} & {p.access_code for p in before}
    assert record.copied_from_id == meeting and record.body_id is not None


def test_a_second_copy_gets_the_next_key_and_a_taken_key_is_refused(org_store):
    meeting = add_meeting(org_store)
    org_store.write_sync(copy_meeting, meeting, COMMAND_LINE)

    second = org_store.write_sync(copy_meeting, meeting, COMMAND_LINE)
    with pytest.raises(ConflictError) as caught:
        org_store.write_sync(
            lambda s: copy_meeting(s, meeting, COMMAND_LINE, key="thuong-truc-01")
        )

    assert second.key == "thuong-truc-01-copy-2"
    assert (
        caught.value.message
        == "A meeting with the key thuong-truc-01 already exists. Choose another key."
    )


def test_only_an_ended_meeting_is_archived_and_the_change_is_audited(org_store):
    meeting = add_meeting(org_store)
    with pytest.raises(ConflictError):
        org_store.write_sync(archive_meeting, meeting, COMMAND_LINE)

    def end(session):
        row = session.get(Meeting, meeting)
        row.state = "ended"
        session.add(row)

    org_store.write_sync(end)
    org_store.write_sync(archive_meeting, meeting, COMMAND_LINE)

    changes = org_store.read_sync(list_changes, meeting)
    assert [(c.action, c.actor) for c in changes] == [
        ("meeting.archive", "command line")
    ]
    with pytest.raises(ConflictError) as caught:
        org_store.write_sync(archive_meeting, meeting, COMMAND_LINE)
    assert (
        caught.value.message
        == "This meeting is archived and can no longer be changed. Copy it to prepare a new meeting."
    )
