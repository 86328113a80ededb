"""Votes on motions, and the life of every poll (elections included).

Rules:
- A poll is prepared, then opened by the chair, closed, and published; or it is
  cancelled, or repeated as a new poll, and the reason is recorded.
- A poll needs the quorum to open, and a running meeting.
- Modes: named (who chose what is published with the result), secret (only the
  totals exist) and analog (the secretary enters the counts of a show of hands
  or of paper ballots, and they must add up).
- Only voting members who are present may vote, and a member represented by
  proxy votes through the present member who carries the proxy. One ballot per
  member and poll: the voter list has a unique constraint in the database.
- A retried command (same command id) is answered "already recorded" and not
  counted again; a second ballot for the same member from anywhere else is
  refused.
- A secret ballot is stored apart from the voter list, with a random key and no
  time, author or order; no event and no command receipt names what a member
  chose, and the voter list keeps no command id of a secret ballot. Tablets see
  how many have voted, a few times a second at most; staff see who has not
  voted yet, in batches every few seconds.
- No tally exists while a poll is open: nothing counts the ballots until the
  close, so no screen, export or recount can show a running count that, set
  beside the voter list, would tell who chose what.
- A ballot and the close both go through the single writer: a ballot is counted
  if it was stored before the close, and refused after it.
- The result is counted from the stored ballots by one set of majority rules
  (server/_majority.py) when the poll closes, and stored with exact counts; the
  same dict is shown on tablets and the projector, exported, and written into
  the minutes.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, literal_column
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from server import elections
from server._ballots import recount
from server._floorsettings import FloorSettings, floor_settings
from server._majority import ELECTION_THRESHOLDS, MOTION_CHOICES, MOTION_RULES, decide_motion
from server.access import Viewer
from server.agenda import get_item
from server.attendance import (
    get_quorum, member_states,
)
from server.commands import CHAIR, PARTICIPANTS, STAFF, command, int_arg
from server.db import Statement
from server.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from server.eventlog import AUDIENCE_PUBLIC, AUDIENCE_STAFF, record_event
from server.models import (
    Attendance, Ballot, Event, Meeting, Participant, Poll, PollVoter, utcnow,
)
from server.snapshot import snapshot_section

log = logging.getLogger(__name__)
MODES = ("named", "secret", "analog")
TITLE_LIMIT = 300
REASON_LIMIT = 500

# Polls with new ballots since their progress (the count) and their voter list
# (who has not voted) were last announced. The web layer drains the first a few
# times a second and the second every few seconds (server/web/floor.py), so
# tablets get counts coalesced and staff get the voter list in batches, never
# one message per ballot.
_dirty: set[int] = set()
_dirty_voters: set[int] = set()
_dirty_lock = threading.Lock()

# Command ids of recent secret ballots, in memory only, to tell a retry from a
# second tablet; the database keeps none of them (a client's command id may
# hold the time it was made).
_RECENT_LIMIT = 50_000
_recent_secret: OrderedDict[tuple[int, int], str] = OrderedDict()


def mark_progress(poll_id: int) -> None:
    with _dirty_lock:
        _dirty.add(poll_id)
        _dirty_voters.add(poll_id)


def take_progress() -> list[int]:
    with _dirty_lock:
        found = sorted(_dirty)
        _dirty.clear()
    return found


def take_voters() -> list[int]:
    with _dirty_lock:
        found = sorted(_dirty_voters)
        _dirty_voters.clear()
    return found


def mark_voters(poll_id: int) -> None:
    with _dirty_lock:
        _dirty_voters.add(poll_id)


# -- reading -------------------------------------------------------------------


def get_poll(session: Session, meeting_id: int, poll_id: int) -> Poll:
    poll = session.get(Poll, poll_id)
    if poll is None or poll.meeting_id != meeting_id:
        raise NotFoundError("Vote {poll} does not exist in this meeting.", poll=poll_id)
    return poll


def list_polls(session: Session, meeting_id: int) -> list[Poll]:
    stmt = select(Poll).where(Poll.meeting_id == meeting_id).order_by(col(Poll.id))
    return list(session.exec(stmt))


def noun(poll: Poll) -> str:
    return "in this election" if poll.kind == "election" else "on this motion"


def voter_weight(person: Participant, settings: FloorSettings) -> int:
    return settings.vote_weights.get(person.key, 1)


def eligible_voters(session: Session, meeting: Meeting) -> dict[int, int]:
    """participant id -> weight, for every member who may vote now."""
    weights = floor_settings(meeting).vote_weights
    return {m.id: weights.get(m.key, 1) for m in member_states(session, meeting)
            if m.status in ("present", "proxy")}


def voted_ids(session: Session, poll_id: int) -> list[int]:
    stmt = select(PollVoter.participant_id).where(PollVoter.poll_id == poll_id)
    return sorted(session.exec(stmt))


def poll_view(session: Session, poll: Poll, staff: bool) -> dict[str, Any]:
    """What a screen shows of a poll; the result only once it may be seen."""
    view = {"id": poll.id, "item_id": poll.item_id, "kind": poll.kind, "title": poll.title,
            "mode": poll.mode, "rule": poll.rule, "rule_text": rule_text(poll),
            "state": poll.state, "seats": poll.seats, "ballot_style": poll.ballot_style,
            "reason": poll.reason, "repeat_of_id": poll.repeat_of_id, "voted": poll.voted,
            "candidates": elections.candidate_views(session, poll),
            "opened_at": _iso(poll.opened_at), "closed_at": _iso(poll.closed_at),
            "published_at": _iso(poll.published_at), "result": None}
    if poll.result_json and (poll.state == "published" or staff):
        view["result"] = poll_result(session, poll.id)
    return view


def rule_text(poll: Poll) -> str:
    if poll.kind == "election":
        return ELECTION_THRESHOLDS[poll.rule].text
    return MOTION_RULES[poll.rule].text


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def poll_result(session: Session, poll_id: int) -> dict[str, Any]:
    """The stored result of a poll, the same dict for every screen and document.

    Before the poll closes there is no result: ``final`` is false and the counts
    are empty.
    """
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFoundError("Vote {poll} does not exist.", poll=poll_id)
    base = {"poll_id": poll.id, "meeting_id": poll.meeting_id, "item_id": poll.item_id,
            "title": poll.title, "kind": poll.kind, "mode": poll.mode, "state": poll.state,
            "reason": poll.reason, "repeat_of_id": poll.repeat_of_id,
            "closed_at": _iso(poll.closed_at), "published_at": _iso(poll.published_at)}
    if not poll.result_json:
        return {**base, "final": False}
    return {**json.loads(poll.result_json), **base, "final": True}


def list_poll_results(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """Results of every poll of the meeting that closed (published or not), in order."""
    return [poll_result(session, p.id) for p in list_polls(session, meeting_id)
            if p.result_json]


def list_voted_for(session: Session, poll_ids: list[int], participant_id: int) -> dict[int, list[int]]:
    """For each poll: the members (the viewer, or those they carry) already voted through them."""
    if not poll_ids:
        return {}
    stmt = select(PollVoter.poll_id, PollVoter.participant_id).where(
        col(PollVoter.poll_id).in_(poll_ids), PollVoter.cast_by_id == participant_id)
    found: dict[int, list[int]] = {}
    for poll_id, pid in session.exec(stmt):
        found.setdefault(poll_id, []).append(pid)
    return found


# -- preparing -----------------------------------------------------------------


def create_poll(session: Session, meeting: Meeting, spec: dict[str, Any], viewer: Viewer) -> Poll:
    kind = spec.get("kind", "motion")
    if kind not in ("motion", "election"):
        raise InvalidInputError("A vote is either a motion or an election.")
    title = str(spec.get("title") or "").strip()[:TITLE_LIMIT]
    if not title:
        raise InvalidInputError("Give the vote a title, for example the motion's wording.")
    mode = spec.get("mode", "secret")
    if mode not in MODES:
        raise InvalidInputError("The voting mode must be named, secret or analog.")
    item_id = spec.get("item_id")
    if item_id is not None:
        item_id = get_item(session, meeting.id, int_arg(spec, "item_id")).id
    poll = Poll(meeting_id=meeting.id, item_id=item_id, kind=kind, title=title, mode=mode,
                plan_key=str(spec.get("plan_key", ""))[:64])
    if kind == "election":
        elections.configure(poll, spec)
    else:
        poll.rule = _motion_rule(spec.get("rule", "simple"))
    session.add(poll)
    session.flush()
    if kind == "election":
        elections.add_candidates(session, poll, spec.get("candidates") or [])
    _announce(session, poll, viewer)
    return poll


def _motion_rule(code: Any) -> str:
    if code not in MOTION_RULES:
        allowed = ", ".join(MOTION_RULES)
        raise InvalidInputError("The majority rule must be one of: {allowed}.", allowed=allowed)
    return code


def plan_spec(meeting: Meeting, session: Session, key: str) -> dict[str, Any]:
    """A poll planned in the agenda file (``[[meeting.settings.polls]]``), as create args."""
    for plan in floor_settings(meeting).polls:
        if plan.get("key") == key:
            spec = dict(plan, plan_key=key)
            if "item" in spec:
                spec["item_id"] = _item_by_key(session, meeting.id, str(spec.pop("item")))
            return spec
    raise NotFoundError("The agenda file plans no vote with the key {key}.", key=key)


def _item_by_key(session: Session, meeting_id: int, key: str) -> int | None:
    from server.agenda import list_items
    for item in list_items(session, meeting_id):
        if item.key == key:
            return item.id
    return None


def list_plans(session: Session, meeting: Meeting) -> list[dict[str, Any]]:
    """Planned polls of the agenda file that have not been prepared yet."""
    used = {p.plan_key for p in list_polls(session, meeting.id) if p.plan_key}
    return [{"key": p.get("key"), "title": p.get("title"), "kind": p.get("kind", "motion"),
             "item": p.get("item")}
            for p in floor_settings(meeting).polls if p.get("key") not in used]


# -- the life of a poll --------------------------------------------------------


def open_poll(session: Session, meeting: Meeting, poll: Poll, viewer: Viewer) -> dict:
    if poll.state != "prepared":
        raise ConflictError("Only a prepared vote can be opened; this one is {state}.", state=poll.state)
    if meeting.state != "running":
        raise ConflictError("Votes can only be opened while the meeting is running.")
    quorum = get_quorum(session, meeting)
    if not quorum.met:
        raise ConflictError("The quorum is not met: {present} of {members} members are present and {required} are needed. A vote can only be held with a quorum.", present=quorum.present, members=quorum.members, required=quorum.required)
    if poll.kind == "election":
        elections.ensure_ready(session, poll)
    poll.state, poll.opened_at = "open", utcnow()
    poll.tally_json = "{}"  # no running tally: the ballots are counted at the close
    session.add(poll)
    _announce(session, poll, viewer)
    announce_progress(session, [poll.id])
    announce_voters(session, [poll.id])
    log.info("Vote %s opened in meeting %s.", poll.id, meeting.key)
    return {"poll_id": poll.id, "state": poll.state}


def close_poll(session: Session, meeting: Meeting, poll: Poll, viewer: Viewer) -> dict:
    if poll.state != "open":
        raise ConflictError("Only an open vote can be closed; this one is {state}.", state=poll.state)
    if poll.mode == "analog":
        raise ConflictError("Enter the counts of the show of hands or the paper ballots; that closes the vote.")
    poll.state, poll.closed_at = "closed", utcnow()
    result = _final_result(session, meeting, poll)
    poll.result_json = json.dumps(result, ensure_ascii=False)
    session.add(poll)
    announce_progress(session, [poll.id])
    announce_voters(session, [poll.id])
    _announce(session, poll, viewer)
    log.info("Vote %s closed: %s ballots, %s.", poll.id, poll.voted, result.get("outcome"))
    return {"poll_id": poll.id, "state": poll.state}


def _final_result(session: Session, meeting: Meeting, poll: Poll) -> dict[str, Any]:
    """Count the stored ballots, once, now that the poll is closed."""
    counted, digest = recount(session, poll, elections.candidate_ids(session, poll))
    if counted["ballots"] != poll.voted:
        log.error("Vote %s: %s ballots stored for %s names on the voter list.",
                  poll.id, counted["ballots"], poll.voted)
    poll.tally_json = json.dumps(counted)
    poll.ballot_hash = digest
    result = build_result(session, meeting, poll, counted)
    result["ballot_hash"] = digest
    return result


def build_result(session: Session, meeting: Meeting, poll: Poll, tally: dict[str, Any],
                 at_close: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result dict from a tally: counts, base, rule, outcome, and names if named.

    ``at_close`` gives the members, presence and quorum as they were when the
    poll closed (for a recount later); by default they are taken now.
    """
    common = {**(at_close or room_figures(session, meeting)), "ballots": tally["ballots"]}
    members, present = common["members"], common["present"]
    if poll.kind == "election":
        return {**common, **elections.election_result(session, poll, tally, members)}
    counts = {c: tally[c] for c in MOTION_CHOICES}
    result = {**common, "counts": counts, **decide_motion(poll.rule, counts, members, present)}
    if poll.mode == "named":
        result["named"] = named_votes(session, poll)
    return result


