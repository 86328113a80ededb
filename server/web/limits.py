"""Limits on what one person may send: command rate, message shape.

The rate is counted per person (participant, or a meeting's projector), across
all of that person's sockets and HTTP requests, so opening more connections
does not buy more commands.
"""

from __future__ import annotations

import json
import time
from typing import Any

from server.errors import InvalidInputError, RateLimitedError

MAX_DEPTH = 20
MAX_INT = 2**63 - 1
RATE_PER_SECOND = 10.0
RATE_BURST = 30.0
MAX_PEOPLE = 100_000


class _Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, burst: float) -> None:
        self.tokens, self.stamp = burst, time.monotonic()


class CommandLimiter:
    """A token bucket per person: ``rate`` commands a second, bursts of ``burst``."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, _Bucket] = {}

    def ensure_allowed(self, who: str, cost: float = 1.0) -> None:
        if len(self._buckets) > MAX_PEOPLE:
            self._buckets.clear()
        bucket = self._buckets.setdefault(who, _Bucket(self.burst))
        now = time.monotonic()
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < cost:
            raise RateLimitedError("You are sending commands too fast. Wait a moment, then try again.")
        bucket.tokens -= cost


def parse_message(text: str | bytes) -> dict[str, Any]:
    """A JSON object of bounded depth with numbers that fit the database."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidInputError("The message is nested too deeply.") from None
    except ValueError:
        raise InvalidInputError("The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInputError("Each message must be a JSON object with a type.")
    _check(data, 0)
    return data


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInputError("The message is nested too deeply.")
    if isinstance(value, int) and not isinstance(value, bool):
        if not -MAX_INT <= value <= MAX_INT:
            raise InvalidInputError("A number in the message is bigger than the server accepts.")
    elif isinstance(value, dict):
        for item in value.values():
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def person_key(participant_id: int | None, meeting_id: int) -> str:
    return f"p{participant_id}" if participant_id is not None else f"projector{meeting_id}"
