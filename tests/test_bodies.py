"""Bodies and their members (server/bodies.py); the tests follow the module's
rules in order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.bodies import (
    add_body,
    add_body_member,
    assign_meeting,
    describe_body,
    list_current_bodies,
    remove_body,
    remove_body_member,
)
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.models import OrganizerChange, Person
from server.organization import search_people
from server.staff import COMMAND_LINE
from tests import _organize_fixtures
from tests._organize_fixtures import add_meeting

org_store = _organize_fixtures.org_store  # the fixture, under its own name


def body(
    store, key="thuong-vu", name="Ban Thường vụ", kind="standing_committee", parent=None
):
    return store.write_sync(add_body, key, name, kind, COMMAND_LINE, parent).id


def member(store, body_id, **details):
    return store.write_sync(add_body_member, body_id, details, COMMAND_LINE)


def test_a_delegation_lives_inside_a_congress(org_store):
    congress = body(org_store, "dai-hoi", "Đại hội XV", "congress")

    delegation = body(org_store, "doan-hue", "Đoàn Huế", "delegation", congress)

    shown = org_store.read_sync(describe_body, congress)
    assert [g["id"] for g in shown["groups"]] == [delegation]


def test_a_body_inside_an_unknown_body_is_refused(org_store):
    with pytest.raises(NotFoundError) as error:
        body(org_store, parent=404)

    assert str(error.value) == "There is no body 404."


def test_an_unknown_kind_of_body_is_refused(org_store):
    with pytest.raises(InvalidInputError) as error:
        body(org_store, kind="club")

    assert str(error.value) == "There is no kind of body called club."


def test_a_member_found_by_searching_without_diacritics_is_the_registered_person(
    org_store,
):
    body_id = body(org_store)
    member(org_store, body_id, name="Nguyễn Văn Thành")
    other = body(org_store, "chap-hanh", "Ban Chấp hành", "executive_committee")

    found = org_store.read_sync(search_people, "nguyen van")
    member(org_store, other, person_id=found[0].id, role="Ủy viên")

    people = org_store.read_sync(lambda s: s.exec(select(Person)).all())
    assert [p.name for p in people] == ["Nguyễn Văn Thành"]
    shown = org_store.read_sync(describe_body, other)
    assert [(m["name"], m["role"]) for m in shown["members"]] == [
        ("Nguyễn Văn Thành", "Ủy viên")
    ]


def test_members_are_listed_by_given_name(org_store):
    body_id = body(org_store)
    for name in ("Trần Văn Bình", "Lê Thị Ánh", "Nguyễn Hữu Dũng"):
        member(org_store, body_id, name=name)

    shown = org_store.read_sync(describe_body, body_id)

    assert [m["name"] for m in shown["members"]] == [
        "Lê Thị Ánh",
        "Trần Văn Bình",
        "Nguyễn Hữu Dũng",
    ]


def test_a_removed_member_is_kept_as_former_and_may_come_back(org_store):
    body_id = body(org_store)
    person = member(org_store, body_id, name="Phạm Thị Ân", role="Ủy viên").person_id

    org_store.write_sync(remove_body_member, body_id, person, COMMAND_LINE)
    after_removal = org_store.read_sync(describe_body, body_id)["members"]
    member(org_store, body_id, person_id=person)
    after_return = org_store.read_sync(describe_body, body_id)["members"]

    assert [m["active"] for m in after_removal] == [False]
    assert [(m["active"], m["role"]) for m in after_return] == [(True, "Ủy viên")]


def test_a_body_with_meetings_cannot_be_removed(org_store):
    body_id = body(org_store)
    meeting = add_meeting(org_store)
    org_store.write_sync(assign_meeting, meeting, body_id, COMMAND_LINE)

    with pytest.raises(ConflictError) as error:
        org_store.write_sync(remove_body, body_id, COMMAND_LINE)

    assert str(error.value) == (
        "Meetings belong to the body Ban Thường vụ (1), so it cannot be removed: its meetings would lose their body. Assign them to another body first."
    )


def test_a_removed_body_keeps_its_members_and_takes_no_meetings(org_store):
    body_id = body(org_store)
    member(org_store, body_id, name="Lê Văn An")

    org_store.write_sync(remove_body, body_id, COMMAND_LINE)

    assert org_store.read_sync(list_current_bodies) == []
    with pytest.raises(NotFoundError):
        org_store.write_sync(
            assign_meeting, add_meeting(org_store), body_id, COMMAND_LINE
        )


def test_every_change_to_a_body_is_in_the_audit(org_store):
    body_id = body(org_store)
    person = member(org_store, body_id, name="Lê Văn An").person_id
    org_store.write_sync(remove_body_member, body_id, person, COMMAND_LINE)
    org_store.write_sync(remove_body, body_id, COMMAND_LINE)

    changes = org_store.read_sync(
        lambda s: [(c.action, c.summary) for c in s.exec(select(OrganizerChange))]
    )

    assert changes == [
        ("body.create", "created the body Ban Thường vụ"),
        ("body.member.add", "added Lê Văn An to Ban Thường vụ"),
        ("body.member.remove", "removed Lê Văn An from Ban Thường vụ"),
        ("body.remove", "removed the body Ban Thường vụ"),
    ]


def test_a_body_name_is_kept_as_one_line_of_visible_text(store):
    from server.bodies import add_body
    from server.staff import COMMAND_LINE

    body = store.write_sync(lambda s: add_body(
        s, "to-1", "  Tổ\n đại biểu\u202e số\x07 1 ", "group", COMMAND_LINE))

    assert body.name == "Tổ đại biểu số 1"