def room_figures(session: Session, meeting: Meeting) -> dict[str, Any]:
    """Members, those present or represented (by weight), and the quorum, now."""
    settings = floor_settings(meeting)
    members = sum(settings.vote_weights.get(m.key, 1) for m in member_states(session, meeting))
    return {"members": members, "present": sum(eligible_voters(session, meeting).values()),
            "weighted": bool(settings.vote_weights),
            "quorum": get_quorum(session, meeting).as_dict()}


def named_votes(session: Session, poll: Poll) -> list[dict[str, Any]]:
    stmt = (select(Ballot.voter_id, Ballot.choice, Ballot.marks, Participant.name)
            .join(Participant, col(Participant.id) == Ballot.voter_id)
            .where(Ballot.poll_id == poll.id).order_by(col(Participant.sort_order)))
    return [{"participant_id": pid, "name": name, "choice": choice,
             "marks": json.loads(marks) if marks else None}
            for pid, choice, marks, name in session.exec(stmt)]


def publish_poll(session: Session, poll: Poll, viewer: Viewer) -> dict:
    if poll.state != "closed":
        raise ConflictError("Only a closed vote can be published; this one is {state}.", state=poll.state)
    poll.state, poll.published_at = "published", utcnow()
    session.add(poll)
    _announce(session, poll, viewer)
    return {"poll_id": poll.id, "state": poll.state}


