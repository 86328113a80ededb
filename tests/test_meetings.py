"""Meetings: import from an agenda file, re-import, start and end."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from sqlmodel import select

from server.access import log_in, viewer_for
from server.agendafile import AgendaFileError
from server.agendaimport import import_agenda_file
from server.db import Store
from server.errors import ConflictError, NotLoggedInError
from server.imports.participants import (
    commit_participants, keep_preview, read_participant_file,
)
from server.meetings import end_meeting, start_meeting
from server.models import AgendaItem, Event, Meeting, Participant, ParticipantProfile, Person
from server.organization import search_people
from server.staff import COMMAND_LINE
from tests._meeting_fixtures import OPENSLIDES_AGENDA, VN_AGENDA
from tests._participant_files import HEADER, PEOPLE, csv_text, encode


@pytest.fixture
def agenda_copy(tmp_path: Path) -> Path:
    """A copy of the Vietnamese agenda folder that a test may edit."""
    target = tmp_path / "agenda"
    shutil.copytree(VN_AGENDA.parent, target)
    return target / "meeting.toml"


def _import(store: Store, path: Path, tmp_path: Path):
    return import_agenda_file(store, tmp_path / "documents", path)


def _items(store: Store, meeting_id: int) -> dict[str, AgendaItem]:
    rows = store.read_sync(lambda s: list(s.exec(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))))
    return {row.key: row for row in rows}


def _people(store: Store, meeting_id: int) -> dict[str, Participant]:
    rows = store.read_sync(lambda s: list(s.exec(
        select(Participant).where(Participant.meeting_id == meeting_id))))
    return {row.key: row for row in rows}


def test_vietnamese_meeting_imports_with_numbers_and_diacritics(store, tmp_path):
    result = _import(store, VN_AGENDA, tmp_path)

    items = _items(store, result.meeting_id)
    meeting = store.read_sync(lambda s: s.get(Meeting, result.meeting_id))
    assert result.created
    assert result.counts == {"participants": 11, "items": 15, "documents": 1}
    assert items["khai-mac"].number == "1"
    assert items["tuyen-bo-ly-do"].number == "1.1"
    assert items["khai-mac"].title == "Khai mạc cuộc họp"
    assert meeting.title == unicodedata.normalize("NFC", meeting.title)
    assert meeting.body == "Hội đồng nhân dân huyện Tuần Giáo"
    assert meeting.starts_at.isoformat() == "2020-11-16T07:00:00+00:00"


def test_openslides_demo_meeting_imports(store, tmp_path):
    result = _import(store, OPENSLIDES_AGENDA, tmp_path)

    assert result.counts["items"] > 5
    assert result.counts["participants"] >= 3


def test_documents_are_stored_by_content_hash(store, tmp_path):
    _import(store, VN_AGENDA, tmp_path)

    stored = list((tmp_path / "documents").rglob("*.pdf"))
    assert len(stored) == 1
    assert stored[0].read_bytes().startswith(b"%PDF-")


def test_reimport_updates_titles_and_keeps_codes_and_record(store, tmp_path, agenda_copy):
    first = _import(store, agenda_copy, tmp_path)
    codes = {k: p.access_code for k, p in _people(store, first.meeting_id).items()}
    text = agenda_copy.read_text(encoding="utf-8")
    agenda_copy.write_text(text.replace('title = "Khai mạc cuộc họp"',
                                        'title = "Khai mạc kỳ họp"'), encoding="utf-8")

    second = _import(store, agenda_copy, tmp_path)

    assert second.meeting_id == first.meeting_id and not second.created
    assert _items(store, first.meeting_id)["khai-mac"].title == "Khai mạc kỳ họp"
    after = {k: p.access_code for k, p in _people(store, first.meeting_id).items()}
    assert after == codes
    events = store.read_sync(lambda s: [e.type for e in s.exec(select(Event))])
    assert events == ["meeting.imported", "meeting.changed"]


def test_reimport_marks_dropped_items_removed_instead_of_deleting(store, tmp_path, agenda_copy):
    first = _import(store, agenda_copy, tmp_path)
    text = agenda_copy.read_text(encoding="utf-8")
    start = text.index("[[items]]\nkey = \"thao-luan\"")
    end = text.index("[[items]]", start + 5)
    agenda_copy.write_text(text[:start] + text[end:], encoding="utf-8")

    _import(store, agenda_copy, tmp_path)

    items = _items(store, first.meeting_id)
    assert items["thao-luan"].removed
    assert not items["ket-luan"].removed
    assert items["ket-luan"].number == "3"


def test_reimport_keeps_the_current_item(store, tmp_path, agenda_copy):
    result = _import(store, agenda_copy, tmp_path)
    chair = _people(store, result.meeting_id)["tran-binh-trong"]
    items = _items(store, result.meeting_id)

    def start_and_choose(session):
        meeting = session.get(Meeting, result.meeting_id)
        start_meeting(session, meeting, viewer_for(chair))
        meeting.current_item_id = items["bao-cao-ubnd"].id
    store.write_sync(start_and_choose)
    _import(store, agenda_copy, tmp_path)

    meeting = store.read_sync(lambda s: s.get(Meeting, result.meeting_id))
    assert meeting.state == "running"
    assert meeting.current_item_id == items["bao-cao-ubnd"].id


def test_participant_left_out_of_file_loses_access_but_stays_recorded(store, tmp_path, agenda_copy):
    result = _import(store, agenda_copy, tmp_path)
    csv_path = agenda_copy.parent / "participants.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    csv_path.write_text("\n".join(line for line in lines if not line.startswith("toa-an,")) + "\n",
                        encoding="utf-8")

    _import(store, agenda_copy, tmp_path)

    people = _people(store, result.meeting_id)
    assert not people["toa-an"].active
    assert people["tran-binh-trong"].active


def _import_participant_list(store: Store, meeting_id: int) -> None:
    data = encode(csv_text([HEADER, *PEOPLE]), "utf-8")
    read = read_participant_file(data, "dai-bieu.csv")
    preview = store.write_sync(keep_preview, meeting_id, read, COMMAND_LINE, True)
    store.write_sync(commit_participants, meeting_id, preview["import_id"], COMMAND_LINE)


def _log_in(store: Store, code: str) -> str:
    return store.write_sync(lambda s: log_in(s, code))[1].name


def test_reimporting_the_agenda_file_keeps_participants_imported_from_a_list_and_their_codes(
        store, tmp_path, agenda_copy):
    result = _import(store, agenda_copy, tmp_path)
    _import_participant_list(store, result.meeting_id)
    listed = {p.name: p.access_code for p in _people(store, result.meeting_id).values()
              if p.key.startswith("person-")}

    again = _import(store, agenda_copy, tmp_path)

    people = {p.name: p for p in _people(store, result.meeting_id).values()}
    assert not again.created
    assert len(listed) == len(PEOPLE)
    assert all(people[name].active for name in listed)
    assert {name: people[name].access_code for name in listed} == listed
    assert _log_in(store, listed["Trần Văn Đức"]) == "Trần Văn Đức"
    assert sum(p.active for p in people.values()) == 11 + len(PEOPLE)


def test_a_participant_removed_from_the_file_loses_access_while_listed_ones_stay(
        store, tmp_path, agenda_copy):
    result = _import(store, agenda_copy, tmp_path)
    _import_participant_list(store, result.meeting_id)
    toa_an = _people(store, result.meeting_id)["toa-an"].access_code
    csv_path = agenda_copy.parent / "participants.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    csv_path.write_text("\n".join(line for line in lines if not line.startswith("toa-an,")) + "\n",
                        encoding="utf-8")

    _import(store, agenda_copy, tmp_path)

    people = {p.name: p for p in _people(store, result.meeting_id).values()}
    assert not people["Đại diện Tòa án nhân dân huyện Tuần Giáo"].active
    assert people["Nguyễn Thị Ánh"].active
    with pytest.raises(NotLoggedInError) as refused:
        _log_in(store, toa_an)
    assert str(refused.value) == (
        "This access code is not valid. Check the code on your access card, "
        "or ask the meeting secretary for a new one.")


def test_agenda_file_participants_are_in_the_registry_once_after_every_import(
        store, tmp_path, agenda_copy):
    result = _import(store, agenda_copy, tmp_path)
    _import(store, agenda_copy, tmp_path)

    found = store.read_sync(lambda s: [p.name for p in search_people(s, "tran binh")])
    people = store.read_sync(lambda s: list(s.exec(select(Person))))
    linked = store.read_sync(lambda s: list(s.exec(select(ParticipantProfile).join(
        Participant).where(Participant.meeting_id == result.meeting_id))))
    assert found == ["Trần Bình Trọng"]
    assert len(people) == 11
    assert len(linked) == 11 and all(p.person_id for p in linked)


def test_import_with_errors_imports_nothing(store, tmp_path, agenda_copy):
    _import(store, agenda_copy, tmp_path)
    before = store.read_sync(lambda s: s.exec(select(Meeting)).one().title)
    text = agenda_copy.read_text(encoding="utf-8")
    broken = text.replace('title = "Khai mạc cuộc họp"', 'title = "Đổi tên"\nrole_typo = 1')
    agenda_copy.write_text(broken, encoding="utf-8")

    with pytest.raises(AgendaFileError):
        _import(store, agenda_copy, tmp_path)

    assert _items(store, 1)["khai-mac"].title == "Khai mạc cuộc họp"
    assert store.read_sync(lambda s: s.exec(select(Meeting)).one().title) == before


def test_meeting_cannot_start_twice_or_after_it_ended(store, tmp_path):
    result = _import(store, VN_AGENDA, tmp_path)
    chair = viewer_for(_people(store, result.meeting_id)["tran-binh-trong"])

    def start(session):
        return start_meeting(session, session.get(Meeting, result.meeting_id), chair)

    def end(session):
        return end_meeting(session, session.get(Meeting, result.meeting_id), chair)
    store.write_sync(start)

    with pytest.raises(ConflictError, match="^The meeting is already running.$"):
        store.write_sync(start)
    store.write_sync(end)
    with pytest.raises(ConflictError, match="^The meeting has ended and cannot be started again.$"):
        store.write_sync(start)
