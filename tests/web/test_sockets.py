"""The WebSocket endpoint: hello, catch-up, audiences, commands, bad input, faults.

Every ``receive`` here expects a message that the server must send; tests never
wait for a message that should not come. To show that something was *not* sent,
a test makes the server send something later and checks what arrives first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import pytest
from sqlmodel import select
from starlette.websockets import WebSocketDisconnect

from server.models import AgendaItem
from tests._meeting_fixtures import next_command_id

NOISE = {"presence", "ping", "pong"}
MAX_MESSAGES = 50


def hello(ws, meeting_id: int, last_seq: int | None = None) -> tuple[dict, dict]:
    """Say hello; return the welcome and the message after it."""
    ws.send_json({"type": "hello", "meeting": meeting_id, "last_seq": last_seq})
    welcome = receive(ws)
    assert welcome["type"] == "welcome", welcome
    return welcome, receive(ws)


def receive(ws) -> dict:
    """The next message about the meeting, skipping presence and heartbeats."""
    for _ in range(MAX_MESSAGES):
        message = ws.receive_json()
        if message["type"] not in NOISE:
            return message
    raise AssertionError("only presence and heartbeat messages arrived")


def receive_until(ws, kind: str) -> list[dict]:
    """Messages up to and including the first of type ``kind``."""
    seen = []
    for _ in range(MAX_MESSAGES):
        seen.append(receive(ws))
        if seen[-1]["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} message among {seen}")


def command(ws, name: str, args: dict | None = None, command_id: str | None = None) -> dict:
    """Send a command; return its ack or error (events that come first are skipped)."""
    command_id = command_id or next_command_id()
    ws.send_json({"type": "command", "id": command_id, "name": name, "args": args or {}})
    for _ in range(MAX_MESSAGES):
        message = receive(ws)
        if message["type"] in ("ack", "error") and message["id"] == command_id:
            return message
    raise AssertionError(f"no answer to {name}")


def post_command(client, meeting_id: int, name: str, args: dict | None = None) -> dict:
    response = client.post(f"/api/meetings/{meeting_id}/commands",
                           json={"id": next_command_id(), "name": name, "args": args or {}})
    assert response.status_code == 200, response.text
    return response.json()


def items(client, meeting_id: int) -> dict[str, AgendaItem]:
    store = client.app.state.store
    rows = store.read_sync(lambda s: list(s.exec(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))))
    return {row.key: row for row in rows}


def hub_connection(client, participant_id: int):
    for conn in client.app.state.hub.connections():
        if conn.viewer.participant_id == participant_id:
            return conn
    raise AssertionError(f"participant {participant_id} is not connected")


def person(meeting, role: str):
    return meeting.people[meeting.code(role)]


# -- hello, welcome, snapshot --------------------------------------------------


def test_fresh_tablet_gets_welcome_then_a_snapshot(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        welcome, snapshot = hello(ws, meeting.id)

    assert welcome["meeting"] == meeting.id
    assert welcome["viewer"]["role"] == "delegate"
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == welcome["seq"]
    assert snapshot["data"]["meeting"]["id"] == meeting.id


def test_first_message_must_be_hello(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "command", "id": "a", "name": "meeting.start"})
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["message"] == "Start with a hello message that names the meeting."
    assert closed.value.code == 4422


def test_hello_for_another_meeting_is_refused(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "meeting": meeting.id + 1, "last_seq": None})
        error = ws.receive_json()

    assert error["message"] == "This tablet is logged in to another meeting. Reload the page."


def test_socket_without_login_is_closed_with_4401(client, meeting):
    with client.websocket_connect("/ws") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["code"] == "not_logged_in"
    assert closed.value.code == 4401


# -- catch-up --------------------------------------------------------------------


def test_reconnecting_tablet_gets_exactly_the_missed_events(delegate_client, chair_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        _, snapshot = hello(ws, meeting.id)
    last_seq = snapshot["seq"]
    post_command(chair_client, meeting.id, "meeting.start")
    post_command(chair_client, meeting.id, "agenda.next")

    with delegate_client.websocket_connect("/ws") as ws:
        welcome, first = hello(ws, meeting.id, last_seq)
        rest = receive_until(ws, "synced")

    missed = [first, *rest[:-1]]
    assert [m["seq"] for m in missed] == [last_seq + 1, last_seq + 2]
    assert [m["event"] for m in missed] == ["meeting.state", "agenda.current"]
    assert rest[-1] == {"type": "synced", "meeting": meeting.id, "seq": welcome["seq"], "missed": 2}


def test_up_to_date_tablet_is_synced_with_nothing_missed(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        _, snapshot = hello(ws, meeting.id)
    with delegate_client.websocket_connect("/ws") as ws:
        _, synced = hello(ws, meeting.id, snapshot["seq"])

    assert synced == {"type": "synced", "meeting": meeting.id, "seq": snapshot["seq"], "missed": 0}


def test_tablet_too_far_behind_gets_a_snapshot(client, delegate_client, chair_client, meeting, settings):
    client.app.state.settings = dataclasses.replace(settings, resync_limit=2)
    with delegate_client.websocket_connect("/ws") as ws:
        _, snapshot = hello(ws, meeting.id)
    post_command(chair_client, meeting.id, "meeting.start")
    post_command(chair_client, meeting.id, "agenda.next")
    post_command(chair_client, meeting.id, "agenda.next")

    with delegate_client.websocket_connect("/ws") as ws:
        welcome, reply = hello(ws, meeting.id, snapshot["seq"])

    assert reply["type"] == "snapshot"
    assert reply["seq"] == welcome["seq"] == snapshot["seq"] + 3
    assert reply["data"]["meeting"]["state"] == "running"


def test_tablet_from_the_future_gets_a_snapshot(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        welcome, reply = hello(ws, meeting.id, 10**6)

    assert reply["type"] == "snapshot"
    assert reply["seq"] == welcome["seq"]


@pytest.mark.parametrize("last_seq", [-1, "12", 1.5, True])
def test_hello_with_a_bad_last_seq_is_refused(delegate_client, meeting, last_seq):
    with delegate_client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "meeting": meeting.id, "last_seq": last_seq})
        error = ws.receive_json()

    assert error["message"] == "last_seq must be a whole number of at least 0, or null."


# -- audiences -------------------------------------------------------------------


def test_internal_item_never_reaches_a_delegate_socket(delegate_client, chair_client, meeting):
    agenda = items(chair_client, meeting.id)
    internal, public = agenda["hoan-thien-du-thao"], agenda["ket-luan"]
    post_command(chair_client, meeting.id, "meeting.start")
    with delegate_client.websocket_connect("/ws") as delegate, \
            chair_client.websocket_connect("/ws") as chair:
        hello(delegate, meeting.id)
        hello(chair, meeting.id)
        post_command(chair_client, meeting.id, "agenda.goto", {"item_id": internal.id})
        post_command(chair_client, meeting.id, "agenda.goto", {"item_id": public.id})
        seen_by_delegate = [receive(delegate), receive(delegate)]
        seen_by_chair = [receive(chair), receive(chair)]

    assert seen_by_delegate[0]["data"] == {"item_id": None, "item": None}
    assert seen_by_delegate[1]["data"]["item_id"] == public.id
    assert internal.title not in json.dumps(seen_by_delegate, ensure_ascii=False)
    assert seen_by_chair[0]["data"]["item"]["title"] == internal.title
    # one sequence number per audience's version: the delegate sees a gap
    assert seen_by_delegate[0]["seq"] == seen_by_chair[0]["seq"] + 1


def test_snapshot_of_a_delegate_leaves_out_internal_items(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        _, snapshot = hello(ws, meeting.id)

    keys = [item["key"] for item in snapshot["data"]["agenda"]]
    assert "hoan-thien-du-thao" not in keys
    assert "ket-luan" in keys


def test_catch_up_leaves_out_staff_events(delegate_client, chair_client, meeting):
    internal = items(chair_client, meeting.id)["hoan-thien-du-thao"]
    post_command(chair_client, meeting.id, "meeting.start")
    with delegate_client.websocket_connect("/ws") as ws:
        _, snapshot = hello(ws, meeting.id)
    post_command(chair_client, meeting.id, "agenda.goto", {"item_id": internal.id})

    with delegate_client.websocket_connect("/ws") as ws:
        _, first = hello(ws, meeting.id, snapshot["seq"])
        synced = receive(ws)

    assert first["data"] == {"item_id": None, "item": None}
    assert synced["missed"] == 2  # the staff version was skipped, not lost


# -- commands --------------------------------------------------------------------


@pytest.fixture
def running(chair_client, meeting):
    post_command(chair_client, meeting.id, "meeting.start")
    return meeting


def test_chair_command_is_acknowledged_and_reaches_every_tablet(delegate_client, chair_client, meeting):
    with delegate_client.websocket_connect("/ws") as delegate, \
            chair_client.websocket_connect("/ws") as chair:
        hello(delegate, meeting.id)
        _, snapshot = hello(chair, meeting.id)
        ack = command(chair, "meeting.start")
        event = receive(delegate)

    assert ack["type"] == "ack"
    assert ack["result"] == {"state": "running"}
    assert event["event"] == "meeting.state"
    assert event["seq"] == snapshot["seq"] + 1


def test_retried_command_takes_effect_once(delegate_client, chair_client, running):
    with delegate_client.websocket_connect("/ws") as delegate, \
            chair_client.websocket_connect("/ws") as chair:
        hello(delegate, running.id)
        hello(chair, running.id)
        first = command(chair, "agenda.next", command_id="retry-1")
        again = command(chair, "agenda.next", command_id="retry-1")
        command(chair, "meeting.end")
        events = [receive(delegate), receive(delegate)]

    assert "repeated" not in first
    assert again["repeated"] is True
    assert again["result"] == first["result"]
    assert [e["event"] for e in events] == ["agenda.current", "meeting.state"]


def test_delegate_may_not_send_a_chair_command(delegate_client, running):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, running.id)
        error = command(ws, "agenda.next")

    assert error["code"] == "not_allowed"
    assert error["message"] == "You may not move to the next agenda item."


def test_command_error_carries_its_code_and_sentence(chair_client, running):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, running.id)
        error = command(ws, "meeting.start")

    assert error["code"] == "conflict"
    assert error["message"] == "The meeting is already running."


def test_unknown_command_is_named_in_the_error(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        error = command(ws, "poll.explode")

    assert error["message"] == "The server does not know the command poll.explode. Reload the page to get the current version."


def test_command_without_a_proper_id_is_refused(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_json({"type": "command", "id": "has spaces", "name": "meeting.start"})
        error = receive(ws)

    assert error["id"] == "has spaces"  # echoed so the tablet can match it
    assert error["message"] == "Each command needs an id of 1 to 64 letters, digits or -_.: characters."


def test_command_for_another_meeting_is_refused(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_json({"type": "command", "id": "other-1", "meeting": meeting.id + 7,
                      "name": "meeting.start", "args": {}})
        error = receive(ws)

    assert error["id"] == "other-1"
    assert error["message"] == "This command is for another meeting than the one this tablet follows. Reload the page."


def test_flood_of_commands_is_rate_limited(chair_client, meeting):
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        for n in range(40):
            ws.send_json({"type": "command", "id": f"flood-{n}", "name": "no.such"})
        answers = [receive(ws) for _ in range(40)]

    limited = [a for a in answers if a["code"] == "rate_limited"]
    assert 5 <= len(limited) <= 10  # a burst of 30 passes, then about 10 per second
    assert limited[0]["message"] == "You are sending commands too fast. Wait a moment, then try again."


# -- bad input -------------------------------------------------------------------


def test_text_that_is_not_json_gets_an_error_and_the_socket_stays_open(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text("{not json")
        error = receive(ws)
        ws.send_json({"type": "ping", "t": 7})
        pong = ws.receive_json()

    assert error["message"] == "The message is not valid JSON."
    assert pong == {"type": "pong", "t": 7}


def test_binary_frame_gets_an_error(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_bytes(b"\x00\x01")
        error = receive(ws)

    assert error["message"] == "Send messages as JSON text, not binary frames."


def test_huge_frame_gets_an_error_and_the_socket_is_closed(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text(json.dumps({"type": "ping", "t": "x" * 70_000}))
        error = receive(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["message"] == "The message is too large: at most 64 KB are accepted."
    assert closed.value.code == 1009


def test_unknown_message_type_gets_an_error(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_json({"type": "shout"})
        error = receive(ws)

    assert error["message"] == "The server does not understand messages of type shout."


def test_json_that_is_not_an_object_gets_an_error(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text("[1, 2]")
        error = receive(ws)

    assert error["message"] == "Each message must be a JSON object with a type."


# -- slow and dead tablets -------------------------------------------------------


def test_slow_tablet_overflows_to_a_snapshot_without_delaying_the_others(
        delegate_client, chair_client, login, running):
    other_client = login(running.code("delegate", 1))
    with delegate_client.websocket_connect("/ws") as slow, \
            other_client.websocket_connect("/ws") as other:
        hello(slow, running.id)
        hello(other, running.id)
        conn = hub_connection(delegate_client, person(running, "delegate").id)
        gate = _hold_sends(delegate_client, conn, limit=2)
        for _ in range(5):
            post_command(chair_client, running.id, "agenda.next")
        fast = [receive(other) for _ in range(5)]
        delegate_client.portal.call(gate.set)
        held, snapshot = receive(slow), receive(slow)
        after = post_command(chair_client, running.id, "agenda.previous")
        live = receive(slow)
        overflows = delegate_client.app.state.hub.metrics.overflows_total

    assert [m["seq"] for m in fast] == list(range(fast[0]["seq"], fast[0]["seq"] + 5))
    assert held["seq"] == fast[0]["seq"]  # the one that was on its way
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == fast[-1]["seq"]
    assert live["seq"] == snapshot["seq"] + 1
    assert live["data"] == after["result"]
    assert overflows == 1


def _hold_sends(client, conn, limit: int) -> asyncio.Event:
    """Make the server's sends to ``conn`` hang, as for a tablet that stops reading."""
    gate = client.portal.call(_new_event)
    original = conn.send

    async def held(text: str) -> None:
        await gate.wait()
        await original(text)

    conn.send, conn.limit = held, limit
    return gate


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