def cancel_poll(session: Session, poll: Poll, viewer: Viewer, reason: str) -> dict:
    if poll.state in ("published", "cancelled"):
        raise ConflictError("A {state} vote cannot be cancelled.", state=poll.state)
    poll.state, poll.reason = "cancelled", _reason(reason)
    session.add(poll)
    _announce(session, poll, viewer)
    log.info("Vote %s cancelled.", poll.id)
    return {"poll_id": poll.id, "state": poll.state}


def repeat_poll(session: Session, meeting: Meeting, poll: Poll, viewer: Viewer,
                reason: str) -> dict:
    """Prepare the same vote again; the first one keeps its record and the reason."""
    if poll.state in ("prepared", "open"):
        raise ConflictError("Close or cancel this vote before repeating it.")
    why = _reason(reason)
    again = Poll(meeting_id=meeting.id, item_id=poll.item_id, kind=poll.kind,
                 title=poll.title, mode=poll.mode, rule=poll.rule, seats=poll.seats,
                 ballot_style=poll.ballot_style, reason=why, repeat_of_id=poll.id)
    session.add(again)
    session.flush()
    elections.copy_candidates(session, poll, again)
    poll.reason = f"Repeated as vote {again.id}: {why}"
    session.add(poll)
    _announce(session, poll, viewer)
    _announce(session, again, viewer)
    return {"poll_id": again.id, "state": again.state}


