"""HTTP and WebSocket handlers of the meeting floor (server/web/floor.py)."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import itsdangerous
import pytest
import uvicorn
from sqlmodel import select
from websockets.asyncio.client import connect

from server import voting
from server.app import create_app
from server.web import floor
from server.models import Ballot, LoginSession, Participant, Poll, PollVoter
from server.settings import Settings
from tests._floor_helpers import (  # noqa: F401  (fixtures)
    Room, load_room, new_id, running_room, vn_room, write_agenda,
)


def code_of(room: Room, viewer) -> str:
    return room.read(lambda s: s.get(Participant, viewer.participant_id).access_code)


@pytest.fixture
def logged_in(running_room: Room, login):
    """``logged_in(viewer)``: a test client logged in as that person."""
    return lambda viewer: login(code_of(running_room, viewer))


def closed_vote(room: Room, **spec) -> int:
    poll_id = room.run(room.secretary, "poll.create", title="Thông qua nghị quyết", **spec)["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)
    for viewer, choice in zip(room.members, ["yes", "yes", "no", "abstain", "yes", "yes"]):
        room.run(viewer, "poll.cast", poll_id=poll_id, choice=choice)
    room.run(room.chair, "poll.close", poll_id=poll_id)
    return poll_id


# -- counts by hand over HTTP ---------------------------------------------------


def test_secretary_enters_counts_over_http(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Giơ tay", mode="analog")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)

    response = logged_in(room.secretary).post(
        f"/api/meetings/{room.meeting_id}/polls/{poll_id}/counts",
        json={"id": new_id(), "yes": 5, "no": 1, "abstain": 0, "total": 6})

    assert response.status_code == 200, response.text
    assert room.read(voting.poll_result, poll_id)["counts"] == {"yes": 5, "no": 1, "abstain": 0}


def test_counts_that_do_not_add_up_get_the_json_error(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Giơ tay", mode="analog")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)

    response = logged_in(room.secretary).post(
        f"/api/meetings/{room.meeting_id}/polls/{poll_id}/counts",
        json={"id": new_id(), "yes": 5, "no": 1, "abstain": 0, "total": 7})

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid_input", "The counts do not add up: 5 yes + 1 no + 0 abstain make 6, not 7.")


def test_a_delegate_may_not_enter_counts_over_http(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Giơ tay", mode="analog")["poll_id"]

    response = logged_in(room.delegates[0]).post(
        f"/api/meetings/{room.meeting_id}/polls/{poll_id}/counts", json={"id": new_id(), "yes": 1})

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "You may not enter the counts of a vote."


# -- exports -------------------------------------------------------------------


def test_results_export_as_json_with_the_stored_counts(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = closed_vote(room, rule="absolute_members")

    response = logged_in(room.chair).get(f"/api/meetings/{room.meeting_id}/polls/{poll_id}/result.json")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="vote-{poll_id}.json"'
    data = response.json()
    assert data == room.read(voting.poll_result, poll_id)
    assert (data["counts"], data["base_text"], data["outcome"]) == (
        {"yes": 4, "no": 1, "abstain": 1}, "all members", "adopted")


def test_results_export_as_csv_with_the_base_of_every_percentage(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = closed_vote(room)
    room.run(room.chair, "poll.publish", poll_id=poll_id)

    response = logged_in(room.delegates[0]).get(f"/api/meetings/{room.meeting_id}/results.csv")

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    yes = next(r for r in rows if r["option"] == "yes")
    assert (yes["count"], yes["percent"], yes["base"], yes["base_count"]) == (
        "4", "80.0", "votes cast (yes + no)", "5")
    assert yes["title"] == "Thông qua nghị quyết"
    assert next(r for r in rows if r["option"] == "abstain")["percent"] == ""


def test_an_unpublished_result_is_not_exported_to_delegates(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = closed_vote(room)

    one = logged_in(room.delegates[0]).get(f"/api/meetings/{room.meeting_id}/polls/{poll_id}/result.csv")
    listed = logged_in(room.delegates[0]).get(f"/api/meetings/{room.meeting_id}/results.json")

    assert one.status_code == 404
    assert one.json()["error"]["message"] == "The result of this vote is not published yet."
    assert listed.json() == []


def test_recount_over_http_is_for_staff(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = closed_vote(room)

    staff = logged_in(room.secretary).get(f"/api/meetings/{room.meeting_id}/polls/{poll_id}/recount")
    delegate = logged_in(room.delegates[0]).get(f"/api/meetings/{room.meeting_id}/polls/{poll_id}/recount")

    assert staff.json()["matches"] is True
    assert delegate.status_code == 403


def test_an_open_vote_is_not_recounted_over_http(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Biểu quyết")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="no")

    answer = logged_in(room.chair).get(f"/api/meetings/{room.meeting_id}/polls/{poll_id}/recount")

    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "The vote is still open; it can be counted once it is closed."
    assert "tally" not in answer.text


class _RecordingStore:
    """Stands in for the Store: records which announcements were written."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    async def write(self, fn, poll_ids):
        self.calls.append((fn.__name__, poll_ids))


