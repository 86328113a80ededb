"""The WebSocket endpoint: one socket per tablet, following one meeting.

The protocol is written down in docs/protocol.md. In short: the tablet says
``hello`` with the last sequence it applied, gets what it missed (or a
snapshot), then live events; it sends commands with its own ids and gets an
``ack`` or an ``error`` for each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.access import Viewer, check_projector_key, get_viewer
from server.commands import ensure_command_id, execute
from server.errors import InvalidInputError, MeetingError, RateLimitedError
from server.eventlog import PublishedEvent, list_events_since
from server.models import Meeting
from server.broker import make_broker
from server.realtime import Connection, Hub, SnapshotText, encode
from server.snapshot import build_snapshot
from server.web.limits import CommandLimiter, parse_message, person_key

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_FRAME = 64 * 1024
HELLO_TIMEOUT = 15.0
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
HEARTBEAT_PARTS = 15  # at the default 15 s: a fifteenth of the hall pinged every second
# Events after which a reconnecting tablet reloads everything instead of catching up.
SNAPSHOT_EVENTS = frozenset({"meeting.changed", "meeting.imported"})


async def meeting_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        viewer = await _authenticate(websocket)
        async with asyncio.timeout(HELLO_TIMEOUT):  # no extra task per socket, unlike wait_for
            hello = await _receive_json(websocket)
        last_seq = _check_hello(hello, viewer)
    except MeetingError as exc:
        await _refuse(websocket, exc)
        return
    except (asyncio.TimeoutError, WebSocketDisconnect):
        await _close(websocket, CLOSE_POLICY)
        return
    await _serve(websocket, viewer, last_seq)


async def _serve(websocket: WebSocket, viewer: Viewer, last_seq: int | None) -> None:
    hub: Hub = websocket.app.state.hub
    await websocket.app.state.broker.track(viewer.meeting_id)
    conn = hub.join(viewer, websocket.send_text, websocket.close)
    log.debug("Tablet connected: meeting %s, %s", viewer.meeting_id, viewer.role)
    try:
        await _catch_up(websocket, conn, hub, last_seq)
        conn.start()
        await _receive_loop(websocket, conn)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        conn.fail()
        log.debug("Tablet disconnected: meeting %s, %s", viewer.meeting_id, viewer.role)


async def _catch_up(websocket: WebSocket, conn: Connection, hub: Hub,
                    last_seq: int | None) -> None:
    """Send what the tablet missed since ``last_seq``, or a snapshot.

    Live events that arrive meanwhile wait in the connection's queue; those the
    catch-up already covered are skipped by their sequence number.
    """
    reads: ReadBatch = websocket.app.state.socket_reads
    limit = websocket.app.state.settings.resync_limit
    viewer = conn.viewer
    latest, events = await reads.read(_missed_since, viewer.meeting_id, last_seq, limit)
    await conn.send(encode({"type": "welcome", "meeting": viewer.meeting_id,
                            "seq": latest, "viewer": viewer.as_dict(),
                            "server_time": time.time()}))
    if events is None or len(events) > limit or any(e.type in SNAPSHOT_EVENTS for e in events):
        await hub.send_snapshot(conn)
        return
    hub.metrics.resyncs_total += 1
    for event in events:
        if event.audience in viewer.audiences:
            await conn.send(encode(event.message()))
    conn.sent_seq = max(last_seq or 0, events[-1].seq if events else last_seq or 0)
    await conn.send(encode({"type": "synced", "meeting": viewer.meeting_id,
                            "seq": conn.sent_seq, "missed": len(events)}))


def _missed_since(session: Any, meeting_id: int, last_seq: int | None,
                  limit: int) -> tuple[int, list[PublishedEvent] | None]:
    """The latest sequence, and the events after ``last_seq`` (None: load a snapshot)."""
    meeting = session.get(Meeting, meeting_id)
    latest = meeting.last_seq if meeting else 0
    if last_seq is None or last_seq > latest:
        return latest, None
    return latest, list_events_since(session, meeting_id, last_seq, limit + 1)


class ReadBatch:
    """Socket reads that queue up while one is running go to the database together.

    In a reconnect storm every tablet needs its login and what it missed. One
    thread hop and one read transaction for all that waited costs far less than
    one each, and keeps the reader threads from taking the interpreter lock from
    the event loop a thousand times a second. A read still begins after it was
    asked for, so it sees every event committed before its tablet joined the hub.
    """

    def __init__(self, store: Any, most: int = 256) -> None:
        self.store, self.most = store, most
        self.pending: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future]] = []
        self.running = False

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending.append((fn, args, future))
        if not self.running:
            self.running = True
            asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:self.most], self.pending[self.most:]
                jobs = [(fn, args) for fn, args, _ in batch]
                try:
                    outcomes = await self.store.read(_read_each, jobs)
                except Exception as exc:  # the read itself failed: tell every tablet in it
                    outcomes = [(False, exc)] * len(batch)
                for (_fn, _args, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # its tablet left meanwhile
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.running = False


def _read_each(session: Any, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    for fn, args in jobs:
        try:
            outcomes.append((True, fn(session, *args)))
        except MeetingError as exc:  # one tablet's refusal, e.g. an ended login
            outcomes.append((False, exc))
    return outcomes


def snapshot_source(store: Any) -> SnapshotText:
    """What the hub calls for a viewer's snapshot: (its sequence, the encoded message)."""
    async def snapshot(viewer: Viewer) -> tuple[int, str]:
        data = await store.read(build_snapshot, viewer.meeting_id, viewer)
        message = {"type": "snapshot", "meeting": viewer.meeting_id,
                   "seq": data["seq"], "data": data}
        return data["seq"], encode(message)
    return snapshot