def _reason(reason: Any) -> str:
    text = str(reason or "").strip()[:REASON_LIMIT]
    if not text:
        raise InvalidInputError("Give the reason; it is recorded in the minutes.")
    return text


def _announce(session: Session, poll: Poll, viewer: Viewer) -> None:
    actor = viewer.participant_id
    record_event(session, poll.meeting_id, "poll.changed", poll_view(session, poll, True),
                 audience=AUDIENCE_STAFF, actor_id=actor)
    if poll.state != "prepared":
        record_event(session, poll.meeting_id, "poll.changed",
                     poll_view(session, poll, False), audience=AUDIENCE_PUBLIC,
                     actor_id=actor)


# -- ballots -------------------------------------------------------------------


def cast_ballot(session: Session, meeting: Meeting, poll: Poll, viewer: Viewer,
                args: dict[str, Any], command_id: str) -> dict[str, Any]:
    """Store one ballot and the voter's name on the voter list, never together."""
    settings = floor_settings(meeting)
    voter = _voter(session, meeting, viewer, args, settings, poll.id)
    if voter.voted is not None:
        return _already_voted(voter, viewer, command_id, poll)
    ensure_open(poll)
    if poll.mode == "analog":
        raise ConflictError("This vote is counted by show of hands or on paper; the tablet does not take ballots.")
    choice, marks = read_ballot(session, poll, args)

    weight = settings.vote_weights.get(voter.key, 1)
    named = voter.id if poll.mode == "named" else None
    secret = poll.mode == "secret"
    _insert_voter(session, poll, voter, {"id": uuid.uuid4().hex, "poll_id": poll.id,
                                         "participant_id": voter.id,
                                         "cast_by_id": viewer.participant_id,
                                         "command_id": "" if secret else command_id})
    _INSERT_BALLOT.run(session, {"id": uuid.uuid4().hex, "poll_id": poll.id, "choice": choice,
                                 "marks": marks, "weight": weight, "voter_id": named})
    # a count of names on the voter list, never of choices; read before the
    # UPDATE, so that a reload of an expired poll cannot count it twice
    voted = poll.voted + 1
    _COUNT_VOTER.run(session, {"poll": poll.id})
    set_committed_value(poll, "voted", voted)
    if secret:
        _remember_secret(poll.id, voter.id, command_id)
    mark_progress(poll.id)
    return {"poll_id": poll.id, "recorded": True, "voter_id": voter.id}


