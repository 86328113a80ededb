"""The hub: live connections per meeting and the fan-out of committed events.

Rules:
- An event is encoded to JSON once, then queued on every connection whose viewer
  belongs to the event's audience; no connection ever sees another audience's
  event.
- Each connection has a bounded queue and its own sender task, so a tablet that
  stops reading never delays the others. When its queue overflows, the queue is
  dropped and the tablet gets a fresh snapshot instead.
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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from server.access import Viewer
from server.eventlog import AUDIENCE_STAFF, PublishedEvent

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
SnapshotText = Callable[[Viewer], Awaitable[tuple[int, str]]]
PRESENCE_DELAY = 0.5
SEND_TIMEOUT = 30.0


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(eq=False)
class Connection:
    viewer: Viewer
    send: Send
    limit: int
    sent_seq: int = 0
    queue: deque = field(default_factory=deque)
    replies: deque = field(default_factory=deque)
    overflowed: bool = False
    closed: bool = False
    last_heard: float = field(default_factory=time.monotonic)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, seq: int | None, text: str) -> None:
        if self.closed:
            return
        if len(self.queue) >= self.limit:
            self.overflowed = True
            self.queue.clear()
        else:
            self.queue.append((seq, text))
        self.wake.set()

    def reply(self, text: str) -> None:
        """Answers to this tablet's own commands: never dropped on overflow."""
        self.replies.append(text)
        self.wake.set()


@dataclass
class Metrics:
    connections: int = 0
    connects_total: int = 0
    overflows_total: int = 0
    resyncs_total: int = 0
    snapshots_total: int = 0
    events_total: int = 0
    dead_total: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0


class Hub:
    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self.rooms: dict[int, set[Connection]] = {}
        self.metrics = Metrics()
        self._presence_pending: set[int] = set()

    # -- membership ----------------------------------------------------------

    def join(self, viewer: Viewer, send: Send) -> Connection:
        conn = Connection(viewer, send, self.queue_limit)
        self.rooms.setdefault(viewer.meeting_id, set()).add(conn)
        self.metrics.connections += 1
        self.metrics.connects_total += 1
        self._presence_changed(viewer.meeting_id)
        return conn

    def leave(self, conn: Connection) -> None:
        conn.closed = True
        conn.wake.set()
        room = self.rooms.get(conn.viewer.meeting_id)
        if room is None or conn not in room:
            return
        room.discard(conn)
        self.metrics.connections -= 1
        if not room:
            del self.rooms[conn.viewer.meeting_id]
        self._presence_changed(conn.viewer.meeting_id)

    def connected_ids(self, meeting_id: int) -> list[int]:
        room = self.rooms.get(meeting_id, ())
        return sorted({c.viewer.participant_id for c in room
                       if c.viewer.participant_id is not None})

    # -- fan-out -------------------------------------------------------------

    def deliver(self, events: Iterable[PublishedEvent]) -> None:
        """Queue committed events, in order, on every connection allowed to see them."""
        for event in events:
            room = self.rooms.get(event.meeting_id)
            self.metrics.events_total += 1
            if not room:
                continue
            text = encode(event.message())
            for conn in room:
                if event.audience in conn.viewer.audiences:
                    conn.push(event.seq, text)

    def _presence_changed(self, meeting_id: int) -> None:
        if meeting_id in self._presence_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._presence_pending.add(meeting_id)
        loop.call_later(PRESENCE_DELAY, self._send_presence, meeting_id)

    def _send_presence(self, meeting_id: int) -> None:
        self._presence_pending.discard(meeting_id)
        text = encode({"type": "presence", "meeting": meeting_id,
                       "connected": self.connected_ids(meeting_id)})
        for conn in self.rooms.get(meeting_id, ()):
            if AUDIENCE_STAFF in conn.viewer.audiences:
                conn.push(None, text)

    def dead_connections(self, older_than: float) -> list[Connection]:
        now = time.monotonic()
        return [conn for room in self.rooms.values() for conn in room
                if now - conn.last_heard > older_than]


async def run_sender(conn: Connection, hub: Hub, snapshot: SnapshotText) -> None:
    """Send what is queued for one connection, in order, until it closes."""
    while not conn.closed:
        await conn.wake.wait()
        conn.wake.clear()
        while (conn.replies or conn.queue or conn.overflowed) and not conn.closed:
            await _send_next(conn, hub, snapshot)


async def _send_next(conn: Connection, hub: Hub, snapshot: SnapshotText) -> None:
    if conn.replies:
        await _send(conn, conn.replies.popleft())
    elif conn.overflowed:
        conn.overflowed = False
        hub.metrics.overflows_total += 1
        await send_snapshot(conn, hub, snapshot)
    else:
        seq, text = conn.queue.popleft()
        if seq is not None and seq <= conn.sent_seq:
            return
        await _send(conn, text)
        if seq is not None:
            conn.sent_seq = seq


async def send_snapshot(conn: Connection, hub: Hub, snapshot: SnapshotText) -> None:
    seq, text = await snapshot(conn.viewer)
    hub.metrics.snapshots_total += 1
    await _send(conn, text)
    conn.sent_seq = max(conn.sent_seq, seq)


async def _send(conn: Connection, text: str) -> None:
    try:
        await asyncio.wait_for(conn.send(text), SEND_TIMEOUT)
    except Exception:
        # A tablet that cannot take a message within the timeout is dropped; it
        # reconnects and catches up from its last sequence.
        conn.closed = True
        raise ConnectionClosedError() from None


class ConnectionClosedError(Exception):
    """The connection could not take a message and was dropped."""