def test_tablet_that_sends_nothing_is_dropped_and_leaves_presence(delegate_client, chair_client, meeting):
    delegate_id = person(meeting, "delegate").id
    with chair_client.websocket_connect("/ws") as chair, \
            delegate_client.websocket_connect("/ws") as silent:
        hello(chair, meeting.id)
        hello(silent, meeting.id)
        _wait_for_presence(chair, lambda ids: delegate_id in ids)
        conn = hub_connection(delegate_client, delegate_id)
        conn.last_heard = time.monotonic() - 1000  # no pong for a long time
        chair_conn = hub_connection(chair_client, person(meeting, "chair").id)
        chair_conn.last_heard = time.monotonic()
        dropped = chair_client.portal.call(chair_client.app.state.hub.reap, 15.0)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                silent.receive_json()
        chair.send_json({"type": "pong"})
        _wait_for_presence(chair, lambda ids: delegate_id not in ids)

    assert dropped == 1
    assert closed.value.code == 1001
    assert chair_client.app.state.hub.metrics.dead_total == 1


def _wait_for_presence(ws, wanted) -> None:
    for _ in range(MAX_MESSAGES):
        message = ws.receive_json()
        if message["type"] == "presence" and wanted(message["connected"]):
            return
    raise AssertionError("presence never showed what was expected")