def _remember_secret(poll_id: int, voter_id: int, command_id: str) -> None:
    # Runs on the single writer thread, like every ballot. An entry whose
    # transaction fails does no harm: it is only read when a voter row exists.
    _recent_secret[(poll_id, voter_id)] = command_id
    while len(_recent_secret) > _RECENT_LIMIT:
        _recent_secret.popitem(last=False)


def _insert_voter(session: Session, poll: Poll, voter: "_Voter", row: dict[str, Any]) -> None:
    # The unique voter-list constraint is the last word on one ballot per member;
    # the job's savepoint then takes back everything of this ballot.
    try:
        _INSERT_VOTER.run(session, row)
    except IntegrityError:
        raise ConflictError("A ballot for {name} has already been cast {noun}. Each member has one ballot.", name=voter.name, noun=noun(poll)) from None


def ensure_open(poll: Poll) -> None:
    if poll.state == "open":
        return
    if poll.state in ("closed", "published"):
        raise ConflictError("Voting {noun} is already closed.", noun=noun(poll))
    if poll.state == "cancelled":
        raise ConflictError("This vote was cancelled; no ballots are taken.")
    raise ConflictError("Voting {noun} has not opened yet.", noun=noun(poll))


@dataclass(frozen=True)
class _Voter:
    id: int
    key: str
    name: str
    role: str
    active: bool
    status: str
    proxy_holder_id: int | None
    voted: tuple[int, str] | None  # (cast by, command id) when already on the voter list


# The statements of a ballot, built once: building and keying a statement per
# ballot cost more than running it (bench/ballots.py; docs/floor.md).
_VOTER_QUERY = Statement(
    core_select(Participant.id, Participant.key, Participant.name, Participant.role,
                Participant.active, Attendance.status, Attendance.proxy_holder_id,
                PollVoter.cast_by_id, PollVoter.command_id)
    .outerjoin(Attendance, and_(col(Attendance.participant_id) == Participant.id,
                                Attendance.meeting_id == bindparam("meeting")))
    .outerjoin(PollVoter, and_(col(PollVoter.participant_id) == Participant.id,
                               PollVoter.poll_id == bindparam("poll")))
    .where(Participant.id == bindparam("person"), Participant.meeting_id == bindparam("meeting")))
