"""With PLENARY_ACCEL_REDIRECT, nginx sends open documents after Plenary's access check."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from server.models import Document
from tests._meeting_fixtures import next_command_id

LOCATION = "/_plenary_documents/"
NOT_SHARED = "This document does not exist or is not shared with you."


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, accel_redirect=LOCATION)


@pytest.fixture
def doc(client, meeting):
    return client.app.state.store.read_sync(lambda s: s.exec(select(Document)).first())


def _restrict(meeting, login, doc_id, args):
    organizer = login(meeting.code("organizer"))
    response = organizer.post(f"/api/meetings/{meeting.id}/commands", json={
        "id": next_command_id(), "name": "document.access", "args": {"document_id": doc_id, **args}})
    assert response.status_code == 200, response.text


def test_an_open_document_is_handed_to_the_proxy_by_its_stored_name(delegate_client, doc):
    response = delegate_client.get(f"/documents/{doc.id}")

    assert response.status_code == 200 and response.content == b""
    assert response.headers["x-accel-redirect"] == f"/_plenary_documents/{doc.sha256[:2]}/{doc.sha256}.pdf"
    assert response.headers["cache-control"] == "private, no-cache"


def test_a_reader_without_access_is_not_handed_anything(meeting, login, delegate_client, doc):
    _restrict(meeting, login, doc.id, {"roles": ["chair"]})

    response = delegate_client.get(f"/documents/{doc.id}", headers={"accept": "application/json"})

    assert response.status_code == 404 and "x-accel-redirect" not in response.headers
    assert response.json()["error"]["message"] == NOT_SHARED


def test_a_confidential_document_is_still_stamped_by_plenary(meeting, login, doc):
    _restrict(meeting, login, doc.id, {"confidential": True})
    chair = login(meeting.code("chair"))

    response = chair.get(f"/documents/{doc.id}")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "x-accel-redirect" not in response.headers
