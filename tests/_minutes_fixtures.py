"""Fixtures for the minutes tests: a meeting in a store, trial keys, helpers.

- ``trial_keys``: a keys directory made by ``init_keys`` once per session (a CA,
  a timestamp authority, key files for the secretary and the chair, password
  ``KEY_PASSWORD``).
- ``minutes_room``: the Vietnamese meeting imported into a fresh SQLite store,
  with a viewer per role, the minutes file store and a keys directory.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from server.access import Viewer, viewer_for
from server.agenda import list_items
from server.agendaimport import import_agenda_file
from server.commands import execute
from server.db import Store, migrate
from server.keys import KeysCreated, init_keys
from server.minutes import MinutesFiles
from server.models import AgendaItem, Participant

REPO_ROOT = Path(__file__).resolve().parent.parent
VN_AGENDA = REPO_ROOT / "agendas" / "hdnd-tuan-giao-2020" / "meeting.toml"
PDF_DATA = REPO_ROOT / "tests" / "data" / "pdfs"
KEY_PASSWORD = "mật-khẩu thử"
ORGANIZATION = "Văn phòng HĐND&UBND huyện Tuần Giáo"
_ids = itertools.count(1)

__all__ = [
    "KEY_PASSWORD",
    "PDF_DATA",
    "MinutesRoom",
    "minutes_room",
    "pdf_text",
    "trial_keys",
]


def new_id() -> str:
    return f"minutes-{next(_ids)}"


@dataclass
class MinutesRoom:
    store: Store
    meeting_id: int
    files: MinutesFiles
    keys: Path
    by_role: dict[str, list[Viewer]] = field(default_factory=dict)

    def one(self, role: str, index: int = 0) -> Viewer:
        return self.by_role[role][index]

    def run(self, viewer: Viewer, name: str, **args: Any) -> dict:
        return self.store.write_sync(execute, viewer, name, new_id(), args)["result"]

    def read(self, fn: Any, *args: Any) -> Any:
        return self.store.read_sync(fn, *args)

    def items(self) -> list[AgendaItem]:
        return self.read(list_items, self.meeting_id)

    def write(
        self,
        item: AgendaItem,
        kind: str,
        text: str,
        base: int = 0,
        role: str = "secretary",
    ) -> dict:
        return self.run(
            self.one(role),
            "minutes.save",
            item_id=item.id,
            kind=kind,
            text=text,
            base_revision=base,
        )

    def key_file(self, role: str) -> bytes:
        return (self.keys / "signers" / f"{role}.p12").read_bytes()


@pytest.fixture(scope="session")
def trial_keys(tmp_path_factory: pytest.TempPathFactory) -> KeysCreated:
    directory = tmp_path_factory.mktemp("keys") / "keys"
    return init_keys(directory, ORGANIZATION, ["Secretary", "Chair"], KEY_PASSWORD)


@pytest.fixture
def minutes_room(tmp_path: Path, trial_keys: KeysCreated) -> Iterator[MinutesRoom]:
    url = f"sqlite:///{tmp_path / 'plenary.db'}"
    migrate(url)
    store = Store(url)
    result = import_agenda_file(store, tmp_path / "documents", VN_AGENDA)
    keys = tmp_path / "keys"
    shutil.copytree(trial_keys.directory, keys)
    room = MinutesRoom(
        store, result.meeting_id, MinutesFiles(tmp_path / "minutes"), keys
    )
    people = store.read_sync(
        lambda s: list(
            s.exec(
                select(Participant)
                .where(Participant.meeting_id == result.meeting_id)
                .order_by(Participant.sort_order)
            )
        )
    )
    for person in people:
        room.by_role.setdefault(person.role, []).append(viewer_for(person))
    try:
        yield room
    finally:
        store.close()


def pdf_text(pdf: bytes | Path, tmp_path: Path | None = None) -> str:
    """The PDF's text as pdftotext extracts it, in NFC, whitespace collapsed."""
    if isinstance(pdf, bytes):
        assert tmp_path is not None
        path = tmp_path / f"extract-{next(_ids)}.pdf"
        path.write_bytes(pdf)
    else:
        path = pdf
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(unicodedata.normalize("NFC", out).split())
