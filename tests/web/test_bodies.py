"""Bodies and their members over HTTP (server/web/bodies.py): every action once
allowed and once refused, with the exact sentence."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.models import OrganizerChange
from server.organization import register_person


def api(meeting_id: int, path: str = "") -> str:
    return f"/api/meetings/{meeting_id}/bodies{path}"


def error_of(response) -> str:
    return response.json()["error"]["message"]


def create(client, meeting_id, key="thuong-vu", name="Ban Thường vụ", **extra):
    payload = {"key": key, "name": name, "kind": "standing_committee", **extra}
    return client.post(api(meeting_id), json=payload)


def registered(client, name, email=""):
    return client.app.state.store.write_sync(
        lambda s: register_person(s, name, email).id
    )


MANAGE_REFUSED = "You may not create or remove bodies, delegations and groups: only the organizer of this meeting may."
MEMBERS_REFUSED = "You may not add or remove members of a body: only the organizer or secretary of this meeting may."
ASSIGN_REFUSED = (
    "You may not assign the meeting to a body: only the organizer of this meeting may."
)


# -- the page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["organizer", "secretary"])
def test_the_bodies_page_opens_for_organizer_and_secretary(meeting, login, role):
    response = login(meeting.code(role)).get(f"/m/{meeting.id}/organize/bodies")

    assert response.status_code == 200
    assert 'data-body="create-form"' in response.text
    assert "bodies.js" in response.text


@pytest.mark.parametrize("role", ["chair", "delegate", "guest"])
def test_the_bodies_page_is_refused_to_others(meeting, login, role):
    response = login(meeting.code(role)).get(api(meeting.id))

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not open the organizer pages: only the organizer or secretary or technician of this meeting may."
    )


def test_the_list_says_what_the_viewer_may_do(meeting, login):
    state = login(meeting.code("secretary")).get(api(meeting.id)).json()

    assert state["allowed"] == {
        "bodies.manage": False,
        "bodies.members": True,
        "meeting.body": False,
    }
    assert state["meeting_body_id"] is None


# -- create and remove -----------------------------------------------------------------


def test_organizer_creates_a_body_and_a_delegation_inside_it(meeting, login):
    organizer = login(meeting.code("organizer"))

    congress = create(organizer, meeting.id, "dai-hoi", "Đại hội XV", kind="congress")
    delegation = create(
        organizer,
        meeting.id,
        "doan-hue",
        "Đoàn Huế",
        kind="delegation",
        parent_id=congress.json()["id"],
    )

    assert congress.status_code == 200
    assert delegation.json()["parent_id"] == congress.json()["id"]
    shown = organizer.get(api(meeting.id, f"/{congress.json()['id']}")).json()
    assert [g["name"] for g in shown["groups"]] == ["Đoàn Huế"]


@pytest.mark.parametrize("role", ["secretary", "chair", "delegate"])
def test_others_may_not_create_a_body(meeting, login, role):
    response = create(login(meeting.code(role)), meeting.id)

    assert response.status_code == 403
    assert error_of(response) in (
        MANAGE_REFUSED,
        "You may not open the organizer pages: only the organizer or secretary or technician of this meeting may.",
    )
    if role == "secretary":
        assert error_of(response) == MANAGE_REFUSED


def test_a_body_without_a_name_is_refused(meeting, login):
    response = create(login(meeting.code("organizer")), meeting.id, name="  ")

    assert response.status_code == 422
    assert error_of(response) == "Give the body a name."


def test_a_body_key_is_taken_once(meeting, login):
    organizer = login(meeting.code("organizer"))
    create(organizer, meeting.id)

    response = create(organizer, meeting.id)

    assert response.status_code == 409
    assert error_of(response) == "A body with the key thuong-vu already exists."


def test_a_body_with_meetings_is_not_removed(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    organizer.post(api(meeting.id, f"/{body_id}/assign"))

    response = organizer.post(api(meeting.id, f"/{body_id}/remove"))

    assert response.status_code == 409
    assert (
        error_of(response)
        == "Meetings belong to the body Ban Thường vụ (1), so it cannot be removed: its meetings would lose their body. Assign them to another body first."
    )


def test_a_body_with_delegations_is_not_removed(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    create(organizer, meeting.id, "to-1", "Tổ 1", kind="group", parent_id=body_id)

    response = organizer.post(api(meeting.id, f"/{body_id}/remove"))

    assert response.status_code == 409
    assert (
        error_of(response)
        == "The body Ban Thường vụ still has delegations or groups (1). Remove them first."
    )


def test_a_removed_body_leaves_the_list_and_keeps_its_audit(meeting, login, client):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]

    response = organizer.post(api(meeting.id, f"/{body_id}/remove"))

    assert response.status_code == 200
    assert organizer.get(api(meeting.id)).json()["bodies"] == []
    assert organizer.get(api(meeting.id, f"/{body_id}")).status_code == 404
    actions = client.app.state.store.read_sync(
        lambda s: [
            c.action
            for c in s.exec(
                select(OrganizerChange).where(OrganizerChange.body_id == body_id)
            )
        ]
    )
    assert actions == ["body.create", "body.remove"]


def test_a_secretary_may_not_remove_a_body(meeting, login):
    body_id = create(login(meeting.code("organizer")), meeting.id).json()["id"]

    response = login(meeting.code("secretary")).post(
        api(meeting.id, f"/{body_id}/remove")
    )

    assert response.status_code == 403
    assert error_of(response) == MANAGE_REFUSED


# -- members ---------------------------------------------------------------------------


def test_secretary_adds_a_registered_person_and_a_new_one(meeting, login, client):
    body_id = create(login(meeting.code("organizer")), meeting.id).json()["id"]
    secretary = login(meeting.code("secretary"))
    person_id = registered(client, "Nguyễn Văn Ánh")

    first = secretary.post(
        api(meeting.id, f"/{body_id}/members"),
        json={"person_id": person_id, "role": "Bí thư"},
    )
    second = secretary.post(
        api(meeting.id, f"/{body_id}/members"),
        json={"name": "  Trần   Thị Bình ", "role": "Ủy viên", "group": "Tổ 1"},
    )

    assert first.status_code == second.status_code == 200
    shown = secretary.get(api(meeting.id, f"/{body_id}")).json()
    assert [(m["name"], m["role"], m["group"]) for m in shown["members"]] == [
        ("Nguyễn Văn Ánh", "Bí thư", ""),
        ("Trần Thị Bình", "Ủy viên", "Tổ 1"),
    ]


def test_a_person_is_in_the_registry_once(meeting, login, client):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    person_id = registered(client, "Lê Văn An")

    organizer.post(api(meeting.id, f"/{body_id}/members"), json={"name": "Lê Văn An"})

    shown = organizer.get(api(meeting.id, f"/{body_id}")).json()
    assert [m["person_id"] for m in shown["members"]] == [person_id]


@pytest.mark.parametrize("role", ["chair", "delegate"])
def test_others_may_not_add_members(meeting, login, role):
    body_id = create(login(meeting.code("organizer")), meeting.id).json()["id"]

    response = login(meeting.code(role)).post(
        api(meeting.id, f"/{body_id}/members"), json={"name": "Lê Văn An"}
    )

    assert response.status_code == 403


def test_a_member_needs_a_person(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]

    response = organizer.post(api(meeting.id, f"/{body_id}/members"), json={})

    assert response.status_code == 422
    assert error_of(response) == "Choose a person, or write the name of a new one."


@pytest.mark.parametrize("person_id", ["abc", "1.5", [1], True])
def test_a_member_from_the_registry_is_chosen_by_number(meeting, login, person_id):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]

    response = organizer.post(
        api(meeting.id, f"/{body_id}/members"), json={"person_id": person_id}
    )

    assert response.status_code == 422
    assert error_of(response) == "A person of the registry is chosen by their number."


def test_a_removed_member_stays_as_a_former_member(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    member = organizer.post(
        api(meeting.id, f"/{body_id}/members"), json={"name": "Phạm Thị Ân"}
    ).json()

    response = organizer.post(
        api(meeting.id, f"/{body_id}/members/{member['person_id']}/remove")
    )
    again = organizer.post(
        api(meeting.id, f"/{body_id}/members/{member['person_id']}/remove")
    )

    assert response.status_code == 200
    shown = organizer.get(api(meeting.id, f"/{body_id}")).json()
    assert [(m["name"], m["active"]) for m in shown["members"]] == [
        ("Phạm Thị Ân", False)
    ]
    assert again.status_code == 404
    assert error_of(again) == "This person is not a member of Ban Thường vụ."


def test_a_delegate_may_not_remove_a_member(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    member = organizer.post(
        api(meeting.id, f"/{body_id}/members"), json={"name": "Phạm Thị Ân"}
    ).json()

    response = login(meeting.code("delegate")).post(
        api(meeting.id, f"/{body_id}/members/{member['person_id']}/remove")
    )

    assert response.status_code == 403


# -- the meeting's body, meetings and staff ------------------------------------------------


def test_organizer_assigns_the_meeting_and_sees_its_staff(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]

    response = organizer.post(api(meeting.id, f"/{body_id}/assign"))
    participants = organizer.get(f"/api/meetings/{meeting.id}/organize").json()
    secretary = next(
        p for p in participants["participants"] if p["role"] == "secretary"
    )
    organizer.post(
        f"/api/meetings/{meeting.id}/organize/staff",
        json={"participant_id": secretary["id"], "role": "secretary"},
    )

    assert response.status_code == 200
    assert organizer.get(api(meeting.id)).json()["meeting_body_id"] == body_id
    shown = organizer.get(api(meeting.id, f"/{body_id}")).json()
    assert [m["id"] for m in shown["meetings"]] == [meeting.id]
    assert [(s["name"], s["role"]) for s in shown["staff"]] == [
        (secretary["name"], "secretary")
    ]


def test_meeting_times_are_on_the_meetings_own_clock(meeting, login):
    organizer = login(meeting.code("organizer"))
    body_id = create(organizer, meeting.id).json()["id"]
    organizer.post(api(meeting.id, f"/{body_id}/assign"))

    shown = organizer.get(api(meeting.id, f"/{body_id}")).json()

    listed = shown["meetings"][0]
    assert listed["timezone"] == "Asia/Ho_Chi_Minh"
    assert listed["starts_local"].endswith("+07:00")


def test_an_archived_meeting_stays_with_its_body(meeting, login, client):
    from tests.web.test_organize import end_meeting

    organizer = login(meeting.code("organizer"))
    first = create(organizer, meeting.id).json()["id"]
    second = create(organizer, meeting.id, "ban-chap-hanh", "Ban Chấp hành").json()["id"]
    organizer.post(api(meeting.id, f"/{first}/assign"))
    end_meeting(client, meeting.id)
    organizer.post(f"/api/meetings/{meeting.id}/organize/archive")

    response = organizer.post(api(meeting.id, f"/{second}/assign"))

    assert response.status_code == 409
    assert (
        error_of(response)
        == "This meeting is archived and can no longer be changed. Copy it to prepare a new meeting."
    )
    assert organizer.get(api(meeting.id)).json()["meeting_body_id"] == first


def test_a_secretary_may_not_assign_the_meeting(meeting, login):
    body_id = create(login(meeting.code("organizer")), meeting.id).json()["id"]

    response = login(meeting.code("secretary")).post(
        api(meeting.id, f"/{body_id}/assign")
    )

    assert response.status_code == 403
    assert error_of(response) == ASSIGN_REFUSED


def test_an_unknown_body_is_not_found(meeting, login):
    response = login(meeting.code("organizer")).get(api(meeting.id, "/999"))

    assert response.status_code == 404
    assert error_of(response) == "There is no body 999."


# -- reach: staff manage their own bodies only ---------------------------------------


def body_of_another_office(client, key="ban-khac", name="Ban Tuyên giáo"):
    from server.organization import create_body
    from server.staff import COMMAND_LINE

    return client.app.state.store.write_sync(
        lambda s: create_body(s, key, name, "standing_committee", COMMAND_LINE).id
    )


def out_of_reach(action: str, body: str = "Ban Tuyên giáo") -> str:
    return (f"You may not {action} in {body}: it is not the body of this meeting, nor one of its "
            "delegations or groups, nor a body where you hold a staff role.")


def test_a_body_of_another_office_is_out_of_reach_for_every_change(meeting, login, client):
    body_id = body_of_another_office(client)
    organizer = login(meeting.code("organizer"))
    person_id = registered(client, "Lê Văn Cường")

    tried = {
        "see the members": organizer.get(api(meeting.id, f"/{body_id}")),
        "change the members": organizer.post(api(meeting.id, f"/{body_id}/members"),
                                             json={"person_id": person_id}),
        "remove a body": organizer.post(api(meeting.id, f"/{body_id}/remove")),
        "add a delegation or group": create(organizer, meeting.id, "to-1", "Tổ 1",
                                            parent_id=body_id),
        "assign this meeting": organizer.post(api(meeting.id, f"/{body_id}/assign")),
    }

    for action, response in tried.items():
        assert response.status_code == 403, action
        assert error_of(response) == out_of_reach(action)
    assert [b["name"] for b in organizer.get(api(meeting.id)).json()["bodies"]] == ["Ban Tuyên giáo"]


def test_the_meetings_body_and_its_delegations_are_in_reach_of_its_secretary(meeting, login, client):
    from server.organization import assign_body
    from server.staff import COMMAND_LINE

    body_id = body_of_another_office(client, "dai-hoi", "Đại hội")
    client.app.state.store.write_sync(lambda s: assign_body(s, meeting.id, body_id, COMMAND_LINE))
    delegation = create(login(meeting.code("organizer")), meeting.id, "doan-1", "Đoàn 1",
                        kind="delegation", parent_id=body_id).json()["id"]
    secretary = login(meeting.code("secretary"))

    added = secretary.post(api(meeting.id, f"/{delegation}/members"), json={"name": "Phạm Thị Dung"})

    assert added.status_code == 200
    shown = secretary.get(api(meeting.id, f"/{delegation}")).json()
    assert [m["name"] for m in shown["members"]] == ["Phạm Thị Dung"]


def test_a_secretary_reaches_a_body_the_organizer_of_the_meeting_created(meeting, login):
    body_id = create(login(meeting.code("organizer")), meeting.id).json()["id"]

    shown = login(meeting.code("secretary")).get(api(meeting.id, f"/{body_id}"))

    assert shown.status_code == 200
    assert shown.json()["members"] == []
