"""Organizer actions over HTTP (server/web/organize.py): who may do what, and each
action once allowed and once refused."""

from __future__ import annotations

import html
import shutil
import subprocess
import threading
import time

import pytest

from server.models import Meeting
from server.organization import (
    assign_body,
    create_body,
    link_participant,
    register_person,
)
from server.staff import COMMAND_LINE, grant_role
from tests._participant_files import HEADER, PEOPLE, csv_text, encode, wide_xlsx

IMPORT_REFUSED = "You may not import participants: only the organizer or secretary of this meeting may."


def api(meeting_id: int, path: str = "") -> str:
    return f"/api/meetings/{meeting_id}/organize{path}"


def upload(
    client,
    meeting_id,
    data: bytes,
    name: str = "dai-bieu.csv",
    path="/participants/preview",
):
    return client.post(api(meeting_id, path), files={"file": (name, data, "text/csv")})


def error_of(response) -> str:
    return response.json()["error"]["message"]


def end_meeting(client, meeting_id):
    def change(session):
        row = session.get(Meeting, meeting_id)
        row.state = "ended"
        session.add(row)

    client.app.state.store.write_sync(change)


# -- the page and its state ----------------------------------------------------------


@pytest.mark.parametrize("role", ["organizer", "secretary"])
def test_the_organize_page_opens_for_organizer_and_secretary(meeting, login, role):
    response = login(meeting.code(role)).get(f"/m/{meeting.id}/organize")

    assert response.status_code == 200
    assert 'data-org="import-form"' in response.text
    assert "organize.js" in response.text


@pytest.mark.parametrize("role", ["chair", "delegate", "guest"])
def test_the_organize_page_is_refused_to_others(meeting, login, role):
    response = login(meeting.code(role)).get(api(meeting.id))

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not open the organizer pages: only the organizer or secretary or technician of this meeting may."
    )


def test_the_state_shows_times_in_the_meetings_zone_and_what_the_viewer_may_do(
    meeting, login
):
    state = login(meeting.code("secretary")).get(api(meeting.id)).json()

    assert state["starts_local"].endswith("+07:00")
    assert state["allowed"]["participants.import"] is True
    assert state["allowed"]["meeting.copy"] is False


def test_an_organizer_of_another_meeting_is_refused(client, meeting, login):
    from tests._meeting_fixtures import OPENSLIDES_AGENDA, import_meeting_file

    other = import_meeting_file(client, OPENSLIDES_AGENDA)

    response = login(other.code("organizer")).get(api(meeting.id))

    assert response.status_code == 403
    assert (
        error_of(response)
        == "Your access code belongs to another meeting. Log out and log in with the code for this meeting."
    )


# -- participant import ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_organizer_previews_and_commits_a_participant_file(meeting, login, encoding):
    organizer = login(meeting.code("organizer"))

    preview = upload(
        organizer, meeting.id, encode(csv_text([HEADER, *PEOPLE], ";"), encoding)
    )
    commit = organizer.post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    assert preview.status_code == 200
    assert preview.json()["rows"][1]["cells"]["name"]["value"] == "Trần Văn Đức"
    assert commit.json() == {"counts": {"added": 6, "updated": 0}}
    names = {p["name"] for p in organizer.get(api(meeting.id)).json()["participants"]}
    assert "Hoàng Thị Ngọc Hoà" in names


def test_secretary_may_import_participants(meeting, login):
    response = upload(
        login(meeting.code("secretary")),
        meeting.id,
        csv_text([HEADER, *PEOPLE]).encode(),
    )

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["chair", "delegate", "guest"])
def test_others_may_not_preview_participants(meeting, login, role):
    response = upload(
        login(meeting.code(role)), meeting.id, csv_text([HEADER, *PEOPLE]).encode()
    )

    assert response.status_code == 403
    assert error_of(response) == IMPORT_REFUSED


def test_a_delegate_may_not_commit_an_organizers_preview(meeting, login):
    preview = upload(
        login(meeting.code("organizer")),
        meeting.id,
        csv_text([HEADER, *PEOPLE]).encode(),
    )

    response = login(meeting.code("delegate")).post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    assert response.status_code == 403
    assert error_of(response) == IMPORT_REFUSED


def test_a_preview_without_a_file_is_refused(meeting, login):
    response = login(meeting.code("organizer")).post(
        api(meeting.id, "/participants/preview"), data={"x": "1"}
    )

    assert response.status_code == 422
    assert error_of(response) == "Choose a file to upload."


