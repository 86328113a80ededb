"""Counting ballots: the live counter, the recount from stored ballots, the ballot-set hash.

A tally is a plain dict of whole numbers. The live counter adds each ballot to
the tally stored on the poll as it is cast; the recount builds a new tally from
the stored ballots alone. Both use :func:`add_ballot`, so a disagreement can only
come from a lost or doubled ballot, which is what the recount is for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from server.models import Ballot, Poll


def empty_tally(kind: str) -> dict[str, Any]:
    if kind == "election":
        return {"ballots": 0, "valid": 0, "blank": 0, "invalid": 0,
                "votes": {}, "no": {}, "abstain": {}}
    return {"ballots": 0, "yes": 0, "no": 0, "abstain": 0}


def add_ballot(tally: dict[str, Any], choice: str, marks: str, weight: int,
               style: str = "", candidates: Iterable[int] = ()) -> None:
    """Add one ballot (as stored) to ``tally``."""
    tally["ballots"] += 1
    tally[choice] += weight
    if "votes" not in tally or choice != "valid":
        return
    for key, answer in election_answers(style, json.loads(marks or "null"), candidates):
        tally[answer][key] = tally[answer].get(key, 0) + weight


def election_answers(style: str, marks: Any, candidates: Iterable[int]) -> list[tuple[str, str]]:
    """(candidate id as text, "votes" / "no" / "abstain") for one valid election ballot."""
    if style == "strike":
        struck = {int(c) for c in marks}
        return [(str(c), "votes") for c in candidates if c not in struck]
    if style == "yes_no":
        names = {"yes": "votes", "no": "no", "abstain": "abstain"}
        return [(str(c), names[a]) for c, a in sorted(marks.items())]
    return [(str(c), "votes") for c in marks]


def recount(session: Session, poll: Poll, candidates: Iterable[int] = ()) -> tuple[dict[str, Any], str]:
    """A fresh tally of the stored ballots of ``poll`` and the hash of the ballot set."""
    candidate_ids = list(candidates)
    tally = empty_tally(poll.kind)
    lines = []
    stmt = select(Ballot.choice, Ballot.marks, Ballot.weight, Ballot.voter_id).where(
        Ballot.poll_id == poll.id)
    for choice, marks, weight, voter_id in session.exec(stmt):
        add_ballot(tally, choice, marks, weight, poll.ballot_style, candidate_ids)
        lines.append(json.dumps([choice, marks, weight, voter_id]))
    return tally, ballot_set_hash(poll.id, lines)


def ballot_set_hash(poll_id: int, lines: list[str]) -> str:
    """SHA-256 of the sorted ballots: the same set gives the same hash, in any order."""
    digest = hashlib.sha256(f"plenary-ballots:{poll_id}\n".encode())
    for line in sorted(lines):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()
