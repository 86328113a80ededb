"""Limits per person: command rate over every socket and HTTP, message shape, ids."""

from __future__ import annotations

import json

from tests.web.test_sockets import command, hello, receive

TOO_FAST = "You are sending commands too fast. Wait a moment, then try again."


def test_more_sockets_do_not_buy_more_commands(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as first, \
            delegate_client.websocket_connect("/ws") as second:
        hello(first, meeting.id)
        hello(second, meeting.id)
        answers = [command(ws, "agenda.next")["message"]
                   for _ in range(20) for ws in (first, second)]

    assert TOO_FAST in answers
    assert answers.count(TOO_FAST) >= 5


def test_http_commands_share_the_limit(delegate_client, meeting):
    body = {"name": "agenda.next", "args": {}}
    codes = [delegate_client.post(f"/api/meetings/{meeting.id}/commands",
                                  json={**body, "id": f"h{n}"}).status_code
             for n in range(80)]

    assert 429 in codes  # 30 at once, then 10 a second: the rest of a fast loop is refused
    assert codes.count(429) >= 20


def test_snapshot_requests_are_limited_too(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        for _ in range(15):
            ws.send_json({"type": "sync"})
        ws.send_json({"type": "command", "id": "last", "name": "agenda.next", "args": {}})
        seen = []
        while not (seen and seen[-1].get("id") == "last"):
            seen.append(receive(ws))

    errors = [m for m in seen if m["type"] == "error" and m["id"] is None]
    assert errors and errors[0]["message"] == TOO_FAST
    assert seen[-1]["message"] == TOO_FAST  # the syncs used up the allowance


def test_huge_numbers_are_refused_not_crashed(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text(json.dumps({"type": "command", "id": "big", "name": "agenda.goto",
                                 "args": {"item_id": 2**64}}))
        answer = receive(ws)
        still = command(ws, "agenda.goto", {"item_id": "x"})

    assert answer["message"] == "A number in the message is bigger than the server accepts."
    assert still["message"] == "The command needs item_id as a whole number."


def test_huge_numbers_over_http_get_the_json_error(chair_client, meeting):
    response = chair_client.post(f"/api/meetings/{meeting.id}/commands",
                                 json={"id": "b", "name": "agenda.goto", "args": {"item_id": 2**64}})

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "A number in the message is bigger than the server accepts."


def test_deeply_nested_json_gets_an_error_and_the_socket_stays(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text("[" * 20000 + "]" * 20000)
        answer = receive(ws)
        still = command(ws, "agenda.goto", {"item_id": "x"})

    assert answer["message"] in ("The message is nested too deeply.", "Each message must be a JSON object with a type.")
    assert still["type"] == "error"


def test_nested_args_are_refused(chair_client, meeting):
    nested: dict = {}
    cursor = nested
    for _ in range(30):
        cursor["a"] = {}
        cursor = cursor["a"]

    response = chair_client.post(f"/api/meetings/{meeting.id}/commands",
                                 json={"id": "n", "name": "agenda.goto", "args": nested})

    assert response.json()["error"]["message"] == "The message is nested too deeply."


def test_an_id_too_long_for_the_database_is_not_found(chair_client, meeting):
    response = chair_client.get("/documents/99999999999999999999999")

    assert response.status_code == 404