def test_sync_message_gets_a_fresh_snapshot(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        _, first = hello(ws, meeting.id)
        ws.send_json({"type": "sync"})
        again = receive(ws)

    assert again["type"] == "snapshot"
    assert again["seq"] == first["seq"]


def test_projector_socket_sees_public_events(client, chair_client, meeting):
    key = client.app.state.store.read_sync(
        lambda s: s.exec(select(AgendaItem.meeting_id)).first() and _projector_key(s, meeting.id))
    with client.websocket_connect(f"/ws?projector={meeting.id}&key={key}") as ws:
        welcome, _ = hello(ws, meeting.id)
        post_command(chair_client, meeting.id, "meeting.start")
        event = receive(ws)

    assert welcome["viewer"]["role"] == "projector"
    assert event["data"] == {"state": "running"}


def _projector_key(session, meeting_id: int) -> str:
    from server.models import Meeting

    return session.get(Meeting, meeting_id).projector_key


def test_projector_with_a_wrong_key_is_closed_with_4403(client, meeting):
    with client.websocket_connect(f"/ws?projector={meeting.id}&key=wrong") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["message"] == "This projector address is not valid. Ask the organizer for the current one."
    assert closed.value.code == 4403


# -- reads shared by a reconnect storm ---------------------------------------------


class CountingStore:
    """Runs reads like the store does (in a thread), counting how many it ran."""

    def __init__(self) -> None:
        self.reads = 0

    async def read(self, fn, *args):
        self.reads += 1
        return await asyncio.to_thread(fn, None, *args)


def _login(_session, token: str) -> str:
    from server.errors import NotLoggedInError

    if token == "ended":
        raise NotLoggedInError("Your session has ended. Please log in again with your access code.")
    return f"viewer of {token}"


async def test_tablets_arriving_together_share_one_database_read():
    from server.web.sockets import ReadBatch

    store = CountingStore()
    reads = ReadBatch(store)

    viewers = await asyncio.gather(*(reads.read(_login, f"t{i}") for i in range(50)))

    assert viewers == [f"viewer of t{i}" for i in range(50)]
    assert store.reads == 1


async def test_an_ended_login_in_a_shared_read_refuses_only_its_own_tablet():
    from server.errors import NotLoggedInError
    from server.web.sockets import ReadBatch

    reads = ReadBatch(CountingStore())

    outcomes = await asyncio.gather(reads.read(_login, "a"), reads.read(_login, "ended"),
                                    reads.read(_login, "b"), return_exceptions=True)

    assert outcomes[0] == "viewer of a" and outcomes[2] == "viewer of b"
    assert isinstance(outcomes[1], NotLoggedInError)
    assert outcomes[1].message == "Your session has ended. Please log in again with your access code."
