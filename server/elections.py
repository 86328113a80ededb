"""Elections: candidates, seats, ballot styles and the count.

Rules:
- An election fills a number of seats from a list of candidates, written in the
  agenda file or nominated in the meeting while the election is prepared.
- Ballot styles: ``choose`` (tick up to as many names as there are seats),
  ``yes_no`` (yes, no or abstain for each candidate, at most as many yes as
  seats) and ``strike`` (the Vietnamese practice, gạch tên: strike out the names
  you reject; the names left are your votes).
- A ballot with no choice is blank. A strike ballot that leaves more names than
  seats, or strikes out every name, is invalid, as on paper; the tablet asks the
  member to confirm before casting it. A ``choose`` ballot with more ticks than
  seats is refused.
- A candidate's percentage is of the valid ballots; blank and invalid ballots are
  counted apart. Elected: over the threshold, the most votes first, within the
  seats. Candidates tied for the last seat are flagged for a runoff.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from server._majority import ELECTION_THRESHOLDS, decide_election
from server.access import Viewer
from server.commands import STAFF, command, int_arg
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.models import Candidate, Meeting, Poll

STYLES = ("choose", "yes_no", "strike")
NAME_LIMIT = 200
MAX_CANDIDATES = 500
MAX_SEATS = 500


def configure(poll: Poll, spec: dict[str, Any]) -> None:
    style = spec.get("ballot_style", "choose")
    if style not in STYLES:
        raise InvalidInputError("The ballot style must be choose, yes_no or strike.")
    threshold = spec.get("threshold", spec.get("rule", "half_valid"))
    if threshold not in ELECTION_THRESHOLDS:
        allowed = ", ".join(ELECTION_THRESHOLDS)
        raise InvalidInputError("The election threshold must be one of: {allowed}.", allowed=allowed)
    seats = spec.get("seats", 1)
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        raise InvalidInputError("The number of seats must be a whole number from 1 to {most}.", most=MAX_SEATS)
    poll.ballot_style, poll.rule, poll.seats = style, threshold, seats


def list_candidates(session: Session, poll: Poll) -> list[Candidate]:
    stmt = (select(Candidate).where(Candidate.poll_id == poll.id)
            .order_by(col(Candidate.position), col(Candidate.id)))
    return list(session.exec(stmt))


def candidate_ids(session: Session, poll: Poll) -> list[int]:
    if poll.kind != "election":
        return []
    if poll.state == "prepared":  # candidates may still change
        return [c.id for c in list_candidates(session, poll)]
    cached = session.info.setdefault("candidate_ids", {})
    if poll.id not in cached:
        cached[poll.id] = [c.id for c in list_candidates(session, poll)]
    return cached[poll.id]


def _forget_candidates(session: Session, poll: Poll) -> None:
    session.info.setdefault("candidate_ids", {}).pop(poll.id, None)


def candidate_views(session: Session, poll: Poll) -> list[dict[str, Any]]:
    if poll.kind != "election":
        return []
    return [{"id": c.id, "name": c.name, "group": c.group_name}
            for c in list_candidates(session, poll)]


def add_candidates(session: Session, poll: Poll, entries: list[Any]) -> None:
    for entry in entries:
        if isinstance(entry, dict):
            nominate(session, poll, str(entry.get("name", "")), str(entry.get("group", "")))
        else:
            nominate(session, poll, str(entry), "")


def nominate(session: Session, poll: Poll, name: str, group: str = "") -> Candidate:
    if poll.kind != "election":
        raise ConflictError("Candidates belong to elections; this vote is on a motion.")
    if poll.state != "prepared":
        raise ConflictError("Candidates can be added only before the election opens.")
    name = " ".join(name.split())[:NAME_LIMIT]
    if not name:
        raise InvalidInputError("Give the candidate's name.")
    current = list_candidates(session, poll)
    if any(c.name == name for c in current):
        raise ConflictError("{name} is already a candidate in this election.", name=name)
    if len(current) >= MAX_CANDIDATES:
        raise ConflictError("An election can have at most {most} candidates.", most=MAX_CANDIDATES)
    candidate = Candidate(poll_id=poll.id, name=name, group_name=group[:NAME_LIMIT],
                          position=len(current))
    session.add(candidate)
    session.flush()
    _forget_candidates(session, poll)
    return candidate


def copy_candidates(session: Session, source: Poll, target: Poll) -> None:
    for c in list_candidates(session, source):
        session.add(Candidate(poll_id=target.id, name=c.name, group_name=c.group_name,
                              position=c.position, participant_id=c.participant_id))
    session.flush()


def ensure_ready(session: Session, poll: Poll) -> None:
    count = len(candidate_ids(session, poll))
    if count == 0:
        raise ConflictError("This election has no candidates yet. Add the candidates before opening it.")
    if poll.ballot_style == "strike" and count < poll.seats:
        raise ConflictError("A ballot to strike names from needs at least as many candidates as seats: {count} candidates for {seats} seats.", count=count, seats=poll.seats)


# -- ballots -------------------------------------------------------------------


def read_election_ballot(session: Session, poll: Poll, args: dict[str, Any]) -> tuple[str, str]:
    """(valid / blank / invalid, marks as canonical JSON) from what the tablet sent."""
    known = candidate_ids(session, poll)
    if poll.ballot_style == "yes_no":
        return _yes_no_ballot(poll, args.get("marks"), known)
    marks = _id_list(args.get("marks"), known)
    if poll.ballot_style == "strike":
        return _strike_ballot(poll, marks, known, bool(args.get("accept_invalid")))
    if len(marks) > poll.seats:
        raise InvalidInputError("You chose {count} candidates, but only {seats} seats are to be filled. Remove {extra} of your choices.", count=len(marks), seats=poll.seats, extra=len(marks) - poll.seats)
    return ("valid" if marks else "blank"), json.dumps(sorted(marks))


def _id_list(value: Any, known: list[int]) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InvalidInputError("The ballot must list candidates by their numbers.")
    if len(set(value)) != len(value) or not set(value) <= set(known):
        raise InvalidInputError("The ballot names a candidate twice, or one who is not standing in this election. Reload the page and fill in the ballot again.")
    return value


def _strike_ballot(poll: Poll, struck: list[int], known: list[int],
                   accept_invalid: bool) -> tuple[str, str]:
    left = len(known) - len(struck)
    problem = None
    if left == 0:
        problem = "Every name is struck out, so this ballot would be counted as invalid."
    elif left > poll.seats:
        problem = f"This ballot leaves {left} names for {poll.seats} seats, so it would be counted as invalid. Strike out {left - poll.seats} more."
    if problem and not accept_invalid:
        raise InvalidInputError("{problem} To cast it anyway, confirm that you want to cast an invalid ballot.", problem=problem)
    return ("invalid" if problem else "valid"), json.dumps(sorted(struck))


def _yes_no_ballot(poll: Poll, value: Any, known: list[int]) -> tuple[str, str]:
    value = value or {}
    if not isinstance(value, dict):
        raise InvalidInputError("The ballot must give yes, no or abstain for each candidate.")
    answers: dict[str, str] = {}
    for key, answer in value.items():
        if not str(key).isdigit() or int(key) not in known or answer not in ("yes", "no", "abstain"):
            raise InvalidInputError("The ballot must give yes, no or abstain for each candidate.")
        answers[str(int(key))] = answer
    for cid in known:
        answers.setdefault(str(cid), "abstain")
    yes = sum(a == "yes" for a in answers.values())
    if yes > poll.seats:
        raise InvalidInputError("You said yes to {count} candidates, but only {seats} seats are to be filled. Change {extra} of them.", count=yes, seats=poll.seats, extra=yes - poll.seats)
    blank = all(a == "abstain" for a in answers.values())
    return ("blank" if blank else "valid"), json.dumps(dict(sorted(answers.items())))


# -- counts by hand -----------------------------------------------------------


def read_counts(session: Session, poll: Poll, args: dict[str, Any], present: int) -> dict[str, Any]:
    """The tally of a paper election from the counts the secretary enters."""
    from server.voting import count_arg

    ballots = count_arg(args, "ballots")
    parts = {k: count_arg(args, k) for k in ("valid", "blank", "invalid")}
    if sum(parts.values()) != ballots:
        raise InvalidInputError("The ballots do not add up: {valid} valid + {blank} blank + {invalid} invalid make {sum}, not {ballots}.", sum=sum(parts.values()), ballots=ballots, **parts)
    if ballots > present:
        raise InvalidInputError("{ballots} ballots were counted, but only {present} members are present or represented.", ballots=ballots, present=present)
    votes = _candidate_counts(session, poll, args.get("votes"), parts["valid"])
    return {"ballots": ballots, **parts, "votes": votes, "no": {}, "abstain": {}}


def _candidate_counts(session: Session, poll: Poll, value: Any, valid: int) -> dict[str, int]:
    if not isinstance(value, dict):
        raise InvalidInputError("Give the votes of each candidate.")
    known = {str(c) for c in candidate_ids(session, poll)}
    votes: dict[str, int] = {}
    for key, count in value.items():
        if str(key) not in known:
            raise InvalidInputError("The counts name a candidate who is not standing in this election.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInputError("The votes of each candidate must be a whole number, not negative.")
        if count > valid:
            raise InvalidInputError("A candidate cannot have more votes ({count}) than there are valid ballots ({valid}).", count=count, valid=valid)
        votes[str(key)] = count
    if sum(votes.values()) > valid * poll.seats:
        raise InvalidInputError("The votes add up to {sum}, more than {valid} valid ballots with {seats} names each could give.", sum=sum(votes.values()), valid=valid, seats=poll.seats)
    return votes


# -- the result ----------------------------------------------------------------


def election_result(session: Session, poll: Poll, tally: dict[str, Any], members: int) -> dict[str, Any]:
    """Per candidate: votes, percentage of valid ballots, elected or in a runoff."""
    people = list_candidates(session, poll)
    votes = {c.id: tally["votes"].get(str(c.id), 0) for c in people}
    decision = decide_election(poll.rule, poll.seats, votes, tally["valid"], members)
    elected, runoff = set(decision["elected"]), set(decision["runoff"])
    rows = [{"id": c.id, "name": c.name, "group": c.group_name, "votes": votes[c.id],
             "no": tally["no"].get(str(c.id), 0), "abstain": tally["abstain"].get(str(c.id), 0),
             "percent": decision["percent"][c.id], "elected": c.id in elected,
             "runoff": c.id in runoff}
            for c in sorted(people, key=lambda c: (-votes[c.id], c.position))]
    decision.pop("percent")
    return {**decision, "seats": poll.seats, "ballot_style": poll.ballot_style,
            "valid": tally["valid"], "blank": tally["blank"], "invalid": tally["invalid"],
            "candidates": rows, "outcome_text": _sentence(decision, rows, poll.seats)}


def _sentence(decision: dict[str, Any], rows: list[dict[str, Any]], seats: int) -> str:
    names = {r["id"]: r["name"] for r in rows}
    elected = ", ".join(names[c] for c in decision["elected"]) or "nobody"
    text = f"Elected ({len(decision['elected'])} of {seats} seats): {elected}."
    if decision["runoff"]:
        tied = ", ".join(names[c] for c in decision["runoff"])
        text += f" Tie for the last seat between {tied}: a runoff is needed."
    return text


def election_results(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """Results of the meeting's elections that closed, in order: for the minutes."""
    from server.voting import list_poll_results

    return [r for r in list_poll_results(session, meeting_id) if r["kind"] == "election"]


