"""The plain data that an agenda file describes, and the problems found in one.

`server.agendafile` re-exports every name here; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROLES = ("organizer", "chair", "secretary", "delegate", "guest")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
LANGUAGES = ("vi", "en")


@dataclass
class DocumentSpec:
    path: Path
    title: str
    sha256: str
    size: int
    confidential: bool = False


@dataclass
class ItemSpec:
    key: str
    title: str
    description: str = ""
    duration_min: int | None = None
    presenter: str | None = None
    internal: bool = False
    documents: list[DocumentSpec] = field(default_factory=list)
    items: list[ItemSpec] = field(default_factory=list)


@dataclass
class ParticipantSpec:
    key: str
    name: str
    role: str
    group: str | None = None
    number: str | None = None
    title: str | None = None
    email: str | None = None


@dataclass
class MeetingSpec:
    key: str
    title: str
    body: str
    start: datetime
    end: datetime | None
    timezone: str = DEFAULT_TIMEZONE
    place: str = ""
    language: str = "vi"
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    participants: list[ParticipantSpec] = field(default_factory=list)
    items: list[ItemSpec] = field(default_factory=list)


@dataclass
class AgendaProblem:
    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.where}: {self.message}"
        return f"{self.where} (line {self.line}): {self.message}"


class AgendaFileError(Exception):
    """An agenda file that cannot be used; `problems` lists everything wrong."""

    def __init__(self, problems: list[AgendaProblem]) -> None:
        self.problems = problems
        super().__init__(_describe(problems))


def _describe(problems: list[AgendaProblem]) -> str:
    count = len(problems)
    heading = (
        "The agenda file has 1 problem:"
        if count == 1
        else (f"The agenda file has {count} problems:")
    )
    return "\n".join([heading, *(f"- {problem}" for problem in problems)])
