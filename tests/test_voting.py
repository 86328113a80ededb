"""Votes on motions: the rules of server/voting.py, in the order its docstring states them."""

from __future__ import annotations

import json
import random
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import Future
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from server import voting
from server._majority import MOTION_RULES, decide_motion
from server.commands import execute
from server.errors import ConflictError, InvalidInputError, MeetingError, NotAllowedError
from server.models import Ballot, CommandReceipt, Event, Meeting, Poll, PollVoter
from tests._floor_helpers import (  # noqa: F401  (fixtures)
    Room, make_room, new_id, running_room, vn_room,
)

EP_FILE = Path(__file__).parent / "data" / "ep-vot-list_pv-10-2024-11-27-vot-en.xml"
EP_MEMBERS = 720


def prepare(room: Room, **spec) -> int:
    spec.setdefault("title", "Approve the programme of the session")
    return room.run(room.secretary, "poll.create", **spec)["poll_id"]


def open_vote(room: Room, **spec) -> int:
    poll_id = prepare(room, **spec)
    room.run(room.chair, "poll.open", poll_id=poll_id)
    return poll_id


def result(room: Room, poll_id: int) -> dict:
    return room.read(voting.poll_result, poll_id)


def events(room: Room, kind: str | None = None) -> list[Event]:
    def load(session):
        stmt = select(Event).where(Event.meeting_id == room.meeting_id)
        return [e for e in session.exec(stmt) if kind is None or e.type == kind]
    return room.read(load)


# -- the life of a poll --------------------------------------------------------


def test_poll_is_prepared_opened_closed_and_published(running_room: Room) -> None:
    room = running_room
    poll_id = prepare(room)
    assert result(room, poll_id)["final"] is False

    room.run(room.chair, "poll.open", poll_id=poll_id)
    for viewer, choice in zip(room.members, ["yes", "yes", "yes", "no", "abstain", "yes"]):
        room.run(viewer, "poll.cast", poll_id=poll_id, choice=choice)
    room.run(room.chair, "poll.close", poll_id=poll_id)
    room.run(room.chair, "poll.publish", poll_id=poll_id)

    found = result(room, poll_id)
    assert found["state"] == "published"
    assert found["counts"] == {"yes": 4, "no": 1, "abstain": 1}
    assert found["outcome"] == "adopted"
    assert found["outcome_text"] == "Adopted: 4 yes out of 5 (votes cast (yes + no)); 3 yes needed."


def test_prepared_vote_is_seen_by_staff_only(vn_room: Room) -> None:
    from server.snapshot import build_snapshot

    poll_id = prepare(vn_room)

    staff = vn_room.read(build_snapshot, vn_room.meeting_id, vn_room.chair)["polls"]["polls"]
    delegate = vn_room.read(build_snapshot, vn_room.meeting_id, vn_room.delegates[0])
    assert [p["id"] for p in staff] == [poll_id]
    assert delegate["polls"]["polls"] == []


@pytest.mark.parametrize("command", ["poll.open", "poll.close", "poll.publish", "poll.cancel"])
def test_a_delegate_may_not_run_a_vote(running_room: Room, command: str) -> None:
    poll_id = prepare(running_room)
    words = {"poll.open": "open a vote", "poll.close": "close a vote",
             "poll.publish": "publish the result of a vote", "poll.cancel": "cancel a vote"}

    with pytest.raises(NotAllowedError) as error:
        running_room.run(running_room.delegates[0], command, poll_id=poll_id, reason="x")
    assert error.value.message == f"You may not {words[command]}."


def test_a_delegate_may_not_prepare_a_vote(running_room: Room) -> None:
    with pytest.raises(NotAllowedError) as error:
        running_room.run(running_room.delegates[0], "poll.create", title="Mine")
    assert error.value.message == "You may not prepare a vote."