_INSERT_VOTER = Statement(PollVoter.__table__.insert())
_INSERT_BALLOT = Statement(Ballot.__table__.insert())
_COUNT_VOTER = Statement(Poll.__table__.update().where(Poll.__table__.c.id == bindparam("poll"))
                         .values(voted=Poll.__table__.c.voted + literal_column("1")))


def _load_voter(session: Session, meeting_id: int, participant_id: Any,
                poll_id: int) -> _Voter | None:
    """The person, their attendance and their voter-list row for the poll, in one query."""
    if isinstance(participant_id, bool) or not isinstance(participant_id, int):
        return None
    session.flush()  # what this job changed so far; earlier jobs' savepoints flushed theirs
    params = {"meeting": meeting_id, "person": participant_id, "poll": poll_id}
    rows = _VOTER_QUERY.run(session, params)
    if not rows:
        return None
    pid, key, name, role, active, status, holder, cast_by, command_id = rows[0]
    voted = (cast_by, command_id) if cast_by is not None else None
    return _Voter(pid, key, name, role, bool(active), status or "absent", holder, voted)


def _voter(session: Session, meeting: Meeting, viewer: Viewer, args: dict,
           settings: FloorSettings, poll_id: int) -> _Voter:
    """The member the ballot counts for: the viewer, or the member whose proxy they carry."""
    me = _load_voter(session, meeting.id, viewer.participant_id, poll_id)
    if me is None or not _votes(me, settings):
        raise NotAllowedError("Only voting members may vote.")
    if me.status != "present":
        raise NotAllowedError("You are not checked in. Only members who are present may vote; please check in first.")
    if args.get("on_behalf_of") in (None, me.id):
        return me
    other = _load_voter(session, meeting.id, int_arg(args, "on_behalf_of"), poll_id)
    if other is None or other.status != "proxy" or other.proxy_holder_id != me.id:
        raise NotAllowedError("You do not carry a proxy for this member.")
    return other


def _votes(person: _Voter, settings: FloorSettings) -> bool:
    roles = ("delegate", "chair") if settings.chair_votes else ("delegate",)
    return person.active and person.role in roles


def _already_voted(voter: _Voter, viewer: Viewer, command_id: str,
                   poll: Poll) -> dict[str, Any]:
    stored = voter.voted
    if poll.mode == "secret" and stored is not None:  # the database keeps no command id
        stored = (stored[0], _recent_secret.get((poll.id, voter.id), ""))
    if stored == (viewer.participant_id, command_id):
        return {"poll_id": poll.id, "recorded": True, "voter_id": voter.id, "already": True}
    if voter.id == viewer.participant_id:
        raise ConflictError("You have already voted {noun}. Each member has one ballot, and yours is counted.", noun=noun(poll))
    raise ConflictError("A ballot for {name} has already been cast {noun}. Each member has one ballot.", name=voter.name, noun=noun(poll))


def read_ballot(session: Session, poll: Poll, args: dict[str, Any]) -> tuple[str, str]:
    """(choice, marks) as stored, from what the tablet sent."""
    if poll.kind == "election":
        return elections.read_election_ballot(session, poll, args)
    choice = args.get("choice")
    if choice not in MOTION_CHOICES:
        raise InvalidInputError("Choose yes, no or abstain.")
    return choice, ""


# -- counts by hand -----------------------------------------------------------


def enter_counts(session: Session, meeting: Meeting, poll: Poll, viewer: Viewer,
                 args: dict[str, Any]) -> dict[str, Any]:
    """Store the counts of a show of hands or of paper ballots; they must add up."""
    if poll.mode != "analog":
        raise ConflictError("Counts are entered by hand only for votes by show of hands or on paper.")
    if poll.state not in ("open", "closed"):
        raise ConflictError("Counts can be entered while the vote is open or closed, not when it is {state}.", state=poll.state)
    present = sum(eligible_voters(session, meeting).values())
    if poll.kind == "election":
        tally = elections.read_counts(session, poll, args, present)
    else:
        tally = read_motion_counts(args, present)
    poll.state = "closed"
    poll.closed_at = poll.closed_at or utcnow()
    poll.tally_json = json.dumps(tally)
    poll.voted = tally["ballots"]
    poll.result_json = json.dumps({**build_result(session, meeting, poll, tally),
                                   "entered_by_hand": True}, ensure_ascii=False)
    session.add(poll)
    _announce(session, poll, viewer)
    return {"poll_id": poll.id, "state": poll.state}


