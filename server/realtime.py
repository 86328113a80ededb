"""The hub: live connections per meeting and the fan-out of committed events.

Rules:
- An event is encoded to JSON once, then handed to every connection of its
  audience. Connections are kept in one bucket per audience, so the hub only
  looks at the tablets that may see an event; no connection ever sees another
  audience's event.
- The hub hands events of one meeting on in sequence order, never twice: an
  event at or below the last delivered sequence is dropped.
- A connection writes to its socket directly while the socket takes data. When
  the socket is full, further messages wait in the connection's bounded queue and
  one task per busy connection drains it, so a tablet that stops reading never
  delays the others. When its queue overflows, the queue is dropped and the
  tablet gets a fresh snapshot instead; when one send makes no progress for
  ``SEND_TIMEOUT`` seconds, the tablet is dropped.
- A connection sends nothing older than what it already sent: catch-up and live
  events meet without gaps and without repeats.
- Staff see who is connected; that list is not part of the record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from server.access import Viewer
from server.eventlog import AUDIENCE_STAFF, PublishedEvent
from server.metrics import Histogram

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]
SnapshotText = Callable[[Viewer], Awaitable[tuple[int, str]]]
PRESENCE_DELAY = 0.5
SEND_TIMEOUT = 30.0
CLOSE_GOING_AWAY = 1001
CLOSE_LOGGED_OUT = 4401  # the tablet shows "Logged out" and stops reconnecting


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)


class Connection:
    """One tablet's socket: what it was sent, and what waits to be sent."""

    __slots__ = ("viewer", "send", "close", "limit", "sent_seq", "queue", "replies",
                 "overflowed", "closed", "busy", "last_heard", "progress", "task",
                 "hub", "number")

    def __init__(self, viewer: Viewer, send: Send, limit: int,
                 close: Close | None = None) -> None:
        self.viewer = viewer
        self.send = send
        self.close = close
        self.limit = limit
        self.sent_seq = 0
        self.queue: deque[tuple[int | None, str]] = deque()
        self.replies: deque[str] = deque()
        self.overflowed = False
        self.closed = False
        # True while someone writes to the socket: the catch-up, or a drain task.
        self.busy = True
        self.last_heard = self.progress = time.monotonic()
        self.task: asyncio.Task | None = None
        self.hub: Hub | None = None
        self.number = 0  # order of joining: picks its share of the heartbeat

    def push(self, seq: int | None, text: str) -> None:
        """Send a live message now, or queue it behind what is still being sent."""
        if self.closed or (seq is not None and seq <= self.sent_seq):
            return
        if not self.busy:
            if seq is not None:
                self.sent_seq = seq
            self._write(text)
        elif len(self.queue) >= self.limit:
            self.overflowed = True
            self.queue.clear()
            if self.hub is not None:
                self.hub.metrics.overflows_total += 1
        else:
            self.queue.append((seq, text))

    def reply(self, text: str) -> None:
        """Answers to this tablet's own commands: never dropped on overflow."""
        if self.closed:
            return
        if self.busy:
            self.replies.append(text)
        else:
            self._write(text)

    def _write(self, text: str) -> None:
        # Run the send until it has to wait: on a socket that takes data it
        # finishes at once, without a task; otherwise a task finishes it.
        coro = self.send(text)
        try:
            waiter = coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return
        except Exception:
            self.fail()
            return
        self.busy = True
        self.progress = time.monotonic()
        self.task = asyncio.ensure_future(self._drain(coro, waiter))

    async def _drain(self, coro: Coroutine | None = None, waiter: Any = None) -> None:
        try:
            if coro is not None:
                await _finish(coro, waiter)
            while not self.closed and (self.replies or self.queue or self.overflowed):
                self.progress = time.monotonic()
                await self._send_next()
        except asyncio.CancelledError:
            return
        except Exception:
            self.fail()
            return
        self.task = None
        self.busy = False

    async def _send_next(self) -> None:
        if self.replies:
            await self.send(self.replies.popleft())
        elif self.overflowed:
            self.overflowed = False
            if self.hub is not None:
                await self.hub.send_snapshot(self)
        else:
            seq, text = self.queue.popleft()
            if seq is not None:
                if seq <= self.sent_seq:
                    return
                self.sent_seq = seq
            await self.send(text)

    def start(self) -> None:
        """The catch-up is done: send what queued up meanwhile, then go live."""
        if self.closed:
            return
        if self.replies or self.queue or self.overflowed:
            self.task = asyncio.ensure_future(self._drain())
        else:
            self.busy = False

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (a little) until what is queued went out, e.g. before closing."""
        task = self.task
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait((task,), timeout=timeout)

    def resync(self) -> None:
        """Drop what is queued: the tablet gets a fresh snapshot next."""
        if self.closed:
            return
        self.queue.clear()
        self.overflowed = True
        if not self.busy:
            self.busy = True
            self.task = asyncio.ensure_future(self._drain())

    def is_stalled(self, now: float) -> bool:
        return self.task is not None and now - self.progress > SEND_TIMEOUT

    def fail(self) -> None:
        """The socket is gone or stuck: stop sending and let the hub forget it."""
        if self.closed:
            return
        self.closed = True
        self.queue.clear()
        self.replies.clear()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        if self.hub is not None:
            self.hub.leave(self)


async def _finish(coro: Coroutine, waiter: Any) -> None:
    """Resume a coroutine that ``_write`` started and that had to wait."""
    try:
        while True:
            if waiter is None:
                await asyncio.sleep(0)
            else:  # wait without taking the outcome: the coroutine reads it
                await asyncio.wait((waiter,))
            try:
                waiter = coro.send(None)
            except StopIteration:
                return
    finally:
        coro.close()


class Room:
    """The connections of one meeting in this process, by audience."""

    __slots__ = ("buckets", "size")

    def __init__(self) -> None:
        self.buckets: dict[str, set[Connection]] = {}
        self.size = 0

    def add(self, conn: Connection) -> None:
        for audience in conn.viewer.audiences:
            self.buckets.setdefault(audience, set()).add(conn)
        self.size += 1

    def discard(self, conn: Connection) -> bool:
        found = False
        for audience in conn.viewer.audiences:
            bucket = self.buckets.get(audience)
            if bucket is not None and conn in bucket:
                found = True
                bucket.discard(conn)
                if not bucket:
                    del self.buckets[audience]
        if found:
            self.size -= 1
        return found

    def audience(self, name: str) -> tuple[Connection, ...]:
        return tuple(self.buckets.get(name, ()))

    def __iter__(self):
        return iter(self.audience("all"))


class Metrics:
    def __init__(self) -> None:
        self.connections = 0
        self.connects_total = 0
        self.overflows_total = 0
        self.resyncs_total = 0
        self.snapshots_total = 0
        self.events_total = 0
        self.dead_total = 0
        self.stalled_total = 0
        self.broadcast = Histogram()  # seconds from commit to the last socket


class Hub:
    def __init__(self, queue_limit: int = 256, snapshot: SnapshotText | None = None) -> None:
        self.queue_limit = queue_limit
        self.snapshot = snapshot
        self.rooms: dict[int, Room] = {}
        self.delivered: dict[int, int] = {}  # meeting -> last sequence handed on
        self.metrics = Metrics()
        self._presence_pending: set[int] = set()

    # -- membership ----------------------------------------------------------

    def join(self, viewer: Viewer, send: Send, close: Close | None = None) -> Connection:
        """Add a connection; it stays quiet until :meth:`Connection.start`."""
        conn = Connection(viewer, send, self.queue_limit, close)
        conn.hub = self
        self.rooms.setdefault(viewer.meeting_id, Room()).add(conn)
        self.metrics.connections += 1
        self.metrics.connects_total += 1
        conn.number = self.metrics.connects_total
        self._presence_changed(viewer.meeting_id)
        return conn

    def leave(self, conn: Connection) -> None:
        conn.closed = True
        room = self.rooms.get(conn.viewer.meeting_id)
        if room is None or not room.discard(conn):
            return
        self.metrics.connections -= 1
        if not room.size:
            del self.rooms[conn.viewer.meeting_id]
        self._presence_changed(conn.viewer.meeting_id)

    def connected_ids(self, meeting_id: int) -> list[int]:
        room = self.rooms.get(meeting_id)
        if room is None:
            return []
        return sorted({c.viewer.participant_id for c in room
                       if c.viewer.participant_id is not None})

    def connections(self) -> list[Connection]:
        return [conn for room in self.rooms.values() for conn in room]

    # -- fan-out -------------------------------------------------------------

    def deliver(self, events: Iterable[PublishedEvent], since: float | None = None) -> None:
        """Hand committed events, in order, to every connection allowed to see them.

        ``since`` is when the events were committed (``time.monotonic()``), for
        the broadcast latency metric.
        """
        for event in events:
            last = self.delivered.get(event.meeting_id, 0)
            if event.seq <= last:
                continue
            self.delivered[event.meeting_id] = event.seq
            self.metrics.events_total += 1
            room = self.rooms.get(event.meeting_id)
            if room is None:
                continue
            targets = room.audience(event.audience)
            if not targets:
                continue
            text = encode(event.message())
            for conn in targets:
                conn.push(event.seq, text)
            if since is not None:
                self.metrics.broadcast.observe(time.monotonic() - since)

    async def send_snapshot(self, conn: Connection) -> None:
        """Send ``conn`` the whole state; it continues after the snapshot's sequence."""
        if self.snapshot is None:
            raise RuntimeError("the hub has no snapshot source; set Hub.snapshot")
        seq, text = await self.snapshot(conn.viewer)
        self.metrics.snapshots_total += 1
        await conn.send(text)
        conn.sent_seq = max(conn.sent_seq, seq)

    # -- presence and heartbeat ----------------------------------------------

    def _presence_changed(self, meeting_id: int) -> None:
        if meeting_id in self._presence_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._presence_pending.add(meeting_id)
        loop.call_later(PRESENCE_DELAY, self.send_presence, meeting_id)

    def send_presence(self, meeting_id: int) -> None:
        self._presence_pending.discard(meeting_id)
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        text = encode({"type": "presence", "meeting": meeting_id,
                       "connected": self.connected_ids(meeting_id)})
        for conn in room.audience(AUDIENCE_STAFF):
            conn.push(None, text)

    def reap(self, heartbeat: float, part: int = 0, parts: int = 1) -> int:
        """Drop silent and stuck connections, then ping the others; return how many went.

        With ``parts`` > 1 only every ``parts``-th connection is looked at (those
        whose number leaves ``part``), so the heartbeat of a full hall is spread
        over its interval instead of 10,000 pings and pongs at one instant, which
        would hold up a broadcast that happens to fall into it.
        """
        now = time.monotonic()
        dropped = 0
        share = [c for c in self.connections() if c.number % parts == part]
        for conn in share:
            if now - conn.last_heard > heartbeat * 2.5:
                self.metrics.dead_total += 1
            elif conn.is_stalled(now):
                self.metrics.stalled_total += 1
            else:
                continue
            dropped += 1
            self.drop(conn)
        ping = encode({"type": "ping"})
        for conn in share:
            conn.reply(ping)
        return dropped

    def drop(self, conn: Connection) -> None:
        """End a connection from the server side; the tablet reconnects later."""
        conn.fail()
        if conn.close is not None:
            asyncio.ensure_future(_close_quietly(conn.close))

    async def close_person(self, meeting_id: int, participant_id: int,
                           message: dict[str, Any],
                           code: int = CLOSE_LOGGED_OUT) -> int:
        """End every connection of one participant: send ``message``, then close.

        Used when their login sessions end; returns how many connections went.
        """
        room = self.rooms.get(meeting_id)
        conns = [c for c in room or () if c.viewer.participant_id == participant_id]
        text = encode(message)
        for conn in conns:
            conn.reply(text)
        await asyncio.gather(*(self._say_goodbye(conn, code) for conn in conns))
        return len(conns)

    async def _say_goodbye(self, conn: Connection, code: int) -> None:
        await conn.flush()  # the message, and what was queued before it
        conn.fail()  # leaves the hub: no more events, presence corrected
        if conn.close is not None:
            await _close_quietly(conn.close, code)


async def _close_quietly(close: Close, code: int = CLOSE_GOING_AWAY) -> None:
    try:
        await asyncio.wait_for(close(code), 5.0)
    except Exception:  # the socket is already gone, or too stuck to say goodbye
        pass
