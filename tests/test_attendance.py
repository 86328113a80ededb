"""Attendance and quorum: the rules of server/attendance.py, in order."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from server import attendance
from server.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from server.meetings import get_meeting
from server.models import Event, Participant
from tests._floor_helpers import (  # noqa: F401  (fixtures)
    OPENSLIDES_AGENDA, Room, load_room, make_room, running_room, vn_room,
)


def quorum(room: Room) -> dict:
    return room.read(lambda s: attendance.get_quorum(s, get_meeting(s, room.meeting_id)).as_dict())


def status(room: Room, viewer) -> str:
    return room.read(attendance.status_of, room.meeting_id, viewer.participant_id)


def test_everyone_starts_absent(vn_room: Room) -> None:
    assert {status(vn_room, v) for v in vn_room.members} == {"absent"}
    assert quorum(vn_room)["present"] == 0


def test_staff_check_in_by_scanning_the_access_card(vn_room: Room) -> None:
    room = vn_room
    delegate = room.delegates[0]
    code = room.read(lambda s: s.get(Participant, delegate.participant_id).access_code)

    found = room.run(room.secretary, "attendance.check_in", code=f"https://plenary.example/login?code={code}")

    assert (found["status"], found["name"]) == ("present", "Đại diện Lãnh đạo UBND huyện")
    assert status(room, delegate) == "present"


def test_a_card_of_another_meeting_is_refused(vn_room: Room, client) -> None:
    other = load_room(vn_room.store, client.app.state.settings.documents_dir, OPENSLIDES_AGENDA)
    stranger = other.delegates[0]
    code = vn_room.read(lambda s: s.get(Participant, stranger.participant_id).access_code)

    with pytest.raises(NotFoundError) as error:
        vn_room.run(vn_room.secretary, "attendance.check_in", code=code)
    assert error.value.message == "This access card does not belong to this meeting. Check the card, or search the name instead."


def test_staff_check_in_by_name_from_the_list(vn_room: Room) -> None:
    vn_room.run(vn_room.chair, "attendance.check_in", participant_id=vn_room.delegates[1].participant_id)

    assert status(vn_room, vn_room.delegates[1]) == "present"


def test_a_delegate_may_not_check_in_others(vn_room: Room) -> None:
    with pytest.raises(NotAllowedError) as error:
        vn_room.run(vn_room.delegates[0], "attendance.check_in",
                    participant_id=vn_room.delegates[1].participant_id)
    assert error.value.message == "You may not check participants in."


def test_self_check_in_when_the_meeting_allows_it(vn_room: Room) -> None:
    vn_room.start()

    vn_room.run(vn_room.delegates[2], "attendance.self_check_in")

    assert status(vn_room, vn_room.delegates[2]) == "present"


def test_self_check_in_is_refused_when_the_meeting_does_not_allow_it(make_room) -> None:
    room = make_room(2, settings="self_checkin = false")
    room.start()

    with pytest.raises(NotAllowedError) as error:
        room.run(room.delegates[0], "attendance.self_check_in")
    assert error.value.message == "This meeting does not allow checking in on the tablet. Please check in at the door."


def test_excused_and_absent_are_recorded_with_their_times(vn_room: Room) -> None:
    room = vn_room
    room.run(room.secretary, "attendance.set", participant_id=room.delegates[0].participant_id, status="excused")
    room.check_in(room.delegates[1])
    room.run(room.secretary, "attendance.set", participant_id=room.delegates[1].participant_id, status="absent")

    summary = room.read(attendance.attendance_summary, room.meeting_id)

    changes = [(c["participant_id"], c["status"]) for c in summary["changes"]]
    assert changes == [(room.delegates[0].participant_id, "excused"),
                       (room.delegates[1].participant_id, "present"),
                       (room.delegates[1].participant_id, "absent")]
    assert all(c["at"] for c in summary["changes"])
    line = next(p for p in summary["people"] if p["participant_id"] == room.delegates[1].participant_id)
    assert line["first_present_at"] is not None and line["status"] == "absent"


def test_an_unknown_status_is_refused(vn_room: Room) -> None:
    with pytest.raises(InvalidInputError) as error:
        vn_room.run(vn_room.secretary, "attendance.set",
                    participant_id=vn_room.delegates[0].participant_id, status="late")
    assert error.value.message == "The attendance status must be one of: present, absent, excused, proxy."


# -- proxies -------------------------------------------------------------------


def test_a_proxy_goes_to_a_present_member(vn_room: Room) -> None:
    room = vn_room
    holder, absent = room.delegates[0], room.delegates[1]

    with pytest.raises(ConflictError) as error:
        room.run(room.secretary, "attendance.set", participant_id=absent.participant_id,
                 status="proxy", proxy_holder_id=holder.participant_id)
    room.check_in(holder)
    room.run(room.secretary, "attendance.set", participant_id=absent.participant_id,
             status="proxy", proxy_holder_id=holder.participant_id)

    assert error.value.message == "Đại diện Lãnh đạo UBND huyện is not checked in. A proxy can only go to a member who is present."
    mine = room.read(attendance.my_attendance, room.meeting_id, holder.participant_id)
    assert mine["carries"] == [{"id": absent.participant_id, "name": "Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo"}]


def test_nobody_carries_more_proxies_than_the_meeting_allows(vn_room: Room) -> None:
    room = vn_room
    holder = room.delegates[0]
    room.check_in(holder)
    room.run(room.secretary, "attendance.set", participant_id=room.delegates[1].participant_id,
             status="proxy", proxy_holder_id=holder.participant_id)

    with pytest.raises(ConflictError) as error:
        room.run(room.secretary, "attendance.set", participant_id=room.delegates[2].participant_id,
                 status="proxy", proxy_holder_id=holder.participant_id)
    assert error.value.message == "Đại diện Lãnh đạo UBND huyện already carries 1 proxy votes, the most this meeting allows."


def test_a_proxy_holder_cannot_leave_while_carrying_votes(vn_room: Room) -> None:
    room = vn_room
    holder = room.delegates[0]
    room.check_in(holder)
    room.run(room.secretary, "attendance.set", participant_id=room.delegates[1].participant_id,
             status="proxy", proxy_holder_id=holder.participant_id)

    with pytest.raises(ConflictError) as error:
        room.run(room.secretary, "attendance.set", participant_id=holder.participant_id, status="absent")
    assert error.value.message == "Đại diện Lãnh đạo UBND huyện carries votes by proxy. Give those proxies to someone else before Đại diện Lãnh đạo UBND huyện leaves."


def test_a_meeting_can_forbid_proxies(make_room) -> None:
    room = make_room(3, settings="proxy_limit = 0")
    room.check_in(room.delegates[0])

    with pytest.raises(NotAllowedError) as error:
        room.run(room.secretary, "attendance.set", participant_id=room.delegates[1].participant_id,
                 status="proxy", proxy_holder_id=room.delegates[0].participant_id)
    assert error.value.message == "This meeting does not allow voting by proxy."


def test_guests_neither_give_nor_carry_proxies(vn_room: Room) -> None:
    room = vn_room
    room.check_in(room.one("guest"))

    with pytest.raises(NotAllowedError) as error:
        room.run(room.secretary, "attendance.set", participant_id=room.delegates[1].participant_id,
                 status="proxy", proxy_holder_id=room.one("guest").participant_id)
    assert error.value.message == "Only voting members can give or carry a proxy."


# -- quorum --------------------------------------------------------------------


def test_quorum_of_more_than_half_counts_members_only(vn_room: Room) -> None:
    room = vn_room
    room.check_in(room.chair, room.delegates[0], room.delegates[1], room.one("guest"), room.secretary)

    found = quorum(room)

    assert found == {"members": 6, "present": 3, "represented": 0, "required": 4, "met": False,
                     "rule": "more than half of the members present"}
    room.check_in(room.delegates[2])
    assert quorum(room)["met"] is True


@pytest.mark.parametrize(("setting", "required", "rule"), [
    ('quorum = "two_thirds"', 8, "at least two thirds of the members present"),
    ('quorum = "none"', 0, "no quorum required"),
    ("quorum = 5", 5, "at least 5 members present"),
])
def test_quorum_rules(make_room, setting: str, required: int, rule: str) -> None:
    room = make_room(11, settings=setting)  # 12 members with the chair

    found = quorum(room)

    assert (found["required"], found["rule"]) == (required, rule)


def test_the_chair_does_not_count_when_the_meeting_says_so(make_room) -> None:
    room = make_room(4, settings="chair_votes = false")

    assert quorum(room)["members"] == 4


def test_every_change_updates_the_quorum_on_every_screen(vn_room: Room) -> None:
    vn_room.check_in(vn_room.delegates[0])

    def last_quorum(session):
        stmt = select(Event).where(Event.meeting_id == vn_room.meeting_id, Event.type == "quorum")
        return list(session.exec(stmt))[-1]
    event = vn_room.read(last_quorum)

    assert event.audience == "all"
    assert json.loads(event.payload)["present"] == 1


def test_a_roll_call_checks_many_in_at_once(make_room) -> None:
    room = make_room(40)

    found = room.run(room.secretary, "attendance.check_in_many",
                     participant_ids=[v.participant_id for v in room.delegates])

    assert found == {"checked_in": 40}
    assert quorum(room)["present"] == 40


def test_attendance_cannot_change_after_the_meeting_ended(vn_room: Room) -> None:
    vn_room.start()
    vn_room.run(vn_room.chair, "meeting.end")

    with pytest.raises(ConflictError) as error:
        vn_room.check_in(vn_room.delegates[0])
    assert error.value.message == "The meeting has ended; attendance can no longer change."


def test_the_shared_quorum_of_reads_never_keeps_a_rolled_back_check_in(client, meeting):
    from server.access import viewer_for as _viewer
    from server.attendance import get_quorum as _quorum
    from server.attendance import member_states as _members
    from server.commands import execute as _execute
    from server.models import Meeting as _Meeting
    store = client.app.state.store
    secretary = _viewer(meeting.people[meeting.code("secretary")])
    first, second = (meeting.people[meeting.code("delegate", i)].id for i in (0, 1))

    def present(session):
        return _quorum(session, session.get(_Meeting, meeting.id)).present
    before = store.read_sync(present)

    def check_in_then_fail(session):
        _execute(session, secretary, "attendance.check_in", "c-rolled-back", {"participant_id": first})
        assert present(session) == before + 1   # seen inside the write
        raise RuntimeError("the transaction is rolled back")
    try:
        store.write_sync(check_in_then_fail)
    except RuntimeError:
        pass
    store.write_sync(_execute, secretary, "attendance.check_in", "c-kept", {"participant_id": second})

    assert store.read_sync(present) == before + 1
    statuses = store.read_sync(lambda s: {
        m.id: m.status for m in _members(s, s.get(_Meeting, meeting.id))})
    assert statuses[second] == "present" and statuses[first] != "present"