async def _receive_loop(websocket: WebSocket, conn: Connection) -> None:
    limiter: CommandLimiter = websocket.app.state.command_limits
    who = person_key(conn.viewer.participant_id, conn.viewer.meeting_id)
    while not conn.closed:
        try:
            message = await _receive_json(websocket)
        except WebSocketDisconnect:
            return
        except InvalidInputError as exc:
            conn.reply(encode({"type": "error", "id": None, **exc.as_dict()}))
            if "too large" in exc.message:
                await conn.flush()
                await _close(websocket, CLOSE_TOO_BIG)
                return
            continue
        conn.last_heard = time.monotonic()
        await _handle(websocket, conn, message, limiter, who)


async def _handle(websocket: WebSocket, conn: Connection, message: dict,
                  limiter: CommandLimiter, who: str) -> None:
    kind = message.get("type")
    if kind == "ping":
        conn.reply(encode({"type": "pong", "t": message.get("t")}))
    elif kind == "pong":
        return
    elif kind == "command":
        await _run_command(websocket, conn, message, limiter, who)
    elif kind == "sync":
        try:
            limiter.ensure_allowed(who, cost=3.0)  # a snapshot costs more than a command
        except RateLimitedError as exc:
            conn.reply(encode({"type": "error", "id": None, **exc.as_dict()}))
            return
        conn.resync()
    else:
        error = InvalidInputError("The server does not understand messages of type {kind}.", kind=str(kind)[:40])
        conn.reply(encode({"type": "error", "id": None, **error.as_dict()}))


async def _run_command(websocket: WebSocket, conn: Connection, message: dict,
                       limiter: CommandLimiter, who: str) -> None:
    command_id = message.get("id")
    try:
        limiter.ensure_allowed(who)
        command_id = ensure_command_id(command_id)
        meeting = message.get("meeting", conn.viewer.meeting_id)
        if meeting != conn.viewer.meeting_id:
            raise InvalidInputError("This command is for another meeting than the one this tablet follows. Reload the page.")
        args = message.get("args") or {}
        if not isinstance(args, dict):
            raise InvalidInputError("The command's args must be an object.")
        store = websocket.app.state.store
        response = await store.write(execute, conn.viewer, message.get("name"), command_id, args)
        conn.reply(encode({"type": "ack", "id": command_id, **response}))
    except MeetingError as exc:
        conn.reply(encode({"type": "error", "id": _safe_id(command_id), **exc.as_dict()}))


def _safe_id(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 64 else None


async def _receive_json(websocket: WebSocket) -> dict:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise InvalidInputError("Send messages as JSON text, not binary frames.")
    if len(text) > MAX_FRAME:
        raise InvalidInputError("The message is too large: at most 64 KB are accepted.")
    return parse_message(text)


async def _authenticate(websocket: WebSocket) -> Viewer:
    reads: ReadBatch = websocket.app.state.socket_reads
    projector = websocket.query_params.get("projector")
    if projector is not None and projector.isdigit():
        key = websocket.query_params.get("key", "")
        return await reads.read(check_projector_key, int(projector), key)
    return await reads.read(get_viewer, websocket.session.get("token"))


def _check_hello(hello: dict, viewer: Viewer) -> int | None:
    if hello.get("type") != "hello":
        raise InvalidInputError("Start with a hello message that names the meeting.")
    if hello.get("meeting") != viewer.meeting_id:
        raise InvalidInputError("This tablet is logged in to another meeting. Reload the page.")
    last_seq = hello.get("last_seq")
    if last_seq is None:
        return None
    if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
        raise InvalidInputError("last_seq must be a whole number of at least 0, or null.")
    return last_seq


async def _refuse(websocket: WebSocket, exc: MeetingError) -> None:
    try:
        await websocket.send_text(encode({"type": "error", "id": None, **exc.as_dict()}))
    except Exception:
        pass
    await _close(websocket, 4000 + exc.status)


async def _close(websocket: WebSocket, code: int) -> None:
    try:
        await websocket.close(code)
    except Exception:
        pass


async def reap_dead(hub: Hub, heartbeat: float, parts: int = HEARTBEAT_PARTS) -> None:
    """Every heartbeat: drop silent or stuck tablets, then ping the others.

    The hall is handled in ``parts`` shares, one share every heartbeat/parts
    seconds, so every tablet still hears a ping once per heartbeat.
    """
    part = 0
    while True:
        await asyncio.sleep(heartbeat / parts)
        hub.reap(heartbeat, part, parts)
        part = (part + 1) % parts


async def start_realtime(app: Any) -> Callable[[], Awaitable[None]]:
    """Start the hub, the broker and the heartbeat; return what stops them."""
    settings, store = app.state.settings, app.state.store
    hub = Hub(settings.queue_limit, snapshot=snapshot_source(store))
    broker = make_broker(settings, hub, store)
    await broker.start()
    reaper = asyncio.ensure_future(reap_dead(hub, settings.heartbeat_seconds))
    app.state.hub, app.state.broker = hub, broker
    app.state.socket_reads = ReadBatch(store)

    async def stop() -> None:
        reaper.cancel()
        await broker.stop()
    return stop


routes = [WebSocketRoute("/ws", meeting_socket)]
