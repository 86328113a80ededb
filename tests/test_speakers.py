"""The list of speakers: the rules of server/speakers.py, in order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import speakers
from server.errors import ConflictError, NotAllowedError
from server.models import Speech
from tests._floor_helpers import Room, vn_room  # noqa: F401  (fixtures)


@pytest.fixture
def floor(vn_room: Room) -> Room:
    """The meeting running, on its first item."""
    vn_room.start()
    vn_room.run(vn_room.chair, "agenda.next")
    return vn_room


def names(room: Room, state: str = "waiting") -> list[str]:
    item = room.read(lambda s: s.get(speakers.Meeting, room.meeting_id)).current_item_id
    return [s["name"] for s in room.read(speakers.list_speakers, room.meeting_id, item)
            if s["state"] == state]


def test_a_delegate_asks_to_speak_on_the_current_item(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.delegates[1], "speakers.request")

    assert names(floor) == ["Đại diện Lãnh đạo UBND huyện", "Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo"]


def test_asking_twice_is_refused(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")

    with pytest.raises(ConflictError) as error:
        floor.run(floor.delegates[0], "speakers.request")
    assert error.value.message == "Đại diện Lãnh đạo UBND huyện is already on the list of speakers for this item."


def test_nobody_joins_a_list_before_an_item_is_current(vn_room: Room) -> None:
    vn_room.start()

    with pytest.raises(ConflictError) as error:
        vn_room.run(vn_room.delegates[0], "speakers.request")
    assert error.value.message == "No agenda item is being discussed right now, so there is no list of speakers to join."


def test_a_delegate_withdraws_while_waiting(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.delegates[1], "speakers.request")

    floor.run(floor.delegates[0], "speakers.withdraw")

    assert names(floor) == ["Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo"]


def test_a_delegate_cannot_withdraw_someone_else(floor: Room) -> None:
    speech = floor.run(floor.delegates[0], "speakers.request")["speech_id"]

    with pytest.raises(ConflictError) as error:
        floor.run(floor.delegates[1], "speakers.withdraw", speech_id=speech)
    assert error.value.message == "You can withdraw only your own request to speak."


def test_staff_add_someone_to_the_list(floor: Room) -> None:
    floor.run(floor.secretary, "speakers.add", participant_id=floor.one("guest").participant_id)

    assert names(floor) == ["Đại diện Lãnh đạo Viện kiểm sát nhân dân huyện Tuần Giáo"]


def test_a_delegate_may_not_add_others(floor: Room) -> None:
    with pytest.raises(NotAllowedError) as error:
        floor.run(floor.delegates[0], "speakers.add", participant_id=floor.delegates[1].participant_id)
    assert error.value.message == "You may not add a speaker to the list."


def test_a_point_of_order_goes_to_the_top_after_earlier_ones(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.delegates[1], "speakers.request", point_of_order=True)
    floor.run(floor.delegates[2], "speakers.request", point_of_order=True)

    assert names(floor) == ["Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo",
                            "Đại diện Ban Kinh tế - Xã hội HĐND huyện",
                            "Đại diện Lãnh đạo UBND huyện"]


def test_the_chair_orders_the_list(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.delegates[1], "speakers.request")
    last = floor.run(floor.delegates[2], "speakers.request")["speech_id"]

    floor.run(floor.chair, "speakers.move", speech_id=last, position=0)

    assert names(floor)[0] == "Đại diện Ban Kinh tế - Xã hội HĐND huyện"


def test_a_delegate_may_not_order_the_list(floor: Room) -> None:
    speech = floor.run(floor.delegates[0], "speakers.request")["speech_id"]

    with pytest.raises(NotAllowedError) as error:
        floor.run(floor.delegates[0], "speakers.move", speech_id=speech, position=0)
    assert error.value.message == "You may not change the order of speakers."


def test_giving_the_floor_takes_the_first_waiting_and_ends_the_running_speech(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.delegates[1], "speakers.request")

    floor.run(floor.chair, "speakers.start")
    floor.run(floor.chair, "speakers.start")

    assert names(floor, "done") == ["Đại diện Lãnh đạo UBND huyện"]
    assert names(floor, "speaking") == ["Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo"]


def test_a_delegate_may_not_give_the_floor(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")

    with pytest.raises(NotAllowedError) as error:
        floor.run(floor.delegates[0], "speakers.start")
    assert error.value.message == "You may not give the floor."


def test_the_speaking_time_comes_from_the_meeting_or_the_chair(floor: Room) -> None:
    first = floor.run(floor.delegates[0], "speakers.request")["speech_id"]
    second = floor.run(floor.delegates[1], "speakers.request")["speech_id"]

    floor.run(floor.chair, "speakers.start", speech_id=first)
    floor.run(floor.chair, "speakers.start", speech_id=second, time_limit=60)

    limits = {s["id"]: s["time_limit"] for s in floor.read(speakers.list_speakers, floor.meeting_id)}
    assert limits == {first: 180, second: 60}


def shift_clock(room: Room, speech_id: int, seconds: float) -> None:
    """Pretend the running part of a speech began ``seconds`` earlier."""
    def shift(session):
        speech = session.get(Speech, speech_id)
        speech.running_since -= timedelta(seconds=seconds)
        session.add(speech)
    room.store.write_sync(shift)


def test_pause_and_resume_keep_the_time_spoken(floor: Room) -> None:
    speech = floor.run(floor.delegates[0], "speakers.request")["speech_id"]
    floor.run(floor.chair, "speakers.start")
    shift_clock(floor, speech, 40)

    floor.run(floor.chair, "speakers.pause")
    floor.run(floor.chair, "speakers.resume")
    shift_clock(floor, speech, 20)
    ended = floor.run(floor.chair, "speakers.end")

    assert ended["seconds"] == 60


def test_pausing_twice_is_refused(floor: Room) -> None:
    floor.run(floor.delegates[0], "speakers.request")
    floor.run(floor.chair, "speakers.start")
    floor.run(floor.chair, "speakers.pause")

    with pytest.raises(ConflictError) as error:
        floor.run(floor.chair, "speakers.pause")
    assert error.value.message == "Only a running speech can be paused."


def test_ending_when_nobody_speaks_is_refused(floor: Room) -> None:
    with pytest.raises(ConflictError) as error:
        floor.run(floor.chair, "speakers.end")
    assert error.value.message == "Nobody has the floor right now."


def test_who_spoke_on_which_item_and_for_how_long_is_recorded(floor: Room) -> None:
    speech = floor.run(floor.delegates[0], "speakers.request")["speech_id"]
    floor.run(floor.chair, "speakers.start")
    shift_clock(floor, speech, 95)
    floor.run(floor.chair, "speakers.end")
    floor.run(floor.delegates[1], "speakers.request", point_of_order=True)

    found = floor.read(speakers.speeches_by_item, floor.meeting_id)

    assert [(i["number"], i["title"]) for i in found] == [("1", "Khai mạc cuộc họp")]
    spoken = found[0]["speeches"]
    assert [(s["name"], s["kind"], s["seconds"]) for s in spoken] == [
        ("Đại diện Lãnh đạo UBND huyện", "speech", 95)]
    assert spoken[0]["started_at"] and spoken[0]["ended_at"]