# -- badges and cards ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["cards.pdf", "badges.pdf?layout=a4-2x4", "cards.pdf?layout=letter-2x5"]
)
def test_organizer_prints_cards_and_badges(meeting, login, path):
    response = login(meeting.code("organizer")).get(f"/m/{meeting.id}/{path}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", ["chair", "delegate"])
def test_others_may_not_print_cards(meeting, login, role):
    response = login(meeting.code(role)).get(f"/m/{meeting.id}/cards.pdf?lang=en")

    assert response.status_code == 403
    assert (
        "You may not print badges and access cards: only the organizer or secretary or technician of this meeting may."
        in response.text
    )


def test_cards_need_a_login(client, meeting):
    response = client.get(f"/m/{meeting.id}/cards.pdf", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_organizer_reissues_a_lost_card_and_the_old_code_stops(meeting, login, client):
    delegate_code = meeting.code("delegate")
    delegate = meeting.people[delegate_code]
    delegate_client = login(delegate_code)

    response = login(meeting.code("organizer")).post(
        api(meeting.id, f"/participants/{delegate.id}/reissue")
    )

    assert (
        response.json()["card_url"]
        == f"/m/{meeting.id}/cards.pdf?participant={delegate.id}"
    )
    assert (
        delegate_client.get(f"/api/meetings/{meeting.id}/snapshot").status_code == 401
    )
    refused = client.post(
        "/login", data={"code": delegate_code}, follow_redirects=False
    )
    assert refused.status_code != 303


@pytest.mark.parametrize("role", ["secretary", "delegate"])
def test_others_may_not_reissue_cards(meeting, login, role):
    delegate = meeting.people[meeting.code("delegate")]

    response = login(meeting.code(role)).post(
        api(meeting.id, f"/participants/{delegate.id}/reissue")
    )

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not re-issue an access card: only the organizer or technician of this meeting may."
    )


def test_a_technician_of_the_body_prints_and_reissues_but_does_not_import(
    client, meeting, login
):
    store = client.app.state.store
    guest = meeting.people[meeting.code("guest")]

    def setup(session):
        body = create_body(
            session,
            "thuong-truc",
            "Thường trực HĐND",
            "standing_committee",
            COMMAND_LINE,
        )
        assign_body(session, meeting.id, body.id, COMMAND_LINE)
        person = register_person(session, guest.name)
        link_participant(session, guest.id, person.id)
        grant_role(session, body.id, person.id, "technician", COMMAND_LINE)

    store.write_sync(setup)
    technician = login(meeting.code("guest"))

    assert technician.get(f"/m/{meeting.id}/cards.pdf").status_code == 200
    delegate = meeting.people[meeting.code("delegate")]
    assert (
        technician.post(
            api(meeting.id, f"/participants/{delegate.id}/reissue")
        ).status_code
        == 200
    )
    refused = upload(technician, meeting.id, csv_text([HEADER, *PEOPLE]).encode())
    assert refused.status_code == 403
    assert error_of(refused) == IMPORT_REFUSED


# -- copy, archive, staff, OpenSlides -----------------------------------------------------------


def test_organizer_copies_the_meeting_and_gets_a_login_for_the_copy(
    meeting, login, client
):
    organizer = login(meeting.code("organizer"))

    response = organizer.post(
        api(meeting.id, "/copy"),
        json={"title": "Phiên họp tháng sau", "starts_at": "2020-12-16T07:30"},
    )

    result = response.json()
    assert response.status_code == 200
    assert result["login_url"].startswith("/login?code=")
    copy = client.app.state.store.read_sync(
        lambda s: s.get(Meeting, result["meeting_id"])
    )
    assert copy.title == "Phiên họp tháng sau"
    assert copy.starts_at.isoformat() == "2020-12-16T00:30:00+00:00"  # 07:30 in Hà Nội
    assert copy.state == "scheduled"


@pytest.mark.parametrize("role", ["secretary", "chair", "delegate"])
def test_others_may_not_copy_the_meeting(meeting, login, role):
    response = login(meeting.code(role)).post(api(meeting.id, "/copy"), json={})

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not copy a meeting: only the organizer of this meeting may."
    )


def test_a_copy_with_a_bad_start_is_refused(meeting, login):
    response = login(meeting.code("organizer")).post(
        api(meeting.id, "/copy"), json={"starts_at": "next monday"}
    )

    assert response.status_code == 422
    assert (
        error_of(response)
        == "The start next monday is not a date and time such as 2025-03-10T08:00."
    )


