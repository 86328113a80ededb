"""The minutes over HTTP: write, preview, finalize, sign, download, verify."""

from __future__ import annotations

import shutil

import pytest

from server.keys import KeysCreated
from tests._meeting_fixtures import next_command_id
from tests._minutes_fixtures import *  # noqa: F403  (fixture: trial_keys)
from tests._minutes_fixtures import KEY_PASSWORD, PDF_DATA


@pytest.fixture
def keys_in_data_dir(client, trial_keys: KeysCreated):
    target = client.app.state.settings.data_dir / "keys"
    shutil.copytree(trial_keys.directory, target)
    return target


def first_item_id(staff_client, meeting_id: int) -> int:
    snapshot = staff_client.get(f"/api/meetings/{meeting_id}/snapshot").json()
    return snapshot["agenda"][0]["id"]


def save(web, meeting_id: int, item_id: int, text: str, base: int = 0):
    return web.post(
        f"/api/meetings/{meeting_id}/commands",
        json={
            "id": next_command_id(),
            "name": "minutes.save",
            "args": {
                "item_id": item_id,
                "kind": "summary",
                "text": text,
                "base_revision": base,
            },
        },
    )


def test_the_secretary_saves_a_section_and_the_snapshot_shows_it(meeting, login):
    secretary = login(meeting.code("secretary"))
    item_id = first_item_id(secretary, meeting.id)

    response = save(secretary, meeting.id, item_id, "Ý kiến thảo luận.")

    assert response.status_code == 200
    assert response.json()["result"]["revision"] == 1
    snapshot = secretary.get(f"/api/meetings/{meeting.id}/snapshot").json()
    assert snapshot["minutes"]["sections"][0]["text"] == "Ý kiến thảo luận."


def test_a_delegate_cannot_write_and_sees_no_sections(meeting, login):
    secretary = login(meeting.code("secretary"))
    delegate = login(meeting.code("delegate"))
    item_id = first_item_id(secretary, meeting.id)
    save(secretary, meeting.id, item_id, "Nội bộ.")

    response = save(delegate, meeting.id, item_id, "Không được.")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "You may not write the minutes."
    snapshot = delegate.get(f"/api/meetings/{meeting.id}/snapshot").json()
    assert snapshot["minutes"] == {"versions": []}


def test_the_preview_is_html_with_the_text_and_may_be_framed_by_our_pages(
    meeting, login
):
    secretary = login(meeting.code("secretary"))
    save(
        secretary,
        meeting.id,
        first_item_id(secretary, meeting.id),
        "Xem trước nội dung.",
    )

    response = secretary.get(f"/m/{meeting.id}/minutes/preview")

    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/html"
    )
    assert "Xem trước nội dung." in response.text and "BIÊN BẢN" in response.text
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_a_delegate_may_not_see_the_preview(meeting, login):
    delegate = login(meeting.code("delegate"))

    response = delegate.get(
        f"/m/{meeting.id}/minutes/preview", headers={"Accept": "application/json"}
    )

    assert response.status_code == 403
    assert (
        response.json()["error"]["message"]
        == "Only the chair, the secretary or the organizer may do this."
    )


def test_the_draft_pdf_downloads(meeting, login):
    chair = login(meeting.code("chair"))

    response = chair.get(f"/m/{meeting.id}/minutes/draft.pdf")

    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_from_draft_to_two_signatures_over_http(meeting, login, keys_in_data_dir):
    secretary, chair = login(meeting.code("secretary")), login(meeting.code("chair"))
    delegate = login(meeting.code("delegate"))
    save(secretary, meeting.id, first_item_id(secretary, meeting.id), "Thống nhất.")

    final = secretary.post(f"/api/meetings/{meeting.id}/minutes/finalize")
    assert final.status_code == 200, final.text
    assert delegate.get(f"/m/{meeting.id}/minutes/v1.pdf").status_code == 403
    signed_once = secretary.post(
        f"/api/meetings/{meeting.id}/minutes/sign",
        data={"password": KEY_PASSWORD},
        files={
            "key_file": (
                "secretary.p12",
                (keys_in_data_dir / "signers" / "secretary.p12").read_bytes(),
            )
        },
    )
    assert signed_once.status_code == 200, signed_once.text
    signed = chair.post(
        f"/api/meetings/{meeting.id}/minutes/sign", data={"password": ""}
    )
    assert signed.status_code == 200, signed.text

    assert signed.json()["signed"] is True
    status = secretary.get(f"/api/meetings/{meeting.id}/minutes").json()
    assert status["state"] == "signed"
    pdf = delegate.get(f"/m/{meeting.id}/minutes/v1.pdf")
    assert pdf.status_code == 200
    report = delegate.post(
        "/verify",
        files={"file": ("minutes.pdf", pdf.content)},
        headers={"Accept": "application/json"},
    ).json()
    assert report["ok"] is True and len(report["signatures"]) == 2


def test_a_wrong_key_password_over_http_gets_the_sentence(
    meeting, login, keys_in_data_dir
):
    secretary = login(meeting.code("secretary"))
    secretary.post(f"/api/meetings/{meeting.id}/minutes/finalize")

    response = secretary.post(
        f"/api/meetings/{meeting.id}/minutes/sign",
        data={"password": "sai"},
        files={
            "key_file": (
                "secretary.p12",
                (keys_in_data_dir / "signers" / "secretary.p12").read_bytes(),
            )
        },
    )

    assert response.status_code == 422
    assert (
        response.json()["error"]["message"]
        == "The password does not open this key file, or it is not a PKCS#12 file (.p12 or .pfx). Check the password and the file, then try again."
    )


def test_the_organizer_may_finalize_but_not_sign(meeting, login, keys_in_data_dir):
    organizer = login(meeting.code("organizer"))
    assert (
        organizer.post(f"/api/meetings/{meeting.id}/minutes/finalize").status_code
        == 200
    )

    response = organizer.post(
        f"/api/meetings/{meeting.id}/minutes/sign", data={"password": ""}
    )

    assert response.status_code == 403
    assert (
        response.json()["error"]["message"]
        == "Only the secretary and the chair of this meeting may sign its minutes."
    )


def test_a_delegate_may_not_finalize(meeting, login):
    delegate = login(meeting.code("delegate"))

    response = delegate.post(f"/api/meetings/{meeting.id}/minutes/finalize")

    assert response.status_code == 403


def test_the_verify_page_is_open_to_anyone(client):
    response = client.get("/verify?lang=vi")

    assert response.status_code == 200
    assert "Kiểm tra tệp PDF đã ký" in response.text


def test_anyone_can_check_a_real_signed_vietnamese_pdf(client):
    pdf = (PDF_DATA / "vn-nghi-dinh-47-2020-ND-CP-vgca-signed.pdf").read_bytes()

    response = client.post("/verify?lang=vi", files={"file": ("nghi-dinh.pdf", pdf)})

    assert response.status_code == 200
    assert "Chính phủ" in response.text
    assert (
        "The certificate does not chain to a root this server trusts" in response.text
    )
    assert "Nội dung đã ký còn nguyên vẹn." in response.text


def test_checking_something_that_is_not_a_pdf_says_so(client):
    response = client.post(
        "/verify",
        files={"file": ("notes.txt", b"hello")},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 422
    assert (
        response.json()["error"]["message"]
        == "This file is not a PDF. Choose the signed PDF file of the minutes."
    )
