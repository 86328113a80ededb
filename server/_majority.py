"""Majority rules: from exact counts to an outcome, with the base of every figure stated.

One module decides every motion and every election, so the tablet, the
projector, the exports and the minutes can never disagree. All arithmetic is on
whole numbers (counts, or sums of whole vote weights); percentages are only for
display and always name their base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MOTION_CHOICES = ("yes", "no", "abstain")


@dataclass(frozen=True)
class MotionRule:
    code: str
    base: str  # cast, cast_all, present, members
    fraction: str  # half (more than half) or two_thirds (at least two thirds)
    text: str
    base_text: str
    rejects: bool = False  # adopted unless `no` reaches the fraction of the base


MOTION_RULES = {rule.code: rule for rule in (
    MotionRule("simple", "cast", "half",
               "Simple majority of the votes cast: more yes than no; abstentions are not counted.",
               "votes cast (yes + no)"),
    MotionRule("cast_with_abstentions", "cast_all", "half",
               "More than half of the votes cast, abstentions included.",
               "votes cast (yes + no + abstain)"),
    MotionRule("absolute_present", "present", "half",
               "Absolute majority of the members present: more than half of them vote yes.",
               "members present or represented when the vote closed"),
    MotionRule("absolute_members", "members", "half",
               "Absolute majority of all members: more than half of all members vote yes.",
               "all members"),
    MotionRule("two_thirds_cast", "cast", "two_thirds",
               "Two-thirds majority of the votes cast (yes + no); abstentions are not counted.",
               "votes cast (yes + no)"),
    MotionRule("two_thirds_present", "present", "two_thirds",
               "Two thirds of the members present vote yes.",
               "members present or represented when the vote closed"),
    MotionRule("two_thirds_members", "members", "two_thirds",
               "Two thirds of all members vote yes.", "all members"),
    MotionRule("reject_absolute_members", "members", "half",
               "Adopted unless more than half of all members vote no.",
               "all members", rejects=True),
)}


@dataclass(frozen=True)
class ElectionThreshold:
    code: str
    base: str  # valid, members, none
    text: str


ELECTION_THRESHOLDS = {t.code: t for t in (
    ElectionThreshold("half_valid", "valid",
                      "Elected with more than half of the valid ballots, the most votes first, up to the number of seats."),
    ElectionThreshold("half_members", "members",
                      "Elected with votes from more than half of all members, the most votes first, up to the number of seats."),
    ElectionThreshold("plurality", "none",
                      "The candidates with the most votes are elected, up to the number of seats."),
)}


def needed(fraction: str, base: int) -> int:
    """The smallest count that reaches the fraction of ``base``."""
    if fraction == "two_thirds":
        return math.ceil(2 * base / 3)
    return base // 2 + 1


def percent(count: int, base: int) -> float | None:
    return round(100 * count / base, 2) if base else None


def decide_motion(rule_code: str, counts: dict[str, int], members: int,
                  present: int) -> dict[str, Any]:
    """The outcome of a motion: adopted, rejected, or a tie (which is not adopted)."""
    rule = MOTION_RULES[rule_code]
    yes, no, abstain = (counts.get(c, 0) for c in MOTION_CHOICES)
    base = {"cast": yes + no, "cast_all": yes + no + abstain,
            "present": present, "members": members}[rule.base]
    required = needed(rule.fraction, base)
    decisive = no if rule.rejects else yes
    reached = base > 0 and decisive >= required
    tie = rule.fraction == "half" and base > 0 and 2 * decisive == base
    if rule.rejects:
        outcome = "tie" if tie else ("rejected" if reached else "adopted")
    else:
        outcome = "adopted" if reached else ("tie" if tie else "rejected")
    shares = {c: percent(v, base) if _in_base(rule, c) else None
              for c, v in (("yes", yes), ("no", no), ("abstain", abstain))}
    return {"rule": rule.code, "rule_text": rule.text, "base_text": rule.base_text,
            "base": base, "required": required, "required_of": "no" if rule.rejects else "yes",
            "outcome": outcome, "percent": shares,
            "outcome_text": _motion_sentence(outcome, rule, decisive, base, required)}


def _in_base(rule: MotionRule, choice: str) -> bool:
    return choice != "abstain" or rule.base != "cast"


def _motion_sentence(outcome: str, rule: MotionRule, decisive: int, base: int,
                     required: int) -> str:
    word = "no" if rule.rejects else "yes"
    figures = f"{decisive} {word} out of {base} ({rule.base_text})"
    if outcome == "tie":
        return f"Tie: {figures}; the motion is not adopted."
    verdict = "Adopted" if outcome == "adopted" else "Rejected"
    return f"{verdict}: {figures}; {required} {word} needed."


def decide_election(threshold_code: str, seats: int, votes: dict[int, int],
                    valid: int, members: int) -> dict[str, Any]:
    """Who is elected: over the threshold, most votes first, within the seats.

    Candidates tied for the last seat are none of them elected; they are named
    for a runoff.
    """
    threshold = ELECTION_THRESHOLDS[threshold_code]
    base = {"valid": valid, "members": members, "none": 0}[threshold.base]
    required = needed("half", base) if threshold.base != "none" else 1
    qualified = sorted((c for c, v in votes.items() if v >= required and v > 0),
                       key=lambda c: -votes[c])
    elected, runoff = _fill_seats(qualified, votes, seats)
    if runoff:
        outcome = "runoff"
    else:
        outcome = "elected" if elected else "none_elected"
    return {"threshold": threshold.code, "threshold_text": threshold.text,
            "base_text": "valid ballots (blank and invalid ballots are counted apart)",
            "base": valid, "required": required, "elected": elected, "runoff": runoff,
            "outcome": outcome,
            "percent": {c: percent(v, valid) for c, v in votes.items()}}


def _fill_seats(ranked: list[int], votes: dict[int, int], seats: int) -> tuple[list[int], list[int]]:
    if len(ranked) <= seats:
        return ranked, []
    last = votes[ranked[seats - 1]]
    if votes[ranked[seats]] != last:
        return ranked[:seats], []
    elected = [c for c in ranked if votes[c] > last]
    return elected, [c for c in ranked if votes[c] == last]