def test_organizer_archives_only_an_ended_meeting(meeting, login, client):
    organizer = login(meeting.code("organizer"))

    early = organizer.post(api(meeting.id, "/archive"))
    end_meeting(client, meeting.id)
    done = organizer.post(api(meeting.id, "/archive"))

    assert early.status_code == 409
    assert (
        error_of(early)
        == "Only an ended meeting can be archived. End the meeting first."
    )
    assert done.json() == {"archived": True}


@pytest.mark.parametrize("role", ["secretary", "chair"])
def test_others_may_not_archive(meeting, login, client, role):
    end_meeting(client, meeting.id)

    response = login(meeting.code(role)).post(api(meeting.id, "/archive"))

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not archive a meeting: only the organizer of this meeting may."
    )


def test_an_archived_meeting_refuses_imports_and_commands(meeting, login, client):
    organizer = login(meeting.code("organizer"))
    end_meeting(client, meeting.id)
    organizer.post(api(meeting.id, "/archive"))

    imported = upload(organizer, meeting.id, csv_text([HEADER, *PEOPLE]).encode())
    command = login(meeting.code("chair")).post(
        f"/api/meetings/{meeting.id}/commands",
        json={"id": "c-archived", "name": "meeting.start"},
    )

    archived = "This meeting is archived and can no longer be changed. Copy it to prepare a new meeting."
    assert imported.status_code == 409 and error_of(imported) == archived
    assert command.status_code == 409 and error_of(command) == archived


def test_organizer_gives_a_staff_role_in_the_meetings_body(meeting, login, client):
    client.app.state.store.write_sync(
        lambda s: assign_body(
            s,
            meeting.id,
            create_body(s, "hdnd", "HĐND huyện", "standing_committee", COMMAND_LINE).id,
            COMMAND_LINE,
        )
    )
    secretary = meeting.people[meeting.code("secretary")]

    response = login(meeting.code("organizer")).post(
        api(meeting.id, "/staff"),
        json={"participant_id": secretary.id, "role": "organizer"},
    )

    assert response.json()["role"] == "organizer"
    allowed = login(meeting.code("secretary")).get(api(meeting.id)).json()["allowed"]
    assert allowed["meeting.copy"] is True


def test_staff_roles_need_a_body(meeting, login):
    response = login(meeting.code("organizer")).post(
        api(meeting.id, "/staff"), json={"participant_id": 1, "role": "secretary"}
    )

    assert response.status_code == 409
    assert (
        error_of(response)
        == "This meeting belongs to no body yet, so it has no staff roles to give."
    )


def test_others_may_not_give_staff_roles(meeting, login):
    response = login(meeting.code("secretary")).post(
        api(meeting.id, "/staff"), json={"participant_id": 1, "role": "organizer"}
    )

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not give staff roles: only the organizer of this meeting may."
    )


def test_organizer_imports_an_openslides_export(meeting, login):
    from tests.test_imports_openslides import EXAMPLE

    response = upload(
        login(meeting.code("organizer")),
        meeting.id,
        EXAMPLE,
        "export.json",
        "/openslides",
    )

    report = response.json()["report"]
    assert report["counts"]["items"] == 15
    assert report["hidden_items"] == ["H"]


def test_others_may_not_import_from_openslides(meeting, login):
    from tests.test_imports_openslides import EXAMPLE

    response = upload(
        login(meeting.code("secretary")),
        meeting.id,
        EXAMPLE,
        "export.json",
        "/openslides",
    )

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not import a meeting from OpenSlides: only the organizer of this meeting may."
    )


def test_an_export_is_read_outside_the_writer_so_writes_go_on(
    meeting, login, client, monkeypatch
):
    from server.imports import openslides
    from tests.test_imports_openslides import EXAMPLE

    store = client.app.state.store
    waits: list[float] = []
    real = openslides.read_upload

    def reading(data: bytes, *args):
        started = time.perf_counter()
        # were the export parsed inside store.write, this write would wait for it
        store.submit(lambda session: None).result(timeout=5)
        waits.append(time.perf_counter() - started)
        return real(data, *args)

    monkeypatch.setattr(openslides, "read_upload", reading)
    response = upload(
        login(meeting.code("organizer")),
        meeting.id,
        EXAMPLE,
        "export.json",
        "/openslides",
    )

    assert response.status_code == 200
    assert waits and waits[0] < 1