def test_progress_is_coalesced_and_the_voter_list_comes_every_few_seconds() -> None:
    store = _RecordingStore()
    voting.take_progress(), voting.take_voters()

    async def run() -> None:
        task = asyncio.create_task(floor.announce_progress_forever(store, 0.05, 0.25))
        for _ in range(60):  # a ballot every 10 ms for 0.6 s
            voting.mark_progress(7)
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())

    progress = [ids for name, ids in store.calls if name == "announce_progress"]
    voters = [ids for name, ids in store.calls if name == "announce_voters"]
    assert 3 <= len(progress) <= 20  # coalesced: far fewer messages than ballots
    assert 1 <= len(voters) <= 3  # batched: one list per 0.25 s here, 5 s in the room
    assert floor.VOTERS_INTERVAL >= 3


# -- pages ---------------------------------------------------------------------


def test_the_check_in_page_is_for_staff(running_room: Room, logged_in) -> None:
    room = running_room

    staff = logged_in(room.secretary).get(f"/m/{room.meeting_id}/checkin")
    delegate = logged_in(room.delegates[0]).get(f"/m/{room.meeting_id}/checkin", follow_redirects=False)

    assert staff.status_code == 200
    assert 'data-page="checkin"' in staff.text and "/static/floor.js" in staff.text
    assert (delegate.status_code, delegate.headers["location"]) == (303, f"/m/{room.meeting_id}")


def test_every_meeting_page_loads_the_floor_script(running_room: Room, logged_in) -> None:
    page = logged_in(running_room.delegates[0]).get(f"/m/{running_room.meeting_id}")

    assert '<script src="/static/floor.js"></script>' in page.text


# -- over the socket -----------------------------------------------------------


def receive_until(ws, predicate, limit: int = 50) -> dict:
    for _ in range(limit):
        message = ws.receive_json()
        if predicate(message):
            return message
    raise AssertionError("the expected message did not arrive")


def test_a_ballot_over_the_socket_is_acknowledged_without_the_choice(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Biểu quyết")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)

    with logged_in(room.delegates[0]).websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "meeting": room.meeting_id, "last_seq": None})
        receive_until(ws, lambda m: m["type"] == "snapshot")
        ws.send_json({"type": "command", "id": "cast-1", "name": "poll.cast",
                      "args": {"poll_id": poll_id, "choice": "no"}})
        ack = receive_until(ws, lambda m: m["type"] == "ack")
        progress = receive_until(ws, lambda m: m.get("event") == "poll.progress" and m["data"]["voted"] == 1)

    assert ack["result"] == {"poll_id": poll_id, "recorded": True,
                             "voter_id": room.delegates[0].participant_id}
    assert "no" not in json.dumps(ack["result"])
    assert progress["data"] == {"poll_id": poll_id, "voted": 1, "eligible": 6}


def test_the_snapshot_tells_a_tablet_it_has_voted(running_room: Room, logged_in) -> None:
    room = running_room
    poll_id = room.run(room.secretary, "poll.create", title="Biểu quyết")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)
    room.run(room.delegates[0], "poll.cast", poll_id=poll_id, choice="yes")

    snapshot = logged_in(room.delegates[0]).get(f"/api/meetings/{room.meeting_id}/snapshot").json()

    assert snapshot["polls"]["voted_for"] == {str(poll_id): [room.delegates[0].participant_id]}
    assert snapshot["attendance"]["mine"]["status"] == "present"
    assert snapshot["polls"]["not_voted"] == {}


# -- 500 delegates cast at once over WebSockets while the chair closes ---------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """A real uvicorn server on loopback, in a thread; yields (base URL, app)."""
    settings = Settings(data_dir=tmp_path / "var", secret_key="test-secret-key",
                        heartbeat_seconds=30.0)
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio",
                            ws_per_message_deflate=False, log_level="warning", backlog=2048)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def tablet_cookies(store, secret: str, participant_ids: list[int]) -> list[str]:
    """Session cookies for many tablets at once, as a login would set them.

    Logging 500 tablets in over HTTP takes longer than the test itself; this
    stores the login sessions in one write and signs the cookies the way
    Starlette's SessionMiddleware does.
    """
    def add_logins(session) -> list[str]:
        tokens = [secrets.token_urlsafe(32) for _ in participant_ids]
        for token, pid in zip(tokens, participant_ids):
            session.add(LoginSession(token=token, participant_id=pid))
        return tokens
    signer = itsdangerous.TimestampSigner(secret)
    return [signer.sign(base64.b64encode(json.dumps({"token": t}).encode())).decode()
            for t in store.write_sync(add_logins)]


