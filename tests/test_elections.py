"""Elections: the rules of server/elections.py, in the order its docstring states them."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import elections, voting
from server._ballots import add_ballot, empty_tally
from server._majority import decide_election
from server.errors import ConflictError, InvalidInputError, NotAllowedError
from tests._floor_helpers import (  # noqa: F401  (fixtures)
    Room, make_room, running_room, vn_room,
)

CANDIDATES = ["Lò Văn Minh", "Quàng Thị Hoa", "Cà Văn Sơn", "Lường Thị Mai"]


def prepare(room: Room, style: str = "choose", seats: int = 2, **spec) -> int:
    spec.setdefault("candidates", CANDIDATES)
    return room.run(room.secretary, "poll.create", kind="election", title="Bầu Thường trực",
                    ballot_style=style, seats=seats, **spec)["poll_id"]


def open_election(room: Room, style: str = "choose", seats: int = 2, **spec) -> int:
    poll_id = prepare(room, style, seats, **spec)
    room.run(room.chair, "poll.open", poll_id=poll_id)
    return poll_id


def ids(room: Room, poll_id: int) -> dict[str, int]:
    views = room.read(lambda s: elections.candidate_views(s, s.get(voting.Poll, poll_id)))
    return {c["name"]: c["id"] for c in views}


def result(room: Room, poll_id: int) -> dict:
    return room.read(voting.poll_result, poll_id)


def votes(found: dict) -> dict[str, int]:
    return {c["name"]: c["votes"] for c in found["candidates"]}


# -- candidates ----------------------------------------------------------------


def test_candidates_can_be_nominated_in_the_meeting(running_room: Room) -> None:
    room = running_room
    poll_id = prepare(room, candidates=["Lò Văn Minh"])

    room.run(room.secretary, "election.nominate", poll_id=poll_id, name="Quàng  Thị Hoa")

    assert list(ids(room, poll_id)) == ["Lò Văn Minh", "Quàng Thị Hoa"]


def test_a_candidate_is_nominated_once(running_room: Room) -> None:
    poll_id = prepare(running_room)

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.secretary, "election.nominate", poll_id=poll_id, name="Cà Văn Sơn")
    assert error.value.message == "Cà Văn Sơn is already a candidate in this election."


def test_a_delegate_may_not_nominate(running_room: Room) -> None:
    poll_id = prepare(running_room)

    with pytest.raises(NotAllowedError) as error:
        running_room.run(running_room.delegates[0], "election.nominate", poll_id=poll_id, name="X")
    assert error.value.message == "You may not add a candidate."


def test_candidates_are_fixed_once_the_election_opens(running_room: Room) -> None:
    poll_id = open_election(running_room)

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.secretary, "election.nominate", poll_id=poll_id, name="New")
    assert error.value.message == "Candidates can be added only before the election opens."


def test_a_candidate_can_be_withdrawn_before_the_opening(running_room: Room) -> None:
    room = running_room
    poll_id = prepare(room)

    room.run(room.secretary, "election.withdraw", poll_id=poll_id,
             candidate_id=ids(room, poll_id)["Cà Văn Sơn"])

    assert "Cà Văn Sơn" not in ids(room, poll_id)


def test_an_election_without_candidates_does_not_open(running_room: Room) -> None:
    poll_id = prepare(running_room, candidates=[])

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.chair, "poll.open", poll_id=poll_id)
    assert error.value.message == "This election has no candidates yet. Add the candidates before opening it."


def test_candidates_come_from_the_agenda_file(make_room) -> None:
    plan = '''
[[meeting.settings.polls]]
key = "bau-thuong-truc"
item = "motion"
title = "Bầu Thường trực HĐND"
kind = "election"
ballot_style = "strike"
seats = 2
candidates = ["Lò Văn Minh", "Quàng Thị Hoa", "Cà Văn Sơn"]
'''
    room = make_room(4, settings=plan)

    created = room.run(room.secretary, "poll.create", plan="bau-thuong-truc")

    found = result(room, created["poll_id"])
    assert (found["title"], found["kind"]) == ("Bầu Thường trực HĐND", "election")
    assert list(ids(room, created["poll_id"])) == ["Lò Văn Minh", "Quàng Thị Hoa", "Cà Văn Sơn"]
    assert room.read(lambda s: voting.list_plans(s, s.get(voting.Meeting, room.meeting_id))) == []


# -- ballot styles -------------------------------------------------------------


def test_choose_up_to_the_number_of_seats(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "choose", seats=2)
    c = ids(room, poll_id)

    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=[c["Lò Văn Minh"], c["Cà Văn Sơn"]])
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, marks=[c["Lò Văn Minh"]])
    room.run(room.delegates[2], "poll.cast", poll_id=poll_id, marks=[])
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    assert votes(found)["Lò Văn Minh"] == 2
    assert (found["valid"], found["blank"], found["invalid"]) == (2, 1, 0)


def test_more_choices_than_seats_are_refused(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "choose", seats=2)

    with pytest.raises(InvalidInputError) as error:
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=list(ids(room, poll_id).values())[:3])
    assert error.value.message == "You chose 3 candidates, but only 2 seats are to be filled. Remove 1 of your choices."


def test_a_ballot_naming_someone_not_standing_is_refused(running_room: Room) -> None:
    poll_id = open_election(running_room)

    with pytest.raises(InvalidInputError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, marks=[9999])
    assert error.value.message == "The ballot names a candidate twice, or one who is not standing in this election. Reload the page and fill in the ballot again."


def test_yes_or_no_per_candidate(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "yes_no", seats=2)
    c = {name: str(cid) for name, cid in ids(room, poll_id).items()}

    room.run(room.delegates[0], "poll.cast", poll_id=poll_id,
             marks={c["Lò Văn Minh"]: "yes", c["Quàng Thị Hoa"]: "no"})
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, marks={c["Lò Văn Minh"]: "yes"})
    room.run(room.delegates[2], "poll.cast", poll_id=poll_id, marks={})
    room.run(room.chair, "poll.close", poll_id=poll_id)

    rows = {r["name"]: r for r in result(room, poll_id)["candidates"]}
    assert (rows["Lò Văn Minh"]["votes"], rows["Quàng Thị Hoa"]["no"]) == (2, 1)
    assert rows["Cà Văn Sơn"]["abstain"] == 2
    assert result(room, poll_id)["blank"] == 1


def test_strike_out_names_counts_the_names_left(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "strike", seats=2)
    c = ids(room, poll_id)

    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=[c["Cà Văn Sơn"], c["Lường Thị Mai"]])
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, marks=[c["Quàng Thị Hoa"], c["Lường Thị Mai"]])
    room.run(room.delegates[2], "poll.cast", poll_id=poll_id,
             marks=[c["Quàng Thị Hoa"], c["Cà Văn Sơn"], c["Lường Thị Mai"]])
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    assert votes(found) == {"Lò Văn Minh": 3, "Quàng Thị Hoa": 1, "Cà Văn Sơn": 1, "Lường Thị Mai": 0}
    assert [c["name"] for c in found["candidates"] if c["elected"]] == ["Lò Văn Minh"]
    assert found["outcome_text"] == "Elected (1 of 2 seats): Lò Văn Minh."


def test_a_strike_ballot_leaving_too_many_names_asks_for_confirmation(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "strike", seats=2)

    with pytest.raises(InvalidInputError) as error:
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=[])
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=[], accept_invalid=True)
    room.run(room.chair, "poll.close", poll_id=poll_id)

    assert error.value.message == "This ballot leaves 4 names for 2 seats, so it would be counted as invalid. Strike out 2 more. To cast it anyway, confirm that you want to cast an invalid ballot."
    found = result(room, poll_id)
    assert (found["valid"], found["invalid"], votes(found)["Lò Văn Minh"]) == (0, 1, 0)


def test_striking_every_name_makes_the_ballot_invalid(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "strike", seats=2)
    every = list(ids(room, poll_id).values())

    with pytest.raises(InvalidInputError) as error:
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, marks=every)
    assert error.value.message == "Every name is struck out, so this ballot would be counted as invalid. To cast it anyway, confirm that you want to cast an invalid ballot."


def test_a_ballot_after_the_election_closed_is_refused(running_room: Room) -> None:
    poll_id = open_election(running_room)
    running_room.run(running_room.chair, "poll.close", poll_id=poll_id)

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, marks=[])
    assert error.value.message == "Voting in this election is already closed."


# -- the result ----------------------------------------------------------------


def test_percentages_are_of_the_valid_ballots(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "choose", seats=1)
    c = ids(room, poll_id)
    for viewer in room.delegates[:3]:
        room.run(viewer, "poll.cast", poll_id=poll_id, marks=[c["Quàng Thị Hoa"]])
    room.run(room.delegates[3], "poll.cast", poll_id=poll_id, marks=[c["Lò Văn Minh"]])
    room.run(room.delegates[4], "poll.cast", poll_id=poll_id, marks=[])
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    rows = {r["name"]: r for r in found["candidates"]}
    assert (rows["Quàng Thị Hoa"]["percent"], rows["Lò Văn Minh"]["percent"]) == (75.0, 25.0)
    assert found["base_text"] == "valid ballots (blank and invalid ballots are counted apart)"
    assert rows["Quàng Thị Hoa"]["elected"] is True


def test_a_tie_for_the_last_seat_is_flagged_for_a_runoff() -> None:
    found = decide_election("half_valid", 2, {1: 9, 2: 7, 3: 7, 4: 1}, valid=10, members=12)

    assert (found["elected"], found["runoff"], found["outcome"]) == ([1], [2, 3], "runoff")


def test_nobody_under_the_threshold_is_elected() -> None:
    found = decide_election("half_valid", 3, {1: 6, 2: 5, 3: 4}, valid=10, members=12)

    assert (found["elected"], found["runoff"]) == ([1], [])


def test_plurality_elects_the_most_votes_within_the_seats() -> None:
    found = decide_election("plurality", 2, {1: 2, 2: 5, 3: 4}, valid=10, members=12)

    assert found["elected"] == [2, 3]


def test_a_paper_election_is_entered_by_hand_and_must_add_up(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, "strike", seats=2, mode="analog")
    c = {name: str(cid) for name, cid in ids(room, poll_id).items()}

    with pytest.raises(InvalidInputError) as error:
        room.run(room.secretary, "poll.enter_counts", poll_id=poll_id, ballots=6, valid=5,
                 blank=0, invalid=0, votes={})
    room.run(room.secretary, "poll.enter_counts", poll_id=poll_id, ballots=6, valid=5,
             blank=0, invalid=1, votes={c["Lò Văn Minh"]: 5, c["Quàng Thị Hoa"]: 3})

    assert error.value.message == "The ballots do not add up: 5 valid + 0 blank + 0 invalid make 5, not 6."
    found = result(room, poll_id)
    assert [r["name"] for r in found["candidates"] if r["elected"]] == ["Lò Văn Minh", "Quàng Thị Hoa"]


def test_a_candidate_cannot_have_more_votes_than_valid_ballots(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room, mode="analog")
    first = str(next(iter(ids(room, poll_id).values())))

    with pytest.raises(InvalidInputError) as error:
        room.run(room.secretary, "poll.enter_counts", poll_id=poll_id, ballots=3, valid=3,
                 blank=0, invalid=0, votes={first: 4})
    assert error.value.message == "A candidate cannot have more votes (4) than there are valid ballots (3)."


def test_election_results_are_listed_for_the_minutes(running_room: Room) -> None:
    room = running_room
    poll_id = open_election(room)
    room.run(room.chair, "poll.close", poll_id=poll_id)

    listed = room.read(elections.election_results, room.meeting_id)

    assert [r["poll_id"] for r in listed] == [poll_id]


def test_counting_550_ballots_for_55_seats_takes_under_a_second() -> None:
    candidates = list(range(1, 81))
    tally = empty_tally("election")
    pick = random.Random(55)
    ballots = [sorted(pick.sample(candidates, 55)) for _ in range(550)]
    started = time.perf_counter()

    for marks in ballots:
        add_ballot(tally, "valid", str(marks), 1, "choose", candidates)
    decision = decide_election("half_valid", 55, {c: tally["votes"].get(str(c), 0) for c in candidates},
                               tally["valid"], 600)

    assert time.perf_counter() - started < 1.0
    assert len(decision["elected"]) + len(decision["runoff"]) >= 1


# -- property: the count agrees with an independent count ----------------------


@pytest.fixture
def election_room(make_room) -> Room:
    room = make_room(19)
    room.start()
    room.check_in(*room.members)
    return room


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(style=st.sampled_from(["choose", "strike", "yes_no"]), seats=st.integers(1, 3),
       data=st.data())
def test_election_count_agrees_with_an_independent_count(election_room: Room, style, seats,
                                                         data) -> None:
    room = election_room
    poll_id = open_election(room, style, seats=seats)
    cands = list(ids(room, poll_id).values())
    expected = {c: 0 for c in cands}
    valid = 0
    for viewer in room.members:
        if style == "choose":
            marks = data.draw(st.lists(st.sampled_from(cands), unique=True, max_size=seats))
            counted = marks
        elif style == "strike":
            marks = data.draw(st.lists(st.sampled_from(cands), unique=True,
                                       min_size=len(cands) - seats, max_size=len(cands) - 1))
            counted = [c for c in cands if c not in marks]
        else:
            yes = data.draw(st.lists(st.sampled_from(cands), unique=True, max_size=seats))
            marks = {str(c): "yes" for c in yes}
            counted = yes
        room.run(viewer, "poll.cast", poll_id=poll_id, marks=marks)
        valid += bool(counted)
        for c in counted:
            expected[c] += 1
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    recounted = room.read(voting.recount_poll, poll_id)
    assert {r["id"]: r["votes"] for r in found["candidates"]} == expected
    assert found["valid"] == valid
    assert recounted["matches"] is True
    independent = decide_election("half_valid", seats, expected, valid, 20)
    assert sorted(r["id"] for r in found["candidates"] if r["elected"]) == sorted(independent["elected"])
