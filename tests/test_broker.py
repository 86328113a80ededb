"""Brokers: events in sequence order on every process, gaps filled from the database.

The first tests drive a broker and a hub directly in this process. The last ones
start two real server processes on one PostgreSQL database, with the PostgreSQL
(LISTEN/NOTIFY) and the Redis (pub/sub) broker, and follow the meeting from a
tablet on each.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bench.realtime import Server, free_port, http_request, prepare_hall, start_plenary
from server.access import Viewer
from server.broker import LocalBroker, choose_broker, decode_events, encode_events
from server.broker import latest_seq as latest_seq_of
from server.eventlog import PublishedEvent
from server.realtime import Hub
from server.settings import Settings
from tests._meeting_fixtures import next_command_id

DEADLINE = 30.0


def published(meeting_id: int, seq: int, audience: str = "all") -> PublishedEvent:
    return PublishedEvent(meeting_id, seq, "agenda.current", audience, {"n": seq})


def follow(hub: Hub, meeting_id: int) -> list[dict]:
    """A connected delegate in ``hub``; returns the list its messages land in."""
    received: list[dict] = []

    async def send(text: str) -> None:
        received.append(json.loads(text))

    conn = hub.join(Viewer(meeting_id, "delegate", 99), send)
    conn.start()
    return received


def chair_events(client, meeting, count: int) -> int:
    """Record ``count`` events through the chair; return the latest sequence."""
    chair = meeting.people[meeting.code("chair")]
    from server.access import viewer_for
    from server.commands import execute

    store = client.app.state.store
    viewer = viewer_for(chair)
    store.write_sync(execute, viewer, "meeting.start", next_command_id(), {})
    for _ in range(count - 1):
        store.write_sync(execute, viewer, "agenda.next", next_command_id(), {})
    return store.read_sync(latest_seq_of, meeting.id)


# -- ordering in one process -----------------------------------------------------


async def test_events_offered_out_of_order_are_delivered_in_order(client, meeting):
    hub = Hub()
    broker = LocalBroker(hub, client.app.state.store)
    hub.delivered[meeting.id] = 10
    received = follow(hub, meeting.id)

    broker.offer([published(meeting.id, 12), published(meeting.id, 13)])
    assert received == []  # 11 is missing: 12 and 13 wait
    broker.offer([published(meeting.id, 11), published(meeting.id, 12)])

    assert [m["seq"] for m in received] == [11, 12, 13]


async def test_event_delivered_twice_reaches_the_tablet_once(client, meeting):
    hub = Hub()
    broker = LocalBroker(hub, client.app.state.store)
    hub.delivered[meeting.id] = 4
    received = follow(hub, meeting.id)

    broker.offer([published(meeting.id, 5)])
    broker.offer([published(meeting.id, 5), published(meeting.id, 4)])

    assert [m["seq"] for m in received] == [5]


async def test_missing_event_is_read_from_the_database(client, meeting):
    latest = chair_events(client, meeting, 3)
    hub = Hub()
    broker = LocalBroker(hub, client.app.state.store)
    hub.delivered[meeting.id] = latest - 3
    received = follow(hub, meeting.id)

    broker.announce(meeting.id, latest)  # another process stored up to latest
    await asyncio.wait_for(_until(lambda: len(received) == 3), 5)

    assert [m["seq"] for m in received] == [latest - 2, latest - 1, latest]
    assert [m["event"] for m in received] == ["meeting.state", "agenda.current", "agenda.current"]
    assert broker.gap_fills == 3


async def test_gap_larger_than_the_resync_limit_sends_tablets_a_snapshot(client, meeting):
    latest = chair_events(client, meeting, 4)
    snapshots: list[int] = []

    async def snapshot(viewer: Viewer) -> tuple[int, str]:
        snapshots.append(viewer.meeting_id)
        return latest, json.dumps({"type": "snapshot", "seq": latest})

    hub = Hub(snapshot=snapshot)
    broker = LocalBroker(hub, client.app.state.store, resync_limit=2)
    hub.delivered[meeting.id] = latest - 4
    received = follow(hub, meeting.id)

    broker.announce(meeting.id, latest)
    await asyncio.wait_for(_until(lambda: received), 5)

    assert received == [{"type": "snapshot", "seq": latest}]
    assert hub.delivered[meeting.id] == latest
    assert broker.gap_fills == 0


async def test_meeting_nobody_follows_here_is_not_read(client, meeting):
    hub = Hub()
    broker = LocalBroker(hub, client.app.state.store)

    broker.offer([published(meeting.id, 7)])
    broker.announce(meeting.id, 9)

    assert meeting.id not in hub.delivered
    assert broker.gap_fills == 0


async def test_tracking_a_meeting_starts_at_its_latest_sequence(client, meeting):
    latest = chair_events(client, meeting, 2)
    hub = Hub()
    broker = LocalBroker(hub, client.app.state.store)

    await broker.track(meeting.id)

    assert hub.delivered[meeting.id] == latest


def test_redis_message_carries_the_events_unchanged():
    events = [published(3, 8, "person:4"), published(3, 9)]

    origin, decoded = decode_events(encode_events("p1", events))

    assert origin == "p1"
    assert decoded == events


@pytest.mark.parametrize(("broker", "database", "redis", "expected"), [
    ("auto", "", "", "local"),
    ("auto", "postgresql+psycopg://h/db", "", "postgres"),
    ("auto", "postgresql+psycopg://h/db", "redis://h:6379/0", "redis"),
    ("local", "postgresql+psycopg://h/db", "", "local"),
    ("redis", "", "redis://h:6379/0", "redis"),
])
def test_broker_is_chosen_from_the_settings(tmp_path, broker, database, redis, expected):
    settings = Settings(data_dir=tmp_path, database_url=database, broker=broker, redis_url=redis)

    assert choose_broker(settings) == expected


@pytest.mark.parametrize(("broker", "database", "redis", "message"), [
    ("postgres", "", "", "PLENARY_BROKER=postgres needs PLENARY_DATABASE_URL to point to PostgreSQL."),
    ("redis", "", "", "PLENARY_BROKER=redis needs PLENARY_REDIS_URL, for example redis://127.0.0.1:6379/0."),
    ("kafka", "", "", "PLENARY_BROKER='kafka' is not one of auto, local, postgres, redis."),
])
def test_impossible_broker_setting_stops_the_server_with_a_reason(tmp_path, broker, database, redis, message):
    settings = Settings(data_dir=tmp_path, database_url=database, broker=broker, redis_url=redis)

    with pytest.raises(SystemExit) as stopped:
        choose_broker(settings)

    assert str(stopped.value) == message


async def _until(predicate) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)


# -- two server processes ----------------------------------------------------------


def fresh_database(postgres_url: str) -> str:
    """A new, empty database on the test cluster, so each test starts clean."""
    import psycopg

    from server.broker import libpq_url

    name = f"broker_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def two_servers(request, tmp_path: Path, postgres_url: str):
    """Two `plenary serve` processes on one fresh PostgreSQL database."""
    broker = request.param
    redis = request.getfixturevalue("redis_url") if broker == "redis" else ""
    url = fresh_database(postgres_url)
    hall = prepare_hall(url, tmp_path, delegates=4)
    servers: list[Server] = []
    try:
        servers = [start_plenary(tmp_path, free_port(), url, broker, redis) for _ in range(2)]
        yield hall, servers
    finally:
        for server in servers:
            server.stop(hard=True)


class Tablet:
    """A delegate's socket that records every event it receives."""

    def __init__(self, server: Server, hall, cookie: str) -> None:
        self.server, self.hall, self.cookie = server, hall, cookie
        self.events: list[tuple[int, str, str]] = []
        self.seq: int | None = None
        self.closed = asyncio.Event()

    async def open(self, last_seq: int | None = None) -> dict:
        self.ws = await connect(self.server.ws_url, proxy=None, compression=None,
                                additional_headers={"Cookie": f"plenary_session={self.cookie}"})
        await self.ws.send(json.dumps({"type": "hello", "meeting": self.hall.meeting_id,
                                       "last_seq": last_seq}))
        welcome = json.loads(await self.ws.recv())
        self.seq = last_seq
        self.task = asyncio.ensure_future(self._read())
        return welcome

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                message = json.loads(text)
                if message["type"] == "snapshot":
                    self.seq = message["seq"]
                elif message["type"] == "event":
                    self.events.append((message["seq"], message["event"],
                                        json.dumps(message["data"], sort_keys=True)))
                    self.seq = message["seq"]
        except Exception:
            pass
        self.closed.set()

    async def wait_for(self, seq: int) -> None:
        for _ in range(int(DEADLINE / 0.02)):
            if self.seq is not None and self.seq >= seq:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the tablet is at {self.seq}, not {seq}")

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()