def count_arg(args: dict[str, Any], name: str) -> int:
    value = args.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError("The count of {name} must be a whole number.", name=name)
    if value < 0:
        raise InvalidInputError("The count of {name} cannot be negative.", name=name)
    return value


def read_motion_counts(args: dict[str, Any], present: int) -> dict[str, Any]:
    counts = {c: count_arg(args, c) for c in MOTION_CHOICES}
    total = sum(counts.values())
    if args.get("total") is not None and count_arg(args, "total") != total:
        raise InvalidInputError("The counts do not add up: {yes} yes + {no} no + {abstain} abstain make {sum}, not {total}.", sum=total, total=args["total"], **counts)
    if total > present:
        raise InvalidInputError("The counts add up to {sum}, but only {present} members are present or represented.", sum=total, present=present)
    return {"ballots": total, **counts}


# -- progress ------------------------------------------------------------------


def announce_progress(session: Session, poll_ids: list[int]) -> None:
    """Tell tablets how many have voted, if it changed: counts only."""
    for poll_id in poll_ids:
        poll = session.get(Poll, poll_id)
        if poll is None or poll.state not in ("open", "closed"):
            continue
        if poll.voted == poll.progress_sent and poll.state == "open":
            continue
        meeting = session.get(Meeting, poll.meeting_id)
        record_event(session, poll.meeting_id, "poll.progress",
                     {"poll_id": poll.id, "voted": poll.voted,
                      "eligible": len(eligible_voters(session, meeting))})
        poll.progress_sent = poll.voted
        session.add(poll)


def announce_voters(session: Session, poll_ids: list[int]) -> None:
    """Tell staff who has not voted yet. Called at the opening, the close, and
    in batches every few seconds in between, never once per ballot."""
    for poll_id in poll_ids:
        poll = session.get(Poll, poll_id)
        if poll is None or poll.state not in ("open", "closed"):
            continue
        meeting = session.get(Meeting, poll.meeting_id)
        record_event(session, poll.meeting_id, "poll.voters",
                     {"poll_id": poll.id, "not_voted": not_voted(session, meeting, poll.id)},
                     audience=AUDIENCE_STAFF)


def not_voted(session: Session, meeting: Meeting, poll_id: int) -> list[int]:
    return sorted(set(eligible_voters(session, meeting)) - set(voted_ids(session, poll_id)))


def last_not_voted(session: Session, meeting_id: int, poll_id: int) -> list[int] | None:
    """The who-has-not-voted list as staff were last told it (the snapshot shows
    that, not the live list, so reloading a page is no per-ballot signal)."""
    stmt = (select(Event.payload).where(Event.meeting_id == meeting_id,
                                        Event.type == "poll.voters")
            .order_by(col(Event.seq).desc()).limit(200))
    for payload in session.exec(stmt):
        data = json.loads(payload)
        if data.get("poll_id") == poll_id:
            return data["not_voted"]
    return None


# -- commands ------------------------------------------------------------------


def _poll_arg(session: Session, meeting: Meeting, args: dict) -> Poll:
    return get_poll(session, meeting.id, int_arg(args, "poll_id"))


@command("poll.create", STAFF, "prepare a vote")
def create_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    spec = plan_spec(meeting, session, str(args["plan"])) if args.get("plan") else args
    poll = create_poll(session, meeting, spec, viewer)
    return {"poll_id": poll.id, "state": poll.state}


@command("poll.open", CHAIR, "open a vote")
def open_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return open_poll(session, meeting, _poll_arg(session, meeting, args), viewer)


@command("poll.close", CHAIR, "close a vote")
def close_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return close_poll(session, meeting, _poll_arg(session, meeting, args), viewer)


@command("poll.publish", CHAIR, "publish the result of a vote")
def publish_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return publish_poll(session, _poll_arg(session, meeting, args), viewer)


@command("poll.cancel", CHAIR, "cancel a vote")
def cancel_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return cancel_poll(session, _poll_arg(session, meeting, args), viewer, args.get("reason"))


@command("poll.repeat", CHAIR, "repeat a vote")
def repeat_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    poll = _poll_arg(session, meeting, args)
    return repeat_poll(session, meeting, poll, viewer, args.get("reason"))


