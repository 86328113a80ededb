"""Pages and HTTP endpoints: login, role pages, documents, errors, languages."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import select

from server.models import Document, Meeting
from tests._meeting_fixtures import VN_AGENDA, import_meeting_file, next_command_id


def test_login_form_with_a_valid_code_opens_the_role_page(client, meeting):
    response = client.post("/login", data={"code": meeting.code("chair")}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/m/{meeting.id}/chair"


def test_qr_login_link_logs_in_a_delegate(client, meeting):
    response = client.get(f"/login?code={meeting.code('delegate')}")

    assert response.status_code == 200
    assert response.url.path == f"/m/{meeting.id}"
    assert "Chương trình họp" in response.text  # the meeting's language: Vietnamese


def test_wrong_code_shows_the_reason_on_the_login_page(client, meeting):
    response = client.post("/login", data={"code": "AAAA-BBBB-CCCC"})

    assert response.status_code == 200
    assert "Mã truy cập không hợp lệ." in response.text


def test_wrong_code_in_english(client, meeting):
    response = client.post("/login?lang=en", data={"code": "AAAA-BBBB-CCCC"})

    assert "This access code is not valid. Check the code on your access card" in response.text


def test_meeting_page_without_login_goes_to_the_login_page(client, meeting):
    response = client.get(f"/m/{meeting.id}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_delegate_is_sent_back_from_the_chair_console(delegate_client, meeting):
    response = delegate_client.get(f"/m/{meeting.id}/chair", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/m/{meeting.id}"


def test_organizer_may_open_every_staff_page(login, meeting):
    organizer = login(meeting.code("organizer"))

    for page in ("chair", "secretary", "organizer"):
        assert organizer.get(f"/m/{meeting.id}/{page}", follow_redirects=False).status_code == 200


def test_unknown_page_is_a_clear_404(chair_client, meeting):
    response = chair_client.get(f"/m/{meeting.id}/nonsense?lang=en")

    assert response.status_code == 404
    assert "This page does not exist." in response.text


def test_api_errors_share_one_json_shape(client, meeting):
    response = client.get(f"/api/meetings/{meeting.id}/snapshot")

    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("not_logged_in", "Please log in with your access code.")


def test_a_code_of_another_meeting_cannot_read_this_one(client, meeting, login, tmp_path):
    other_dir = tmp_path / "other"
    shutil.copytree(VN_AGENDA.parent, other_dir)
    toml = other_dir / "meeting.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'key = "hdnd-tuan-giao-2020-11-16"', 'key = "other-meeting"'), encoding="utf-8")
    other = import_meeting_file(client, toml)
    outsider = login(other.code("delegate"))

    response = outsider.get(f"/api/meetings/{meeting.id}/snapshot")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Your access code belongs to another meeting. Log out and log in with the code for this meeting."


def test_commands_over_http_check_the_role(delegate_client, chair_client, meeting):
    body = {"id": next_command_id(), "name": "meeting.start", "args": {}}

    refused = delegate_client.post(f"/api/meetings/{meeting.id}/commands", json=body)
    accepted = chair_client.post(f"/api/meetings/{meeting.id}/commands", json=body)

    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "You may not start the meeting."
    assert accepted.status_code == 200 and accepted.json()["result"] == {"state": "running"}


def test_command_body_must_be_json(chair_client, meeting):
    response = chair_client.post(f"/api/meetings/{meeting.id}/commands", content=b"not json")

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "The request body is not valid JSON."


def test_attached_document_opens_in_the_browser(delegate_client, client, meeting):
    doc_id = client.app.state.store.read_sync(lambda s: s.exec(select(Document)).first().id)

    response = delegate_client.get(f"/documents/{doc_id}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_confidential_document_is_not_served_to_a_delegate(delegate_client, chair_client, client, meeting):
    store = client.app.state.store

    def make_confidential(session):
        doc = session.exec(select(Document)).first()
        doc.confidential = True
        session.add(doc)
        return doc.id
    doc_id = store.write_sync(make_confidential)

    assert delegate_client.get(f"/documents/{doc_id}").status_code == 404
    assert chair_client.get(f"/documents/{doc_id}").status_code == 200


def test_html_in_titles_is_shown_as_text(client, login, tmp_path):
    agenda_dir = tmp_path / "xss"
    shutil.copytree(VN_AGENDA.parent, agenda_dir)
    toml = agenda_dir / "meeting.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(
        'title = "Họp Thường trực HĐND huyện mở rộng chuẩn bị kỳ họp thứ 13, HĐND huyện khóa XX"',
        'title = "<script>alert(1)</script> Họp"'), encoding="utf-8")
    info = import_meeting_file(client, toml)
    delegate = login(info.code("delegate"))

    page = delegate.get(f"/m/{info.id}").text

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Họp" in page


def test_projector_page_needs_the_key(client, meeting):
    key = client.app.state.store.read_sync(lambda s: s.get(Meeting, meeting.id).projector_key)

    assert client.get(f"/m/{meeting.id}/projector?key={key}").status_code == 200
    refused = client.get(f"/m/{meeting.id}/projector?key=wrong&lang=en")
    assert refused.status_code == 403
    assert "This projector address is not valid." in refused.text


def test_language_switch_is_remembered(delegate_client, meeting):
    delegate_client.get(f"/m/{meeting.id}?lang=en")

    page = delegate_client.get(f"/m/{meeting.id}").text

    assert '<html lang="en">' in page and "Agenda" in page


def test_logout_ends_the_session(delegate_client, meeting):
    delegate_client.post("/logout")

    response = delegate_client.get(f"/m/{meeting.id}", follow_redirects=False)

    assert response.status_code == 303


def test_health_endpoint_answers(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_an_error_page_speaks_the_chosen_language(client, meeting):
    page = client.get(f"/m/{meeting.id}/projector?key=wrong&lang=vi", headers={"Accept": "text/html"})
    english = client.get(f"/m/{meeting.id}/projector?key=wrong&lang=en", headers={"Accept": "text/html"})

    assert page.status_code == english.status_code == 403
    assert '<html lang="vi">' in page.text
    assert "Địa chỉ màn chiếu này không hợp lệ. Hãy hỏi ban tổ chức địa chỉ hiện hành." in page.text
    assert "This projector address is not valid. Ask the organizer for the current one." in english.text


def test_a_json_error_carries_its_sentence_template_and_values_for_translation(meeting, login):
    organizer = login(meeting.code("organizer"))

    error = organizer.post(f"/api/meetings/{meeting.id}/bodies",
                           json={"key": "Bad Key", "name": "Tổ 1", "kind": "group"}).json()["error"]

    assert error["message"] == "The body key Bad Key may only hold lower-case letters, digits and dashes."
    assert error["template"] == "The body key {key} may only hold lower-case letters, digits and dashes."
    assert error["params"] == {"key": "Bad Key"}
