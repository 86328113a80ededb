"""The floor's settings of a meeting, read from ``[meeting.settings]`` of the agenda file.

Every key is optional; a meeting without them gets the defaults below. They are
documented for organizers in docs/floor.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.meetings import meeting_settings
from server.models import Meeting

DEFAULT_SPEAKING_TIME = 180
DEFAULT_PROXY_LIMIT = 1


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
        self_checkin=bool(raw.get("self_checkin", False)),
        quorum=_quorum(raw.get("quorum", "half")),
        quorum_counts_proxies=bool(raw.get("quorum_counts_proxies", False)),
        proxy_limit=_whole(raw.get("proxy_limit"), DEFAULT_PROXY_LIMIT),
        chair_votes=bool(raw.get("chair_votes", True)),
        speaking_time=_whole(raw.get("speaking_time"), DEFAULT_SPEAKING_TIME),
        vote_weights=_weights(raw.get("vote_weights")),
        polls=[p for p in raw.get("polls", []) if isinstance(p, dict)],
    )


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
