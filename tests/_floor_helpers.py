"""Helpers for the floor tests: run commands as people of a meeting, straight on the store."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from server.access import Viewer, viewer_for
from server.agendaimport import import_agenda_file
from server.commands import execute
from server.db import Store
from server.models import Participant

_ids = itertools.count(1)


def new_id() -> str:
    return f"floor-{next(_ids)}"


@dataclass
class Room:
    """A meeting in a store, with a Viewer for each participant, by role."""

    store: Store
    meeting_id: int
    by_role: dict[str, list[Viewer]] = field(default_factory=dict)

    def one(self, role: str, index: int = 0) -> Viewer:
        return self.by_role[role][index]

    @property
    def chair(self) -> Viewer:
        return self.one("chair")

    @property
    def secretary(self) -> Viewer:
        return self.one("secretary")

    @property
    def delegates(self) -> list[Viewer]:
        return self.by_role["delegate"]

    @property
    def members(self) -> list[Viewer]:
        return [self.chair, *self.delegates]

    def run(self, viewer: Viewer, command: str, command_id: str | None = None, /,
            **args: Any) -> dict:
        response = self.store.write_sync(execute, viewer, command, command_id or new_id(), args)
        return response["result"]

    def read(self, fn: Any, *args: Any) -> Any:
        return self.store.read_sync(fn, *args)

    def check_in(self, *viewers: Viewer) -> None:
        if len(viewers) > 8:  # a roll call: one command for everyone
            ids = [v.participant_id for v in viewers]
            self.run(self.secretary, "attendance.check_in_many", participant_ids=ids)
            return
        for viewer in viewers:
            self.run(self.secretary, "attendance.check_in", participant_id=viewer.participant_id)

    def start(self) -> None:
        self.run(self.chair, "meeting.start")


def load_room(store: Store, documents_dir: Path, agenda: Path) -> Room:
    result = import_agenda_file(store, documents_dir, agenda)
    people = store.read_sync(lambda s: list(s.exec(
        select(Participant).where(Participant.meeting_id == result.meeting_id)
        .order_by(Participant.sort_order))))
    room = Room(store, result.meeting_id)
    for person in people:
        room.by_role.setdefault(person.role, []).append(viewer_for(person))
    return room


def write_agenda(folder: Path, delegates: int, settings: str = "", extra: str = "") -> Path:
    """An agenda file with a chair, a secretary and ``delegates`` delegates."""
    folder.mkdir(parents=True, exist_ok=True)
    people = "\n".join(
        f'[[participants]]\nkey = "d{i}"\nname = "Delegate {i}"\nrole = "delegate"\nnumber = "{i}"\n'
        for i in range(1, delegates + 1))
    text = f'''format = 1

[meeting]
key = "{folder.name}"
title = "Floor test with {delegates} delegates"
start = 2030-05-01T09:00:00
timezone = "Asia/Ho_Chi_Minh"
language = "en"

[meeting.settings]
{settings if "quorum" in settings else 'quorum = "half"' + chr(10) + settings}

[[participants]]
key = "chair"
name = "The Chair"
role = "chair"

[[participants]]
key = "sec"
name = "The Secretary"
role = "secretary"

{people}

[[items]]
key = "motion"
title = "A motion"

{extra}
'''
    path = folder / "meeting.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- fixtures (import them into a test module to use them) ----------------------

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
VN_AGENDA = REPO_ROOT / "agendas" / "hdnd-tuan-giao-2020" / "meeting.toml"
OPENSLIDES_AGENDA = REPO_ROOT / "agendas" / "openslides-demo" / "meeting.toml"


@pytest.fixture
def vn_room(client) -> Room:
    """The Vietnamese People's Council meeting: a chair and five delegates vote."""
    app = client.app
    return load_room(app.state.store, app.state.settings.documents_dir, VN_AGENDA)


@pytest.fixture
def running_room(vn_room: Room) -> Room:
    """The same meeting, started, with the chair and every delegate checked in."""
    vn_room.start()
    vn_room.check_in(*vn_room.members)
    return vn_room


@pytest.fixture
def make_room(client, tmp_path: Path):
    """``make_room(delegates, settings="", extra="")``: a meeting written for the test."""
    app = client.app

    def make(delegates: int, settings: str = "", extra: str = "") -> Room:
        path = write_agenda(tmp_path / f"agenda-{next(_ids)}", delegates, settings, extra)
        return load_room(app.state.store, app.state.settings.documents_dir, path)
    return make