def test_a_vote_needs_the_quorum_to_open(vn_room: Room) -> None:
    vn_room.start()
    vn_room.check_in(vn_room.chair, vn_room.delegates[0], vn_room.delegates[1])
    poll_id = prepare(vn_room)

    with pytest.raises(ConflictError) as error:
        vn_room.run(vn_room.chair, "poll.open", poll_id=poll_id)
    assert error.value.message == "The quorum is not met: 3 of 6 members are present and 4 are needed. A vote can only be held with a quorum."


def test_a_vote_opens_only_while_the_meeting_runs(vn_room: Room) -> None:
    poll_id = prepare(vn_room)

    with pytest.raises(ConflictError) as error:
        vn_room.run(vn_room.chair, "poll.open", poll_id=poll_id)
    assert error.value.message == "Votes can only be opened while the meeting is running."


def test_cancelling_needs_a_reason_and_records_it(running_room: Room) -> None:
    poll_id = open_vote(running_room)

    with pytest.raises(InvalidInputError) as error:
        running_room.run(running_room.chair, "poll.cancel", poll_id=poll_id, reason=" ")
    running_room.run(running_room.chair, "poll.cancel", poll_id=poll_id,
                     reason="The wording on the screen was wrong.")

    assert error.value.message == "Give the reason; it is recorded in the minutes."
    found = result(running_room, poll_id)
    assert (found["state"], found["reason"]) == ("cancelled", "The wording on the screen was wrong.")


def test_a_cancelled_vote_takes_no_ballots(running_room: Room) -> None:
    poll_id = open_vote(running_room)
    running_room.run(running_room.chair, "poll.cancel", poll_id=poll_id, reason="Wrong text.")

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "This vote was cancelled; no ballots are taken."


def test_repeating_a_vote_prepares_a_new_one_and_keeps_the_first(running_room: Room) -> None:
    room = running_room
    first = open_vote(room, rule="absolute_members")
    room.run(room.delegates[0], "poll.cast", poll_id=first, choice="yes")
    room.run(room.chair, "poll.close", poll_id=first)

    again = room.run(room.chair, "poll.repeat", poll_id=first,
                     reason="Two tablets had no connection.")["poll_id"]

    repeated = result(room, again)
    assert (repeated["state"], repeated["repeat_of_id"]) == ("prepared", first)
    assert repeated["reason"] == "Two tablets had no connection."
    assert result(room, first)["reason"] == f"Repeated as vote {again}: Two tablets had no connection."
    assert result(room, first)["counts"]["yes"] == 1


# -- who may vote, once --------------------------------------------------------


