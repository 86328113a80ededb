"""Guards on every request: same-origin state changes, headers, login attempts."""

from __future__ import annotations

import pytest

CROSS_SITE = "This request came from another site and was refused. Open Plenary's own page and try again."


def test_pages_carry_security_headers(client):
    response = client.get("/login")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_a_form_posted_from_another_site_is_refused(client, meeting):
    response = client.post("/login", data={"code": meeting.code("chair")},
                           headers={"origin": "https://evil.example"})

    assert response.status_code == 403
    assert response.json()["error"]["message"] == CROSS_SITE


def test_a_command_from_another_site_is_refused_even_with_a_session(chair_client, meeting):
    body = {"id": "x1", "name": "meeting.start", "args": {}}

    response = chair_client.post(f"/api/meetings/{meeting.id}/commands", json=body,
                                 headers={"sec-fetch-site": "cross-site"})

    assert response.status_code == 403


def test_same_origin_posts_pass(client, meeting):
    response = client.post("/login", data={"code": meeting.code("chair")},
                           headers={"origin": "http://testserver"}, follow_redirects=False)

    assert response.status_code == 303


def test_websocket_from_another_origin_is_closed(chair_client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as caught:
        with chair_client.websocket_connect("/ws", headers={"origin": "https://evil.example"}) as ws:
            ws.receive_text()

    assert caught.value.code == 4403


def test_too_many_wrong_codes_are_slowed_down(client, meeting):
    for n in range(10):
        client.post("/login", data={"code": f"WRNG-CODE-{n:04d}"})

    blocked = client.post("/login?lang=en", data={"code": meeting.code("chair")})

    assert blocked.status_code == 429
    assert "Too many wrong access codes. Wait" in blocked.text