# -- commands ------------------------------------------------------------------


def _election(session: Session, meeting: Meeting, args: dict) -> Poll:
    poll = session.get(Poll, int_arg(args, "poll_id"))
    if poll is None or poll.meeting_id != meeting.id or poll.kind != "election":
        raise NotFoundError("Election {poll} does not exist in this meeting.", poll=args.get("poll_id"))
    return poll


@command("election.nominate", STAFF, "add a candidate")
def nominate_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    poll = _election(session, meeting, args)
    candidate = nominate(session, poll, str(args.get("name", "")), str(args.get("group", "")))
    _changed(session, poll, viewer)
    return {"candidate_id": candidate.id}


@command("election.withdraw", STAFF, "remove a candidate")
def withdraw_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    poll = _election(session, meeting, args)
    if poll.state != "prepared":
        raise ConflictError("Candidates can be removed only before the election opens.")
    candidate = session.get(Candidate, int_arg(args, "candidate_id"))
    if candidate is None or candidate.poll_id != poll.id:
        raise NotFoundError("This candidate is not standing in this election.")
    session.delete(candidate)
    session.flush()
    _forget_candidates(session, poll)
    _changed(session, poll, viewer)
    return {"candidate_id": candidate.id}


def _changed(session: Session, poll: Poll, viewer: Viewer) -> None:
    from server.voting import _announce

    _announce(session, poll, viewer)