def test_a_member_who_is_not_checked_in_cannot_vote(vn_room: Room) -> None:
    vn_room.start()
    vn_room.check_in(vn_room.chair, *vn_room.delegates[:4])
    poll_id = open_vote(vn_room)

    with pytest.raises(NotAllowedError) as error:
        vn_room.run(vn_room.delegates[4], "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "You are not checked in. Only members who are present may vote; please check in first."


@pytest.mark.parametrize("role", ["guest", "secretary", "organizer"])
def test_only_voting_members_may_vote(running_room: Room, role: str) -> None:
    poll_id = open_vote(running_room)

    with pytest.raises(NotAllowedError) as error:
        running_room.run(running_room.one(role), "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "Only voting members may vote."


def test_a_ballot_needs_yes_no_or_abstain(running_room: Room) -> None:
    poll_id = open_vote(running_room)

    with pytest.raises(InvalidInputError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, choice="maybe")
    assert error.value.message == "Choose yes, no or abstain."


def test_a_retried_ballot_is_answered_and_counted_once(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    command_id = new_id()

    first = room.run(room.delegates[0], "poll.cast", command_id, poll_id=poll_id, choice="no")
    again = room.run(room.delegates[0], "poll.cast", command_id, poll_id=poll_id, choice="no")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    assert first == {"poll_id": poll_id, "recorded": True, "voter_id": room.delegates[0].participant_id}
    assert again == {**first, "already": True}
    assert result(room, poll_id)["counts"] == {"yes": 0, "no": 1, "abstain": 0}


def test_a_retry_after_the_close_is_still_answered(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    command_id = new_id()
    room.run(room.delegates[0], "poll.cast", command_id, poll_id=poll_id, choice="yes")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    again = room.run(room.delegates[0], "poll.cast", command_id, poll_id=poll_id, choice="yes")

    assert again["already"] is True


def test_a_second_ballot_from_another_tablet_is_refused(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")

    with pytest.raises(ConflictError) as error:
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    assert error.value.message == "You have already voted on this motion. Each member has one ballot, and yours is counted."
    assert result(room, poll_id)["counts"] == {"yes": 1, "no": 0, "abstain": 0}


def test_the_database_refuses_a_second_voter_row(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    pid = room.delegates[0].participant_id

    def insert_again(session):
        session.add(PollVoter(poll_id=poll_id, participant_id=pid, cast_by_id=pid, command_id="x"))
        session.flush()

    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        room.store.write_sync(insert_again)


def test_a_ballot_after_the_close_is_refused(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    room.run(room.chair, "poll.close", poll_id=poll_id)

    with pytest.raises(ConflictError) as error:
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "Voting on this motion is already closed."


def test_a_ballot_before_the_opening_is_refused(running_room: Room) -> None:
    poll_id = prepare(running_room)

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "Voting on this motion has not opened yet."


# -- proxies and weights -------------------------------------------------------


def give_proxy(room: Room, absent, holder) -> None:
    room.run(room.secretary, "attendance.set", participant_id=absent.participant_id,
             status="proxy", proxy_holder_id=holder.participant_id)


def test_the_proxy_holder_votes_for_the_member_they_represent(vn_room: Room) -> None:
    room = vn_room
    room.start()
    room.check_in(room.chair, *room.delegates[:4])
    absent, holder = room.delegates[4], room.delegates[0]
    give_proxy(room, absent, holder)
    poll_id = open_vote(room)

    room.run(holder, "poll.cast", poll_id=poll_id, choice="yes")
    room.run(holder, "poll.cast", poll_id=poll_id, choice="no", on_behalf_of=absent.participant_id)
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    assert found["counts"] == {"yes": 1, "no": 1, "abstain": 0}
    assert found["present"] == 6


def test_a_proxy_ballot_repeated_after_a_reload_is_refused(vn_room: Room) -> None:
    room = vn_room
    room.start()
    room.check_in(room.chair, *room.delegates[:4])
    absent, holder = room.delegates[4], room.delegates[0]
    give_proxy(room, absent, holder)
    poll_id = open_vote(room)
    room.run(holder, "poll.cast", poll_id=poll_id, choice="no", on_behalf_of=absent.participant_id)

    with pytest.raises(ConflictError) as error:
        room.run(holder, "poll.cast", poll_id=poll_id, choice="no", on_behalf_of=absent.participant_id)
    assert error.value.message == "A ballot for Đại diện Ban Dân tộc HĐND huyện has already been cast on this motion. Each member has one ballot."


def test_nobody_votes_for_a_member_without_their_proxy(vn_room: Room) -> None:
    room = vn_room
    room.start()
    room.check_in(room.chair, *room.delegates[:4])
    give_proxy(room, room.delegates[4], room.delegates[0])
    poll_id = open_vote(room)

    with pytest.raises(NotAllowedError) as error:
        room.run(room.delegates[1], "poll.cast", poll_id=poll_id, choice="yes",
                 on_behalf_of=room.delegates[4].participant_id)
    assert error.value.message == "You do not carry a proxy for this member."


def test_vote_weights_count_in_the_result(make_room) -> None:
    room = make_room(3, settings="[meeting.settings.vote_weights]\nd1 = 5\n")
    room.start()
    room.check_in(*room.members)
    poll_id = open_vote(room, rule="absolute_members")

    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, choice="no")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    found = result(room, poll_id)
    assert (found["counts"]["yes"], found["counts"]["no"], found["members"]) == (5, 1, 8)
    assert (found["weighted"], found["outcome"]) == (True, "adopted")


# -- secrecy -------------------------------------------------------------------


def test_a_secret_ballot_leaves_no_trace_of_who_chose_what(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    before = {e.id for e in events(room)}
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")

    receipts = room.read(lambda s: list(s.exec(select(CommandReceipt).where(
        CommandReceipt.name == "poll.cast"))))
    ballots = room.read(lambda s: list(s.exec(select(Ballot))))
    new_events = [e for e in events(room) if e.id not in before]

    assert receipts == []
    assert new_events == []  # progress comes later, coalesced, with counts only
    assert [(b.voter_id, len(b.id)) for b in ballots] == [(None, 32)]


def test_the_ballot_table_has_no_time_author_or_row_order(running_room: Room) -> None:
    columns = set(Ballot.model_fields)

    with pytest.raises(Exception, match="no such column: rowid"):
        running_room.read(lambda s: s.exec(text("SELECT rowid FROM ballot")).all())
    assert columns == {"id", "poll_id", "choice", "marks", "weight", "voter_id"}


def test_progress_tells_everyone_the_count_and_nothing_else(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    voters_before = len(events(room, "poll.voters"))
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, choice="yes")

    room.store.write_sync(voting.announce_progress, [poll_id])

    progress = events(room, "poll.progress")[-1]
    assert json.loads(progress.payload) == {"poll_id": poll_id, "voted": 2, "eligible": 6}
    assert progress.audience == "all"
    assert len(events(room, "poll.voters")) == voters_before  # no voter list with the count


def test_staff_learn_who_has_not_voted_in_batches(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    voting.take_voters()
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
    room.run(room.delegates[1], "poll.cast", poll_id=poll_id, choice="yes")

    due = voting.take_voters()
    room.store.write_sync(voting.announce_voters, due)

    voters = events(room, "poll.voters")[-1]
    voted = {room.delegates[0].participant_id, room.delegates[1].participant_id}
    assert due == [poll_id]  # both ballots in one batch
    assert voters.audience == "staff"
    assert set(json.loads(voters.payload)) == {"poll_id", "not_voted"}
    assert set(json.loads(voters.payload)["not_voted"]) == {v.participant_id for v in room.members} - voted


def test_an_open_vote_keeps_no_running_tally(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    for viewer, choice in zip(room.members, ["yes", "no", "yes"]):
        room.run(viewer, "poll.cast", poll_id=poll_id, choice=choice)

    poll = room.read(lambda s: s.get(Poll, poll_id))
    staff_view = room.read(voting.poll_view, poll, True)

    assert (poll.tally_json, poll.result_json, poll.voted) == ("{}", "", 3)
    assert staff_view["result"] is None
    assert result(room, poll_id)["final"] is False


def test_an_open_vote_cannot_be_recounted(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")

    with pytest.raises(ConflictError) as error:
        room.read(voting.recount_poll, poll_id)
    assert error.value.message == "The vote is still open; it can be counted once it is closed."


@pytest.mark.parametrize(("cancel", "message"), [
    (False, "The vote has not been opened; there are no ballots to count."),
    (True, "The vote was cancelled; its ballots are not counted."),
])
def test_a_vote_that_never_closed_cannot_be_recounted(running_room: Room, cancel: bool,
                                                      message: str) -> None:
    room = running_room
    poll_id = prepare(room)
    if cancel:
        room.run(room.chair, "poll.open", poll_id=poll_id)
        room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
        room.run(room.chair, "poll.cancel", poll_id=poll_id, reason="Wrong wording")

    with pytest.raises(ConflictError) as error:
        room.read(voting.recount_poll, poll_id)
    assert error.value.message == message


def test_the_voter_list_keeps_no_voting_order_and_no_command_id_of_a_secret_ballot(
        running_room: Room) -> None:
    room = running_room
    secret = open_vote(room)
    named = open_vote(room, mode="named", title="Named")
    room.run(room.delegates[0], "poll.cast", "tablet-1700000000000", poll_id=secret, choice="no")
    room.run(room.delegates[0], "poll.cast", "tablet-1700000000001", poll_id=named, choice="no")

    rows = {v.poll_id: v for v in room.read(lambda s: list(s.exec(select(PollVoter))))}

    assert len(rows[secret].id) == 32 and int(rows[secret].id, 16) >= 0
    assert rows[secret].command_id == ""
    assert rows[named].command_id == "tablet-1700000000001"
    with pytest.raises(Exception, match="no such column: rowid"):
        room.read(lambda s: s.exec(text("SELECT rowid FROM pollvoter")).all())


def test_a_secret_ballot_retried_after_a_restart_is_refused_and_still_counted_once(
        running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    room.run(room.delegates[0], "poll.cast", "cast-1", poll_id=poll_id, choice="no")
    voting._recent_secret.clear()  # what a restart forgets

    with pytest.raises(ConflictError) as error:
        room.run(room.delegates[0], "poll.cast", "cast-1", poll_id=poll_id, choice="no")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    assert error.value.message == "You have already voted on this motion. Each member has one ballot, and yours is counted."
    assert result(room, poll_id)["counts"] == {"yes": 0, "no": 1, "abstain": 0}


def test_the_staff_snapshot_shows_the_last_announced_voter_list(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    everyone = sorted(v.participant_id for v in room.members)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
    meeting = room.read(lambda s: s.get(Meeting, room.meeting_id))

    before = room.read(voting._snapshot, meeting, room.secretary)["not_voted"][poll_id]
    room.store.write_sync(voting.announce_voters, [poll_id])
    after = room.read(voting._snapshot, meeting, room.secretary)["not_voted"][poll_id]

    assert before == everyone  # as announced at the opening, not one ballot later
    assert after == [p for p in everyone if p != room.delegates[0].participant_id]


def test_a_named_vote_publishes_who_chose_what(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room, mode="named")
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")
    room.run(room.chair, "poll.cast", poll_id=poll_id, choice="yes")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    named = result(room, poll_id)["named"]

    assert [(n["name"], n["choice"]) for n in named] == [
        ("Trần Bình Trọng", "yes"), ("Đại diện Lãnh đạo UBND huyện", "no")]


# -- closing while ballots arrive ----------------------------------------------


def test_ballots_racing_the_close_are_counted_or_refused_never_both(make_room) -> None:
    room = make_room(120)
    room.start()
    room.check_in(*room.members)
    poll_id = open_vote(room)
    futures: list[Future] = []
    go = threading.Event()

    def cast(viewers) -> None:
        go.wait()
        for viewer in viewers:
            futures.append(room.store.submit(execute, viewer, "poll.cast", new_id(),
                                             {"poll_id": poll_id, "choice": "yes"}))

    threads = [threading.Thread(target=cast, args=(room.delegates[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    go.set()
    closing = room.store.submit(execute, room.chair, "poll.close", new_id(), {"poll_id": poll_id})
    for thread in threads:
        thread.join()
    closing.result()

    accepted = [f for f in futures if f.exception() is None]
    refused = [f.exception() for f in futures if f.exception() is not None]
    assert {e.message for e in refused} <= {"Voting on this motion is already closed."}
    assert len(accepted) + len(refused) == 120
    assert result(room, poll_id)["counts"]["yes"] == len(accepted)


def test_ballots_of_one_batch_are_each_listed_stored_and_counted_once(make_room, caplog) -> None:
    room = make_room(60)
    room.start()
    room.check_in(*room.members)
    poll_id = open_vote(room)
    gate = threading.Event()
    room.store.submit(lambda session: gate.wait(10))  # the ballots queue up behind it
    ids = [new_id() for _ in room.delegates]
    jobs = [(viewer, command_id) for viewer, command_id in zip(room.delegates, ids)]
    def cast(viewer, command_id: str) -> Future:
        args = {"poll_id": poll_id, "choice": "yes"}
        return room.store.submit(execute, viewer, "poll.cast", command_id, args)
    first = [cast(v, c) for v, c in jobs[:30]]
    second_tablet = cast(room.delegates[0], new_id())  # fails inside the batch
    first += [cast(v, c) for v, c in jobs[30:]]
    again = [cast(v, c) for v, c in jobs]
    closing = room.store.submit(execute, room.chair, "poll.close", new_id(), {"poll_id": poll_id})
    gate.set()

    with pytest.raises(ConflictError):
        second_tablet.result(10)
    assert all("already" not in f.result(10)["result"] for f in first)
    assert all(f.result(10)["result"]["already"] for f in again)
    closing.result(10)
    voted = room.read(lambda s: s.get(Poll, poll_id).voted)
    stored = room.read(lambda s: len(s.exec(select(Ballot).where(Ballot.poll_id == poll_id)).all()))
    listed = room.read(voting.voted_ids, poll_id)
    assert voted == stored == len(listed) == 60
    assert result(room, poll_id)["counts"] == {"yes": 60, "no": 0, "abstain": 0}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # the close's count agreed


# -- counts by hand --------------------------------------------------------------


def test_counts_by_hand_are_stored_when_they_add_up(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room, mode="analog", rule="absolute_members")

    room.run(room.secretary, "poll.enter_counts", poll_id=poll_id, yes=4, no=1, abstain=1, total=6)

    found = result(room, poll_id)
    assert (found["state"], found["counts"], found["outcome"]) == (
        "closed", {"yes": 4, "no": 1, "abstain": 1}, "adopted")
    assert found["entered_by_hand"] is True


@pytest.mark.parametrize(("counts", "message"), [
    ({"yes": 4, "no": 1, "abstain": 0, "total": 6},
     "The counts do not add up: 4 yes + 1 no + 0 abstain make 5, not 6."),
    ({"yes": -1, "no": 1, "abstain": 0}, "The count of yes cannot be negative."),
    ({"yes": "4", "no": 1, "abstain": 0}, "The count of yes must be a whole number."),
    ({"yes": 5, "no": 2, "abstain": 0},
     "The counts add up to 7, but only 6 members are present or represented."),
])
def test_counts_by_hand_that_do_not_add_up_are_refused(running_room: Room, counts: dict,
                                                       message: str) -> None:
    poll_id = open_vote(running_room, mode="analog")

    with pytest.raises(InvalidInputError) as error:
        running_room.run(running_room.secretary, "poll.enter_counts", poll_id=poll_id, **counts)
    assert error.value.message == message


def test_the_tablet_takes_no_ballot_in_an_analog_vote(running_room: Room) -> None:
    poll_id = open_vote(running_room, mode="analog")

    with pytest.raises(ConflictError) as error:
        running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")
    assert error.value.message == "This vote is counted by show of hands or on paper; the tablet does not take ballots."


def test_a_delegate_may_not_enter_counts(running_room: Room) -> None:
    poll_id = open_vote(running_room, mode="analog")

    with pytest.raises(NotAllowedError) as error:
        running_room.run(running_room.delegates[0], "poll.enter_counts", poll_id=poll_id, yes=1)
    assert error.value.message == "You may not enter the counts of a vote."


# -- majority rules ------------------------------------------------------------


@pytest.mark.parametrize(("rule", "counts", "outcome", "base"), [
    ("simple", (5, 5, 3), "tie", 10),
    ("simple", (0, 0, 9), "rejected", 0),
    ("simple", (6, 5, 50), "adopted", 11),
    ("cast_with_abstentions", (6, 5, 2), "rejected", 13),
    ("absolute_members", (51, 0, 0), "adopted", 100),
    ("absolute_members", (50, 10, 0), "tie", 100),
    ("absolute_present", (40, 0, 0), "rejected", 81),
    ("two_thirds_cast", (20, 10, 99), "adopted", 30),
    ("two_thirds_cast", (19, 10, 0), "rejected", 29),
    ("two_thirds_members", (66, 0, 0), "rejected", 100),
    ("two_thirds_present", (54, 0, 0), "adopted", 81),
    ("reject_absolute_members", (1, 50, 0), "tie", 100),
    ("reject_absolute_members", (1, 51, 0), "rejected", 100),
])
def test_majority_rules_state_their_base(rule: str, counts: tuple, outcome: str, base: int) -> None:
    yes, no, abstain = counts

    found = decide_motion(rule, {"yes": yes, "no": no, "abstain": abstain}, members=100, present=81)

    assert (found["outcome"], found["base"]) == (outcome, base)
    assert found["base_text"] == MOTION_RULES[rule].base_text


def test_abstentions_have_no_percentage_when_not_in_the_base() -> None:
    found = decide_motion("simple", {"yes": 3, "no": 1, "abstain": 4}, members=10, present=8)

    assert found["percent"] == {"yes": 75.0, "no": 25.0, "abstain": None}


def ep_votings() -> list[tuple[str, dict, str]]:
    root = ET.parse(EP_FILE).getroot()
    found = []
    for vote in root.iter("vote"):
        label = vote.findtext("label") or ""
        rule = "reject_absolute_members" if "required to reject" in label else "simple"
        for voting_el in vote.iter("voting"):
            a = voting_el.attrib
            if "result" in a:
                counts = {"yes": int(a["numberFavor"]), "no": int(a["numberAgainst"]),
                          "abstain": int(a["numberAbstention"])}
                assert sum(counts.values()) == int(a["votersCount"])
                found.append((rule, counts, a["result"].lower()))
    return found


def test_european_parliament_results_follow_from_the_majority_rules() -> None:
    votings = ep_votings()

    outcomes = [decide_motion(rule, counts, EP_MEMBERS, counts["yes"] + counts["no"] + counts["abstain"])["outcome"]
                for rule, counts, _ in votings]

    assert len(votings) == 11
    assert {rule for rule, _, _ in votings} == {"simple", "reject_absolute_members"}
    assert outcomes == [stated for _, _, stated in votings]


def test_european_parliament_results_entered_by_hand_give_the_same_outcome(make_room) -> None:
    room = make_room(700)
    room.start()
    room.check_in(*room.members)
    rule, counts, stated = ep_votings()[5]  # the election of the Commission: 370, 282, 36

    poll_id = open_vote(room, mode="analog", rule=rule, title="Election of the Commission")
    room.run(room.secretary, "poll.enter_counts", poll_id=poll_id, **counts)

    assert result(room, poll_id)["outcome"] == stated == "adopted"


# -- property: the count at the close, the recount and an independent count agree


@pytest.fixture
def property_room(make_room) -> Room:
    room = make_room(25, settings="[meeting.settings.vote_weights]\nd3 = 2\nd7 = 3\n")
    room.start()
    room.check_in(*room.members)
    return room


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(st.sampled_from(["yes", "no", "abstain", None]), min_size=26, max_size=26),
       rule=st.sampled_from(sorted(MOTION_RULES)), mode=st.sampled_from(["secret", "named"]),
       retries=st.lists(st.integers(0, 25), max_size=5))
def test_count_at_close_recount_and_an_independent_count_agree(property_room: Room, choices, rule,
                                                              mode, retries) -> None:
    room = property_room
    poll_id = open_vote(room, rule=rule, mode=mode)
    weights = {3: 2, 7: 3}
    expected = {"yes": 0, "no": 0, "abstain": 0}
    command_ids = {}
    for index, (viewer, choice) in enumerate(zip(room.members, choices)):
        if choice is None:
            continue
        command_ids[index] = new_id()
        room.run(viewer, "poll.cast", command_ids[index], poll_id=poll_id, choice=choice)
        expected[choice] += weights.get(index, 1)
    for index in retries:
        if index in command_ids:
            room.run(room.members[index], "poll.cast", command_ids[index], poll_id=poll_id,
                     choice=random.choice(["yes", "no"]))
    room.run(room.chair, "poll.close", poll_id=poll_id)

    stored = result(room, poll_id)
    recounted = room.read(voting.recount_poll, poll_id)
    independent = decide_motion(rule, expected, members=29, present=29)
    assert stored["counts"] == recounted["recount"]["counts"] == expected
    assert recounted["matches"] is True
    assert stored["outcome"] == independent["outcome"]
    assert stored["ballots"] == len(command_ids)


def test_the_recount_notices_a_lost_ballot(running_room: Room) -> None:
    room = running_room
    poll_id = open_vote(room)
    for viewer in room.delegates:
        room.run(viewer, "poll.cast", poll_id=poll_id, choice="yes")
    room.run(room.chair, "poll.close", poll_id=poll_id)

    def lose_one(session):
        session.delete(session.exec(select(Ballot).where(Ballot.poll_id == poll_id)).first())
    room.store.write_sync(lose_one)

    recounted = room.read(voting.recount_poll, poll_id)
    assert recounted["recount"]["counts"]["yes"] == 4
    assert recounted["matches"] is False


def test_results_of_the_meeting_are_listed_for_the_minutes(running_room: Room) -> None:
    room = running_room
    first = open_vote(room)
    room.run(room.chair, "poll.close", poll_id=first)
    prepare(room, title="Not yet voted")

    listed = room.read(voting.list_poll_results, room.meeting_id)

    assert [r["poll_id"] for r in listed] == [first]
    assert listed[0]["final"] is True


def test_unknown_poll_is_named_in_the_error(running_room: Room) -> None:
    with pytest.raises(MeetingError) as error:
        running_room.run(running_room.chair, "poll.open", poll_id=999)
    assert error.value.message == "Vote 999 does not exist in this meeting."


def test_a_poll_row_is_stored_with_its_result(running_room: Room) -> None:
    poll_id = open_vote(running_room)
    running_room.run(running_room.chair, "poll.close", poll_id=poll_id)

    poll = running_room.read(lambda s: s.get(Poll, poll_id))

    assert json.loads(poll.result_json)["ballot_hash"] == poll.ballot_hash


# -- plenary recount POLL ------------------------------------------------------


def test_plenary_recount_prints_the_same_result_and_the_ballot_hash(running_room: Room, settings,
                                                                    capsys) -> None:
    from server.cli import main

    room = running_room
    poll_id = open_vote(room, rule="absolute_members")
    for viewer, choice in zip(room.members, ["yes", "yes", "no", "yes", "abstain", "yes"]):
        room.run(viewer, "poll.cast", poll_id=poll_id, choice=choice)
    room.run(room.chair, "poll.close", poll_id=poll_id)
    stored = result(room, poll_id)

    code = main(["--data-dir", str(settings.data_dir), "recount", str(poll_id)])

    out = capsys.readouterr().out
    assert code == 0
    assert "Yes 4, no 1, abstain 1" in out
    assert stored["outcome_text"] in out
    assert f"Ballot set SHA-256: {stored['ballot_hash']}" in out
    assert out.rstrip().endswith("The recount matches the stored result.")


def test_plenary_recount_refuses_an_open_vote(running_room: Room, settings, capsys) -> None:
    from server.cli import main

    poll_id = open_vote(running_room)
    running_room.run(running_room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")

    code = main(["--data-dir", str(settings.data_dir), "recount", str(poll_id)])

    captured = capsys.readouterr()
    assert (code, captured.err.strip()) == (1, "The vote is still open; it can be counted once it is closed.")
    assert "Yes" not in captured.out


def test_plenary_recount_names_an_unknown_vote(settings, client, capsys) -> None:
    from server.cli import main

    code = main(["--data-dir", str(settings.data_dir), "recount", "77"])

    assert (code, capsys.readouterr().err.strip()) == (1, "Vote 77 does not exist.")
