"""How committed events reach the hub of every server process of a meeting.

Rules:
- Events committed by this process go to its own hub at once, in commit order.
- With several processes, the others learn of each commit through the broker:
  PostgreSQL's LISTEN/NOTIFY (the notification is sent inside the committing
  transaction, so it exists exactly when the events do) or Redis pub/sub
  (published right after the commit).
- Every hub hands a meeting's events on in sequence order, each once. An event
  that arrives ahead of a missing one waits; the missing ones are read from the
  events table, where they are already stored: sequence numbers are taken under
  a lock on the meeting, so any event seen proves that all before it committed.
- A process that lost touch with the broker, or whose peer died between commit
  and publish, finds the missing events by asking the database for the latest
  sequence of its live meetings every ``POLL_SECONDS``.
- When a gap is larger than ``PLENARY_RESYNC_LIMIT`` events, the tablets of that
  meeting get a snapshot instead of the whole backlog.
- SQLite has one writing process: its broker is local only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from server.db import Store, is_sqlite
from server.eventlog import PublishedEvent, list_events_since
from server.models import Meeting
from server.realtime import Hub
from server.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "plenary_events"
POLL_SECONDS = 1.0
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
FILL_BATCH = 1000


class LocalBroker:
    """One process: committed events go straight to this process's hub."""

    name = "local"

    def __init__(self, hub: Hub, store: Store, resync_limit: int = 500) -> None:
        self.hub, self.store = hub, store
        self.resync_limit = resync_limit
        self.gap_fills = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, dict[int, PublishedEvent]] = {}
        self._wanted: dict[int, int] = {}
        self._filling: dict[int, asyncio.Task] = {}
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.store.after_commit = self.committed

    async def stop(self) -> None:
        self.store.after_commit = None
        for task in [*self._tasks, *self._filling.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._filling.values(), return_exceptions=True)

    def is_up(self) -> bool:
        return True

    # -- the commit side -----------------------------------------------------

    def committed(self, events: list[PublishedEvent]) -> None:
        """Called on the writer thread after each commit."""
        assert self.loop is not None, "the broker was not started"
        self.loop.call_soon_threadsafe(self.local_commit, events, time.monotonic())

    def local_commit(self, events: list[PublishedEvent], since: float) -> None:
        self.offer(events, since)

    # -- the receiving side --------------------------------------------------

    async def track(self, meeting_id: int) -> None:
        """Start following a meeting: the hub continues from its latest sequence."""
        if meeting_id in self.hub.delivered:
            return
        latest = await self.store.read(latest_seq, meeting_id)
        self.hub.delivered.setdefault(meeting_id, latest)

    def offer(self, events: Iterable[PublishedEvent], since: float | None = None) -> None:
        """Take events in any order; hand them to the hub in sequence order."""
        touched: set[int] = set()
        for event in events:
            last = self.hub.delivered.get(event.meeting_id)
            if last is None or event.seq <= last:
                continue  # a meeting nobody follows here, or already delivered
            self._pending.setdefault(event.meeting_id, {})[event.seq] = event
            touched.add(event.meeting_id)
        for meeting_id in touched:
            self._flush(meeting_id, since)

    def announce(self, meeting_id: int, seq: int) -> None:
        """Another process stored events of a meeting up to ``seq``."""
        last = self.hub.delivered.get(meeting_id)
        if last is None or seq <= last:
            return
        self._wanted[meeting_id] = max(seq, self._wanted.get(meeting_id, 0))
        self._fill_soon(meeting_id)

    def _flush(self, meeting_id: int, since: float | None) -> None:
        pending = self._pending.get(meeting_id, {})
        last = self.hub.delivered[meeting_id]
        ready = []
        while last + 1 in pending:
            last += 1
            ready.append(pending.pop(last))
        if ready:
            self.hub.deliver(ready, since)
        if not pending:
            self._pending.pop(meeting_id, None)
        if pending or self._wanted.get(meeting_id, 0) > last:
            self._fill_soon(meeting_id)

    def _fill_soon(self, meeting_id: int) -> None:
        if meeting_id not in self._filling:
            self._filling[meeting_id] = asyncio.ensure_future(self._fill(meeting_id))

    async def _fill(self, meeting_id: int) -> None:
        try:
            while await self._fill_step(meeting_id):
                pass
        except Exception:
            log.warning("Could not read missing events of meeting %s; retrying on the next poll.", meeting_id, exc_info=True)
        finally:
            self._filling.pop(meeting_id, None)

    async def _fill_step(self, meeting_id: int) -> bool:
        """Read the events of one gap from the database; True if more is missing."""
        last = self.hub.delivered[meeting_id]
        target = max([self._wanted.get(meeting_id, 0), *self._pending.get(meeting_id, {})])
        if target <= last:
            self._wanted.pop(meeting_id, None)
            return False
        if meeting_id not in self.hub.rooms or target - last > self.resync_limit:
            self._skip_to(meeting_id, target)
            return False
        events = await self.store.read(list_events_since, meeting_id, last, FILL_BATCH)
        fresh = [e for e in events if e.seq > self.hub.delivered[meeting_id]]
        self.gap_fills += len(fresh)
        self.offer(fresh)
        return bool(fresh) and self.hub.delivered[meeting_id] < target

    def _skip_to(self, meeting_id: int, seq: int) -> None:
        """Too far behind (or nobody here to tell): continue from ``seq``."""
        self.hub.delivered[meeting_id] = seq
        self._pending.pop(meeting_id, None)
        self._wanted.pop(meeting_id, None)
        room = self.hub.rooms.get(meeting_id)
        for conn in room or ():
            conn.resync()

    # -- the safety net ------------------------------------------------------

    async def poll_forever(self) -> None:
        """Ask the database for the latest sequence of each live meeting."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            live = [m for m in self.hub.rooms if m in self.hub.delivered]
            if not live:
                continue
            try:
                latest = await self.store.read(latest_seqs, live)
            except Exception:
                log.warning("Could not poll the latest sequences.", exc_info=True)
                continue
            for meeting_id, seq in latest.items():
                self.announce(meeting_id, seq)


class PostgresBroker(LocalBroker):
    """Several processes on one PostgreSQL database: LISTEN/NOTIFY."""

    name = "postgres"

    def __init__(self, hub: Hub, store: Store, resync_limit: int = 500) -> None:
        super().__init__(hub, store, resync_limit)
        self.conninfo = libpq_url(store.url)
        self._up = False

    async def start(self) -> None:
        await super().start()
        self.store.before_commit = notify_in_transaction
        self._tasks += [asyncio.ensure_future(self._listen_forever()),
                        asyncio.ensure_future(self.poll_forever())]

    async def stop(self) -> None:
        self.store.before_commit = None
        await super().stop()

    def is_up(self) -> bool:
        return self._up

    async def _listen_forever(self) -> None:
        import psycopg

        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._up, attempt = True, 0
                    await self._catch_up_all()
                    async for note in conn.notifies():
                        self._heard(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Lost the PostgreSQL notification channel (%s); reconnecting.", exc)
            self._up = False
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1

    def _heard(self, payload: str) -> None:
        for part in payload.split(","):
            meeting, _, seq = part.partition(":")
            if meeting.isdigit() and seq.isdigit():
                self.announce(int(meeting), int(seq))

    async def _catch_up_all(self) -> None:
        live = [m for m in self.hub.rooms if m in self.hub.delivered]
        if live:
            for meeting_id, seq in (await self.store.read(latest_seqs, live)).items():
                self.announce(meeting_id, seq)


def notify_in_transaction(session: Session, events: list[PublishedEvent]) -> None:
    """NOTIFY the other processes of the newest sequence per meeting, before commit."""
    from sqlalchemy import text

    newest: dict[int, int] = {}
    for event in events:
        newest[event.meeting_id] = max(event.seq, newest.get(event.meeting_id, 0))
    payload = ",".join(f"{m}:{s}" for m, s in newest.items())
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload})


class RedisBroker(LocalBroker):
    """Several processes, and a Redis server for pub/sub."""

    name = "redis"

    def __init__(self, hub: Hub, store: Store, redis_url: str, resync_limit: int = 500) -> None:
        super().__init__(hub, store, resync_limit)
        self.redis_url = redis_url
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._up = False

    async def start(self) -> None:
        await super().start()
        self._tasks += [asyncio.ensure_future(self._subscribe_forever()),
                        asyncio.ensure_future(self._publish_forever()),
                        asyncio.ensure_future(self.poll_forever())]

    def is_up(self) -> bool:
        return self._up

    def local_commit(self, events: list[PublishedEvent], since: float) -> None:
        self.offer(events, since)
        self._outbox.put_nowait(encode_events(self.origin, events))

    async def _publish_forever(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.redis_url)
        try:
            while True:
                message = await self._outbox.get()
                try:
                    await client.publish(CHANNEL, message)
                except Exception as exc:  # the others catch up by polling
                    log.warning("Could not publish to Redis (%s).", exc)
        finally:
            await client.aclose()

    async def _subscribe_forever(self) -> None:
        import redis.asyncio as aioredis

        attempt = 0
        while True:
            client = aioredis.from_url(self.redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._up, attempt = True, 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Lost the Redis subscription (%s); reconnecting.", exc)
            finally:
                self._up = False
                await client.aclose()
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1

    def _heard(self, data: bytes | str) -> None:
        origin, events = decode_events(data)
        if origin != self.origin:
            self.offer(events, time.monotonic())


def encode_events(origin: str, events: list[PublishedEvent]) -> str:
    return json.dumps({"origin": origin, "events": [
        [e.meeting_id, e.seq, e.type, e.audience, e.payload] for e in events]},
        ensure_ascii=False, default=str)


def decode_events(data: bytes | str) -> tuple[str, list[PublishedEvent]]:
    message = json.loads(data)
    return message["origin"], [PublishedEvent(*row) for row in message["events"]]


def latest_seq(session: Session, meeting_id: int) -> int:
    meeting = session.get(Meeting, meeting_id)
    return meeting.last_seq if meeting else 0


def latest_seqs(session: Session, meeting_ids: list[int]) -> dict[int, int]:
    stmt = select(Meeting.id, Meeting.last_seq).where(col(Meeting.id).in_(meeting_ids))
    return {meeting_id: seq for meeting_id, seq in session.exec(stmt)}


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL of the database as a libpq connection string."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def choose_broker(settings: Settings) -> str:
    """Which broker ``PLENARY_BROKER`` asks for; ``auto`` picks by database."""
    wanted = settings.broker.lower()
    url = settings.resolved_database_url
    if wanted == "auto":
        if settings.redis_url:
            return "redis"
        return "local" if is_sqlite(url) else "postgres"
    if wanted not in ("local", "postgres", "redis"):
        raise SystemExit(f"PLENARY_BROKER={settings.broker!r} is not one of auto, local, postgres, redis.")
    if wanted == "postgres" and is_sqlite(url):
        raise SystemExit("PLENARY_BROKER=postgres needs PLENARY_DATABASE_URL to point to PostgreSQL.")
    if wanted == "redis" and not settings.redis_url:
        raise SystemExit("PLENARY_BROKER=redis needs PLENARY_REDIS_URL, for example redis://127.0.0.1:6379/0.")
    return wanted


def make_broker(settings: Settings, hub: Hub, store: Store) -> LocalBroker:
    kind = choose_broker(settings)
    if kind == "postgres":
        return PostgresBroker(hub, store, settings.resync_limit)
    if kind == "redis":
        return RedisBroker(hub, store, settings.redis_url, settings.resync_limit)
    return LocalBroker(hub, store, settings.resync_limit)


def describe(broker: Any) -> dict[str, Any]:
    return {"broker": broker.name, "up": broker.is_up()}