def test_the_staff_of_an_imported_meeting_see_its_finished_votes(
    meeting, login, client
):
    from sqlmodel import select

    from server.models import Participant
    from tests.test_imports_openslides import EXAMPLE

    result = upload(
        login(meeting.code("organizer")),
        meeting.id,
        EXAMPLE,
        "export.json",
        "/openslides",
    ).json()
    imported = result["meeting_id"]
    staff_code = client.app.state.store.read_sync(
        lambda s: s.exec(
            select(Participant.access_code).where(
                Participant.meeting_id == imported,
                Participant.role.in_(["organizer", "secretary"]),
            )
        ).first()
    )

    response = login(staff_code).get(api(imported, "/poll-history"))

    assert response.status_code == 200
    polls = response.json()["polls"]
    assert [(p["title"], p["is_result"]) for p in polls] == [
        ("Wahlgang", True),
        ("1", False),
        ("2", False),
    ]
    assert polls[0]["item"] == {"number": "1.1", "title": "2. Wahl"}


def test_others_may_not_see_the_poll_history(meeting, login):
    response = login(meeting.code("delegate")).get(api(meeting.id, "/poll-history"))

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not open the organizer pages: only the organizer or secretary or technician of this meeting may."
    )


def test_people_search_finds_names_without_diacritics(meeting, login):
    organizer = login(meeting.code("organizer"))
    preview = upload(organizer, meeting.id, csv_text([HEADER, *PEOPLE]).encode())
    organizer.post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    found = organizer.get(
        api(meeting.id, "/people"), params={"q": "hoang thi ngoc hoa"}
    ).json()
    refused = login(meeting.code("delegate")).get(
        api(meeting.id, "/people"), params={"q": "a"}
    )

    assert [p["name"] for p in found["people"]] == ["Hoàng Thị Ngọc Hoà"]
    assert refused.status_code == 403


def test_every_change_is_in_the_audit_with_who_and_when(meeting, login):
    organizer = login(meeting.code("organizer"))
    preview = upload(organizer, meeting.id, csv_text([HEADER, *PEOPLE]).encode())
    organizer.post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    changes = organizer.get(api(meeting.id)).json()["changes"]

    assert changes[0]["action"] == "participants.import"
    assert changes[0]["actor"].endswith("(organizer)")
    assert changes[0]["at"].endswith("+07:00")


# -- big files are read outside the single writer ---------------------------------------


def test_a_file_is_read_outside_the_writer_so_writes_go_on(
    meeting, login, client, monkeypatch
):
    from server.web import organize

    store = client.app.state.store
    waits: list[float] = []
    real = organize.read_participant_file

    def reading(data: bytes, filename: str):
        started = time.perf_counter()
        # were the file read inside store.write, this write would wait for it
        store.submit(lambda session: None).result(timeout=5)
        waits.append(time.perf_counter() - started)
        return real(data, filename)

    monkeypatch.setattr(organize, "read_participant_file", reading)
    response = upload(
        login(meeting.code("organizer")),
        meeting.id,
        csv_text([HEADER, *PEOPLE]).encode(),
    )

    assert response.status_code == 200
    assert waits and waits[0] < 1


def test_a_workbook_wide_to_column_xfd_is_refused_and_writes_do_not_wait(
    meeting, login, client
):
    store = client.app.state.store
    organizer = login(meeting.code("organizer"))
    data = wide_xlsx(9000)
    waits: list[float] = []
    stop = threading.Event()

    def write_meanwhile() -> None:
        while not stop.is_set() and len(waits) < 2000:
            started = time.perf_counter()
            store.write_sync(lambda session: None)
            waits.append(time.perf_counter() - started)
            time.sleep(0.01)

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    try:
        started = time.perf_counter()
        response = upload(organizer, meeting.id, data, "dai-hoi.xlsx")
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        writer.join(timeout=10)

    assert response.status_code == 422
    assert (
        error_of(response)
        == "Cell XFD2 holds a value, but a participant list may use only the first 50 columns (A to AX). Delete the columns after AX and try again."
    )
    assert elapsed < 5  # it held every write of every meeting for about 19 s
    assert waits and max(waits) < 1


# -- staff cards and staff roles: only the organizer ------------------------------------

STAFF_ROLES = ("organizer", "chair", "secretary")


def staff_ids(meeting) -> list[int]:
    return sorted(p.id for p in meeting.people.values() if p.role in STAFF_ROLES)


@pytest.mark.parametrize("path", ["cards.pdf", "badges.pdf", "badges.pdf?code=1"])
def test_a_secretary_prints_every_card_but_those_with_staff_codes(meeting, login, path):
    response = login(meeting.code("secretary")).get(f"/m/{meeting.id}/{path}")

    assert response.status_code == 200
    left_out = response.headers["x-plenary-left-out"].split(",")
    assert sorted(int(i) for i in left_out) == staff_ids(meeting)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=response.content, capture_output=True
        ).stdout.decode()
        assert meeting.code("chair") not in text
        assert meeting.code("organizer") not in text