async def chair_says(server: Server, hall, name: str, args: dict | None = None) -> dict:
    status, body = await asyncio.to_thread(
        http_request, server.port, "POST", f"/api/meetings/{hall.meeting_id}/commands",
        {"id": next_command_id(), "name": name, "args": args or {}}, hall.chair_cookie)
    assert status == 200, body
    return body


async def latest_seq(server: Server, hall) -> int:
    status, snapshot = await asyncio.to_thread(
        http_request, server.port, "GET", f"/api/meetings/{hall.meeting_id}/snapshot",
        None, hall.chair_cookie)
    assert status == 200, snapshot
    return snapshot["seq"]


BROKERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("redis", marks=[pytest.mark.postgres, pytest.mark.redis])]


@pytest.mark.slow
@pytest.mark.parametrize("two_servers", BROKERS, indirect=True)
async def test_changes_through_either_process_reach_both_in_the_same_order(two_servers):
    hall, (a, b) = two_servers
    tablets = [Tablet(a, hall, hall.delegate_cookies[0]), Tablet(b, hall, hall.delegate_cookies[1])]
    for tablet in tablets:
        await tablet.open()
    await chair_says(a, hall, "meeting.start")

    # commands through both processes at once: they race for the next sequence
    items = hall.item_ids
    await asyncio.gather(*[chair_says((a, b)[n % 2], hall, "agenda.goto", {"item_id": items[n % 2]})
                           for n in range(16)])
    latest = await latest_seq(b, hall)
    for tablet in tablets:
        await tablet.wait_for(latest)

    on_a, on_b = tablets[0].events, tablets[1].events
    assert on_a == on_b
    assert [seq for seq, _, _ in on_a] == list(range(on_a[0][0], latest + 1))
    assert len(on_a) == 17
    for tablet in tablets:
        await tablet.close()


@pytest.mark.slow
@pytest.mark.parametrize("two_servers", BROKERS, indirect=True)
async def test_process_killed_with_sigkill_leaves_the_other_serving(two_servers):
    hall, (a, b) = two_servers
    on_a, on_b = Tablet(a, hall, hall.delegate_cookies[0]), Tablet(b, hall, hall.delegate_cookies[1])
    await on_a.open()
    await on_b.open()
    await chair_says(a, hall, "meeting.start")
    started = await latest_seq(a, hall)
    await on_a.wait_for(started)

    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    await asyncio.wait_for(on_a.closed.wait(), 10)
    await chair_says(b, hall, "agenda.next")
    await chair_says(b, hall, "agenda.next")
    await on_b.wait_for(started + 2)
    # the tablet of the dead process comes back through the living one
    moved = Tablet(b, hall, hall.delegate_cookies[0])
    welcome = await moved.open(last_seq=on_a.seq)
    await moved.wait_for(started + 2)

    assert welcome["seq"] == started + 2
    assert [seq for seq, _, _ in moved.events] == [started + 1, started + 2]
    assert moved.events == on_b.events[-2:]
    await on_b.close()
    await moved.close()
