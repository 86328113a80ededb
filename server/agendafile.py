"""The agenda file: one TOML file that describes a meeting, read, checked, written.

Rules, in the order the tests follow them:

- An agenda file says `format = 1` and has a [meeting] table with a key, a title
  and a start. Local times are taken in the meeting's time zone.
- Participants come from [[participants]] tables and from an optional CSV file
  named by `participants_csv`. Each has a name and one of the ROLES; keys are
  unique across both sources, and at least one participant is the chair.
- Agenda items nest to any reasonable depth. Their keys are unique in the whole
  tree; their numbers ("1", "1.1", "2") follow from their order.
- A document is a PDF inside the folder of the agenda file.
- All text is normalised to Unicode NFC. Text is kept as written: HTML in it is
  not interpreted here.
- Reading collects every problem before it gives up, and each problem is one
  sentence that says where it is and what to do.
- Writing an agenda file and reading it back gives the same meeting.

The format itself is described in docs/agenda-format.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from server._agendaread import parse_agenda
from server._agendaspec import (
    ROLES,
    AgendaFileError,
    AgendaProblem,
    DocumentSpec,
    ItemSpec,
    MeetingSpec,
    ParticipantSpec,
)
from server._agendawrite import export_agenda

__all__ = [
    "ROLES",
    "AgendaFileError",
    "AgendaProblem",
    "DocumentSpec",
    "ItemSpec",
    "MeetingSpec",
    "ParticipantSpec",
    "check_agenda",
    "number_items",
    "read_agenda",
    "write_agenda",
]


def read_agenda(path: Path | str) -> MeetingSpec:
    """The meeting an agenda file describes; AgendaFileError lists all problems."""
    spec, problems = parse_agenda(Path(path))
    if spec is None:
        raise AgendaFileError(problems)
    return spec


def check_agenda(path: Path | str) -> list[AgendaProblem]:
    """Every problem in an agenda file; an empty list when the file is fine."""
    return parse_agenda(Path(path))[1]


def number_items(items: Sequence[ItemSpec]) -> list[tuple[str, ItemSpec]]:
    """Each item with its number, depth first: "1", "1.1", "1.2", "2" ..."""
    return _numbered(items, prefix="")


def _numbered(items: Sequence[ItemSpec], prefix: str) -> list[tuple[str, ItemSpec]]:
    numbered = []
    for position, item in enumerate(items, start=1):
        number = f"{prefix}{position}"
        numbered.append((number, item))
        numbered += _numbered(item.items, prefix=f"{number}.")
    return numbered


def write_agenda(spec: MeetingSpec, path: Path | str) -> None:
    """Write `spec` as an agenda file, with its documents copied into documents/."""
    export_agenda(spec, Path(path))
