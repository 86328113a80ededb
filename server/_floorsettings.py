"""The floor's settings of a meeting, read from ``[meeting.settings]`` of the agenda file.

Every key is optional; a meeting without them gets the defaults below. They are
documented for organizers in docs/floor.md. :func:`check_settings` tells the
person preparing the agenda file what is wrong with them (``plenary check`` and
the import use it); :func:`floor_settings` reads them strictly at run time and
falls back to the default for a value of the wrong type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from server._majority import ELECTION_THRESHOLDS, MOTION_RULES
from server.meetings import meeting_settings
from server.models import Meeting

DEFAULT_SPEAKING_TIME = 180
DEFAULT_PROXY_LIMIT = 1
QUORUMS = ("half", "two_thirds", "none")
QUORUM_ALIASES = ("majority",)  # read as "half"
FLAGS = ("self_checkin", "quorum_counts_proxies", "chair_votes")
WHOLE_NUMBERS = {"proxy_limit": "a whole number of members, 0 or more, such as 1",
                 "speaking_time": "a whole number of seconds, 0 or more, such as 180 for three minutes"}
FLOOR_KEYS = ("self_checkin", "quorum", "quorum_counts_proxies", "proxy_limit", "chair_votes",
              "speaking_time", "vote_weights", "polls")
# Settings other capabilities read (docs/minutes.md); known here so that they
# are not reported, and so that a misspelling of them gets a suggestion.
OTHER_KEYS = ("minutes_number", "minutes_city", "parent_body", "minutes_national_header",
              "minutes_sign_order")
PLAN_KEYS = ("key", "item", "title", "kind", "mode", "rule", "ballot_style", "seats",
             "threshold", "candidates")
PLAN_CHOICES = {"kind": ("motion", "election"), "mode": ("secret", "named", "analog"),
                "ballot_style": ("choose", "yes_no", "strike"), "rule": tuple(MOTION_RULES),
                "threshold": tuple(ELECTION_THRESHOLDS)}


@dataclass(frozen=True)
class FloorSettings:
    self_checkin: bool = False
    quorum: str | int = "half"
    quorum_counts_proxies: bool = False
    proxy_limit: int = DEFAULT_PROXY_LIMIT
    chair_votes: bool = True
    speaking_time: int = DEFAULT_SPEAKING_TIME
    vote_weights: dict[str, int] = field(default_factory=dict)
    polls: list[dict[str, Any]] = field(default_factory=list)


def floor_settings(meeting: Meeting) -> FloorSettings:
    raw = meeting_settings(meeting)
    return FloorSettings(
        self_checkin=_flag(raw.get("self_checkin"), False),
        quorum=_quorum(raw.get("quorum", "half")),
        quorum_counts_proxies=_flag(raw.get("quorum_counts_proxies"), False),
        proxy_limit=_whole(raw.get("proxy_limit"), DEFAULT_PROXY_LIMIT),
        chair_votes=_flag(raw.get("chair_votes"), True),
        speaking_time=_whole(raw.get("speaking_time"), DEFAULT_SPEAKING_TIME),
        vote_weights=_weights(raw.get("vote_weights")),
        polls=[p for p in raw.get("polls", []) if isinstance(p, dict)],
    )


def _flag(value: Any, default: bool) -> bool:
    # Only true and false count: bool("no") would be True.
    return value if isinstance(value, bool) else default


def _quorum(value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if value in ("half", "majority", "two_thirds", "none"):
        return "half" if value == "majority" else value
    return "half"


def _whole(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def _weights(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items()
            if isinstance(v, int) and not isinstance(v, bool) and v >= 1}


# -- checking the agenda file's settings ---------------------------------------


def check_settings(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with the floor's ``[meeting.settings]``: (where, one sentence) each."""
    problems: list[tuple[str, str]] = []
    for key, value in settings.items():
        where = f"meeting.settings.{key}"
        if key in FLAGS:
            problem = _check_flag(key, value)
        elif key in WHOLE_NUMBERS:
            problem = _check_whole(key, value)
        elif key == "quorum":
            problem = _check_quorum(value)
        elif key == "vote_weights":
            problems += _check_weights(value)
            continue
        elif key == "polls":
            problems += _check_plans(value)
            continue
        elif key in OTHER_KEYS:
            continue
        else:
            problem = _unknown(key, (*FLOOR_KEYS, *OTHER_KEYS), "meeting settings", "setting")
        if problem:
            problems.append((where, problem))
    return problems


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return json.dumps(value, ensure_ascii=False, default=str)


def _hint(value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        return ""
    found = get_close_matches(value.lower().replace("-", "_").replace(" ", "_"), allowed, 1, 0.6)
    return f'; did you mean "{found[0]}"?' if found else "."


def _unknown(key: str, allowed: tuple[str, ...], where: str, noun: str) -> str:
    found = get_close_matches(key, allowed, 1, 0.6)
    if found:
        return f'The {where} have no {noun} "{key}"; did you mean "{found[0]}"?'
    return f'The {where} have no {noun} "{key}"; use only these: {", ".join(allowed)}.'


def _check_flag(key: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    return f'"{key}" must be true or false, written without quotes, not {_shown(value)}.'


def _is_whole(value: Any, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _check_whole(key: str, value: Any) -> str | None:
    if _is_whole(value):
        return None
    return f'"{key}" must be {WHOLE_NUMBERS[key]}, written without quotes, not {_shown(value)}.'


def _check_quorum(value: Any) -> str | None:
    if _is_whole(value) or value in QUORUMS or value in QUORUM_ALIASES:
        return None
    hint = _hint(value, QUORUMS) or "."
    return ('The quorum must be "half", "two_thirds", "none" or a number of members, '
            f"not {_shown(value)}{hint}")


def _check_weights(value: Any) -> list[tuple[str, str]]:
    where = "meeting.settings.vote_weights"
    if not isinstance(value, dict):
        return [(where, "The vote weights must be a table of participant key = weight, "
                        f"such as [meeting.settings.vote_weights] with d1 = 2, not {_shown(value)}.")]
    return [(f"{where}.{key}", f'The vote weight of "{key}" must be a whole number, 1 or more, '
                               f"not {_shown(weight)}.")
            for key, weight in value.items() if not _is_whole(weight, 1)]


def _check_plans(value: Any) -> list[tuple[str, str]]:
    where = "meeting.settings.polls"
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        return [(where, "Planned votes are written as [[meeting.settings.polls]] tables, "
                        "one per vote, each with at least a key and a title.")]
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, plan in enumerate(value):
        place = f"{where}[{index}]"
        for key, found in plan.items():
            if key not in PLAN_KEYS:
                problems.append((f"{place}.{key}", _unknown(key, PLAN_KEYS, "planned votes", "field")))
            elif key in PLAN_CHOICES and found not in PLAN_CHOICES[key]:
                allowed = ", ".join(PLAN_CHOICES[key])
                problems.append((f"{place}.{key}", f'"{key}" must be one of {allowed}, '
                                 f"not {_shown(found)}{_hint(found, PLAN_CHOICES[key])}"))
        for key in ("key", "title"):
            if not isinstance(plan.get(key), str) or not plan[key].strip():
                problems.append((f"{place}.{key}", f'Each planned vote needs a "{key}" in quotes.'))
        if isinstance(plan.get("key"), str) and plan["key"] in seen:
            problems.append((f"{place}.key", f'The planned vote key "{plan["key"]}" is used twice; '
                                             "give each planned vote a key of its own."))
        seen.add(str(plan.get("key")))
    return problems