async def join(base: str, cookie: str, meeting_id: int):
    ws = await connect(f"ws://{base}/ws", additional_headers={"Cookie": f"plenary_session={cookie}"},
                       compression=None, max_size=2**22, open_timeout=30)
    await ws.send(json.dumps({"type": "hello", "meeting": meeting_id, "last_seq": None}))
    while json.loads(await ws.recv())["type"] != "snapshot":
        pass
    return ws


async def answers(ws, wanted: set[str], timeout: float = 30.0) -> dict[str, dict]:
    """Read until every command id in ``wanted`` has its ack or error."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while wanted - set(found):
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["type"] in ("ack", "error") and message.get("id") in wanted:
            found.setdefault(message["id"], message)
    return found


async def cast_storm(base: str, cookies: list[str], chair_cookie: str, meeting_id: int,
                     poll_id: int) -> list[dict[str, dict]]:
    sockets = await asyncio.gather(*(join(base, c, meeting_id) for c in cookies))
    chair = await join(base, chair_cookie, meeting_id)
    command = {"type": "command", "name": "poll.cast", "args": {"poll_id": poll_id, "choice": "yes"}}

    async def vote(index: int, ws) -> dict[str, dict]:
        command_id = f"storm-{index}"
        await ws.send(json.dumps({**command, "id": command_id}))
        if index % 7 == 0:  # a retry of the same command while the first is in flight
            await ws.send(json.dumps({**command, "id": command_id}))
        if index % 25 == 0:  # a tablet that reloads and sends its command again
            await ws.close()
            ws = await join(base, cookies[index], meeting_id)
            await ws.send(json.dumps({**command, "id": command_id}))
        try:
            return await answers(ws, {command_id})
        finally:
            await ws.close()

    async def close_soon() -> dict:
        await asyncio.sleep(0.15)
        await chair.send(json.dumps({"type": "command", "id": "close", "name": "poll.close",
                                     "args": {"poll_id": poll_id}}))
        return (await answers(chair, {"close"}))["close"]

    results = await asyncio.gather(close_soon(), *(vote(i, ws) for i, ws in enumerate(sockets)))
    await chair.close()
    assert results[0]["type"] == "ack", results[0]
    return results[1:]


@pytest.mark.slow  # about 20 s here: 500 sockets and their snapshots on 2 shared cores
def test_500_delegates_cast_at_once_while_the_chair_closes(live_server, tmp_path: Path) -> None:
    base, app = live_server
    store = app.state.store
    room = load_room(store, app.state.settings.documents_dir, write_agenda(tmp_path / "storm", 500))
    room.start()
    room.check_in(*room.members)
    poll_id = room.run(room.secretary, "poll.create", title="Storm")["poll_id"]
    room.run(room.chair, "poll.open", poll_id=poll_id)
    ids = [v.participant_id for v in room.delegates] + [room.chair.participant_id]
    cookies = tablet_cookies(store, app.state.settings.secret_key, ids)

    outcomes = asyncio.run(cast_storm(base, cookies[:-1], cookies[-1], room.meeting_id, poll_id))

    answered = [found[f"storm-{i}"] for i, found in enumerate(outcomes)]
    accepted = [a for a in answered if a["type"] == "ack"]
    refused = [a for a in answered if a["type"] == "error"]
    assert {a["message"] for a in refused} <= {"Voting on this motion is already closed."}
    assert len(accepted) + len(refused) == 500
    voters = room.read(lambda s: s.exec(select(PollVoter).where(PollVoter.poll_id == poll_id)).all())
    ballots = room.read(lambda s: s.exec(select(Ballot).where(Ballot.poll_id == poll_id)).all())
    accepted_ids = {a["result"]["voter_id"] for a in accepted}
    assert accepted_ids == {v.participant_id for v in voters}
    assert len(ballots) == len(voters) == len(accepted_ids) == len(accepted)
    found = room.read(voting.poll_result, poll_id)
    assert found["counts"]["yes"] == found["ballots"] == len(accepted)
    assert room.read(lambda s: s.get(Poll, poll_id)).voted == len(accepted)
    assert room.read(voting.recount_poll, poll_id)["matches"] is True


def test_a_csv_export_neutralises_names_a_spreadsheet_would_run_as_formulas() -> None:
    from server.web.floor import results_to_csv

    result = {"poll_id": 1, "title": "=1+1", "kind": "election", "mode": "secret",
              "state": "published", "candidates": [
                  {"name": '=HYPERLINK("http://x","Bấm")', "votes": 3, "percent": 60.0,
                   "elected": True, "runoff": False},
                  {"name": "Lê Văn An", "votes": 2, "percent": 40.0, "elected": False,
                   "runoff": False}]}

    rows = list(csv.DictReader(io.StringIO(results_to_csv([result]))))

    assert rows[0]["option"] == "'=HYPERLINK(\"http://x\",\"Bấm\")"
    assert rows[0]["title"] == "'=1+1"
    assert (rows[1]["option"], rows[1]["count"]) == ("Lê Văn An", "2")
