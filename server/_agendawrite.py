"""Exporting a meeting as an agenda file with its documents beside it.

The exported file lists the participants in the file itself, writes times with
their UTC offset so that they are never ambiguous, leaves out fields that hold
their default, and refers to each document under documents/ by a relative path.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import tomli_w

from server._agendaspec import (
    DocumentSpec,
    ItemSpec,
    MeetingSpec,
    ParticipantSpec,
)

DOCUMENTS_FOLDER = "documents"
HEADER = (
    "# A Plenary agenda file, exported by Plenary.\n"
    "# The format is described in docs/agenda-format.md.\n\n"
)


class DocumentCopier:
    """Copies documents into one folder, giving different files different names."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.digests: dict[str, str] = {}

    def copy(self, document: DocumentSpec) -> str:
        name = self.name_for(document)
        target = self.folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(document.path, target)
        except shutil.SameFileError:
            pass
        return f"{DOCUMENTS_FOLDER}/{name}"

    def name_for(self, document: DocumentSpec) -> str:
        path = Path(file_name(document))
        name, number = path.name, 2
        while self.digests.get(name, document.sha256) != document.sha256:
            name = f"{path.stem}-{number}{path.suffix}"
            number += 1
        self.digests[name] = document.sha256
        return name


def file_name(document: DocumentSpec) -> str:
    """The name to export under, always ending in .pdf.

    A caller may attach the original `filename` to a spec whose file is stored
    under another name, such as its digest; that name wins over the one on disk.
    """
    original = Path(str(getattr(document, "filename", None) or "")).name
    name = original if original not in ("", "..") else document.path.name
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def export_agenda(spec: MeetingSpec, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    copier = DocumentCopier(path.parent / DOCUMENTS_FOLDER)
    data = without_empty(
        {
            "format": 1,
            "meeting": meeting_table(spec),
            "participants": [participant_table(p) for p in spec.participants],
            "items": [item_table(item, copier) for item in spec.items],
        }
    )
    text = tomli_w.dumps(data, multiline_strings=True)
    path.write_text(HEADER + text, encoding="utf-8")


def meeting_table(spec: MeetingSpec) -> dict[str, Any]:
    return without_empty(
        {
            "key": spec.key,
            "title": spec.title,
            "body": spec.body,
            "start": spec.start,
            "end": spec.end,
            "timezone": spec.timezone,
            "place": spec.place,
            "language": spec.language,
            "description": spec.description,
            "settings": spec.settings,
        }
    )


def participant_table(person: ParticipantSpec) -> dict[str, Any]:
    return without_empty(
        {
            "key": person.key,
            "name": person.name,
            "role": person.role,
            "group": person.group,
            "number": person.number,
            "title": person.title,
            "email": person.email,
        }
    )


def item_table(item: ItemSpec, copier: DocumentCopier) -> dict[str, Any]:
    return without_empty(
        {
            "key": item.key,
            "title": item.title,
            "description": item.description,
            "duration": item.duration_min,
            "presenter": item.presenter,
            "internal": item.internal,
            "documents": [document_table(d, copier) for d in item.documents],
            "items": [item_table(child, copier) for child in item.items],
        }
    )


def document_table(document: DocumentSpec, copier: DocumentCopier) -> dict[str, Any]:
    return without_empty(
        {
            "path": copier.copy(document),
            "title": document.title,
            "confidential": document.confidential,
        }
    )


def without_empty(table: dict[str, Any]) -> dict[str, Any]:
    """The table without None, false and empty values: each is a field's default."""
    return {
        name: value
        for name, value in table.items()
        if not (value is None or value is False or value in ("", [], {}))
    }