@command("poll.enter_counts", STAFF, "enter the counts of a vote")
def counts_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    return enter_counts(session, meeting, _poll_arg(session, meeting, args), viewer, args)


# keep_receipt=False: a receipt would store the answer next to the voter's id
# and time; the voter list answers retries instead.
# lock=False: a ballot records no event, so it leaves the meeting row alone and
# locks only its poll (the close takes the same lock, on PostgreSQL too).
@command("poll.cast", PARTICIPANTS, "vote", keep_receipt=False, lock=False)
def cast_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    poll_id = int_arg(args, "poll_id")
    if session.get_bind().dialect.name == "sqlite":  # one writer: the identity map is current
        poll = session.get(Poll, poll_id)
        _keep_for_batch(session, meeting, poll)
    else:
        poll = session.exec(select(Poll).where(Poll.id == poll_id).with_for_update()).first()
    if poll is None or poll.meeting_id != meeting.id:
        raise NotFoundError("Vote {poll} does not exist in this meeting.", poll=args.get("poll_id"))
    return cast_ballot(session, meeting, poll, viewer, args, session.info["command_id"])


def _keep_for_batch(session: Session, *rows: Any) -> None:
    # The writer's session serves one batch of jobs, but its identity map holds
    # a row only while something else does: keep the meeting and the poll, so
    # the next ballot of the batch finds them without a query.
    kept = session.info.setdefault("kept", {})
    for row in rows:
        if row is not None:
            kept[(type(row).__name__, row.id)] = row


def recount_poll(session: Session, poll_id: int) -> dict[str, Any]:
    """Count the stored ballots of a closed poll again and compare with the stored result.

    An open poll is never counted: a count while ballots arrive, set beside
    who has voted since, would tell who chose what.
    """
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFoundError("Vote {poll} does not exist.", poll=poll_id)
    ensure_countable(poll)
    meeting = session.get(Meeting, poll.meeting_id)
    tally, digest = recount(session, poll, elections.candidate_ids(session, poll))
    stored = json.loads(poll.result_json) if poll.result_json else None
    figures = {k: stored[k] for k in ("members", "present", "weighted", "quorum")} if stored else None
    result = build_result(session, meeting, poll, tally, figures)
    return {"poll": poll_result(session, poll_id), "recount": result, "tally": tally,
            "ballot_hash": digest, "stored_hash": poll.ballot_hash,
            "matches": _same_outcome(stored, result, digest, poll)}


def ensure_countable(poll: Poll) -> None:
    if poll.state == "open":
        raise ConflictError("The vote is still open; it can be counted once it is closed.")
    if poll.state == "prepared":
        raise ConflictError("The vote has not been opened; there are no ballots to count.")
    if poll.state == "cancelled":
        raise ConflictError("The vote was cancelled; its ballots are not counted.")


def _same_outcome(stored: dict | None, result: dict, digest: str, poll: Poll) -> bool | None:
    if stored is None or stored.get("entered_by_hand"):
        return None
    keys = ("counts", "candidates", "valid", "blank", "invalid", "ballots", "outcome")
    return digest == poll.ballot_hash and all(stored.get(k) == result.get(k) for k in keys)



@snapshot_section("polls")
def _snapshot(session: Session, meeting: Meeting, viewer: Viewer) -> dict[str, Any]:
    polls = [p for p in list_polls(session, meeting.id)
             if viewer.is_staff or p.state != "prepared"]
    eligible = eligible_voters(session, meeting)
    view: dict[str, Any] = {
        "polls": [poll_view(session, p, viewer.is_staff) for p in polls],
        "eligible": len(eligible), "plans": [], "not_voted": {}, "voted_for": {}}
    if viewer.participant_id is not None:
        view["voted_for"] = list_voted_for(session, [p.id for p in polls], viewer.participant_id)
    if viewer.is_staff:
        view["plans"] = list_plans(session, meeting)
        for poll in polls:
            if poll.state == "open":
                last = last_not_voted(session, meeting.id, poll.id)
                view["not_voted"][poll.id] = (last if last is not None
                                              else not_voted(session, meeting, poll.id))
    return view