def test_the_organizer_prints_the_cards_of_everyone(meeting, login):
    response = login(meeting.code("organizer")).get(f"/m/{meeting.id}/cards.pdf")

    assert response.status_code == 200
    assert "x-plenary-left-out" not in response.headers


@pytest.mark.parametrize("role", ["chair", "organizer"])
def test_a_secretary_may_not_print_a_staff_card(meeting, login, role):
    person = meeting.people[meeting.code(role)]

    response = login(meeting.code("secretary")).get(
        f"/m/{meeting.id}/cards.pdf?participant={person.id}&lang=en"
    )

    assert response.status_code == 403
    assert (
        f"You may not print or re-issue the card of {person.name}: only the organizer does that for the organizer, chair, secretaries and staff, whose codes log in with their rights."
        in html.unescape(response.text)
    )


def test_a_technician_may_not_print_or_reissue_the_chairs_card(client, meeting, login):
    store = client.app.state.store
    guest = meeting.people[meeting.code("guest")]
    chair = meeting.people[meeting.code("chair")]

    def setup(session):
        body = create_body(
            session, "thuong-truc", "Thường trực", "standing_committee", COMMAND_LINE
        )
        assign_body(session, meeting.id, body.id, COMMAND_LINE)
        person = register_person(session, guest.name)
        link_participant(session, guest.id, person.id)
        grant_role(session, body.id, person.id, "technician", COMMAND_LINE)

    store.write_sync(setup)
    technician = login(meeting.code("guest"))

    printed = technician.get(f"/m/{meeting.id}/cards.pdf?participant={chair.id}")
    reissued = technician.post(api(meeting.id, f"/participants/{chair.id}/reissue"))

    refused = f"You may not print or re-issue the card of {chair.name}: only the organizer does that for the organizer, chair, secretaries and staff, whose codes log in with their rights."
    assert printed.status_code == 403
    assert reissued.status_code == 403
    assert error_of(reissued) == refused
    # the technician's own card logs in with technician rights: left out too
    everyone = technician.get(f"/m/{meeting.id}/cards.pdf")
    assert str(guest.id) in everyone.headers["x-plenary-left-out"].split(",")


def test_a_secretary_may_not_import_a_second_chair(meeting, login):
    secretary = login(meeting.code("secretary"))
    rows = [
        ["Họ và tên", "Vai trò"],
        ["Lê Văn An", "chủ tọa"],
        ["Phạm Thị Ân", "organizer"],
    ]

    preview = upload(secretary, meeting.id, csv_text(rows).encode())
    commit = secretary.post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    assert preview.json()["rows"][0]["cells"]["role"]["problems"][0]["message"] == (
        "Only the organizer may make someone chair. Write delegate or guest, or leave this row to the organizer."
    )
    assert preview.json()["can_commit"] is False
    assert commit.status_code == 403
    roles = [p["role"] for p in secretary.get(api(meeting.id)).json()["participants"]]
    assert roles.count("chair") == 1 and roles.count("organizer") == 1


def test_a_secretary_may_not_commit_the_organizers_staff_roles(meeting, login):
    rows = [["Họ và tên", "Vai trò"], ["Lê Văn An", "thư ký"]]
    preview = upload(
        login(meeting.code("organizer")), meeting.id, csv_text(rows).encode()
    )

    response = login(meeting.code("secretary")).post(
        api(meeting.id, f"/participants/{preview.json()['import_id']}/commit")
    )

    assert response.status_code == 403
    assert (
        error_of(response)
        == "You may not import this file: it gives or changes the roles organizer, chair or secretary, and only the organizer may do that."
    )


def test_the_organizer_is_warned_when_cards_would_carry_an_address_only_this_computer_opens(meeting, login):
    page = login(meeting.code("organizer")).get(f"/m/{meeting.id}/organize?lang=en")

    assert page.status_code == 200
    assert 'data-org="local-address"' in page.text
    assert "which only this computer can open" in page.text


def test_no_address_warning_once_the_public_address_is_set(meeting, login, client):
    import dataclasses

    settings = client.app.state.settings
    client.app.state.settings = dataclasses.replace(settings, public_url="http://192.168.1.10:8000")

    page = login(meeting.code("organizer")).get(f"/m/{meeting.id}/organize?lang=en")

    assert 'data-org="local-address"' not in page.text
