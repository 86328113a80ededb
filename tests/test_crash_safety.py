"""Crash safety: a real server killed with SIGKILL mid-work keeps what it acknowledged.

Each test runs ``python -m server serve`` on a temporary data folder and a free
loopback port, drives it over WebSocket and HTTP, kills it with ``kill -9`` in the
middle of the work, starts it again on the same folder and checks the record:

- every acknowledged ballot is stored exactly once; a ballot without an answer is
  stored once or not at all; a retry after the restart never counts twice; the
  count of the closed vote agrees with the stored ballots;
- every acknowledged minutes save is there, in order, and no text is half saved;
- an upload cut off by the kill is never listed or served, and its leftover part
  file is removed at the next start once it is stale;
- a killed ``plenary import`` leaves the meeting fully imported or absent.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from websockets.asyncio.client import connect

from bench.ballots import agenda_text, prepare, session_cookie

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-ballots-secret"  # the key bench.ballots signs its cookies with
DELEGATES = 500
ALREADY_VOTED = "You have already voted on this motion. Each member has one ballot, and yours is counted."


# -- the server process ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``plenary serve`` on a data folder; started, killed with SIGKILL, started again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PLENARY_SECRET_KEY": SECRET, "PLENARY_LOG_LEVEL": "warning",
               "PLENARY_COMMAND_RATE": "100000", "PLENARY_HEARTBEAT_SECONDS": "60"}
        log = (self.data_dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--data-dir", str(self.data_dir), "serve",
             "--port", str(self.port)], cwd=REPO, env=env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                httpx.get(f"{self.http}/healthz", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the server did not start: "
                             + (self.data_dir / "server.log").read_text()[-2000:])

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "var")
    yield running
    running.stop()


def query(data_dir: Path, sql: str, **params: Any) -> list[tuple]:
    """Read the database file directly, as the restarted server will find it."""
    engine = create_engine(f"sqlite:///{data_dir / 'plenary.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def login(data_dir: Path, role: str, meeting_id: int) -> str:
    """A session cookie for the first participant with ``role`` (written before start)."""
    from server.db import Store
    from server.models import LoginSession

    pid = query(data_dir, "SELECT id FROM participant WHERE meeting_id = :m AND role = :r "
                "ORDER BY id LIMIT 1", m=meeting_id, r=role)[0][0]
    token = secrets.token_urlsafe(32)
    store = Store(f"sqlite:///{data_dir / 'plenary.db'}")
    try:
        store.write_sync(lambda s: s.add(LoginSession(token=token, participant_id=pid)))
    finally:
        store.close()
    return session_cookie(token)


async def open_socket(server: Server, cookie: str, meeting: int):
    ws = await connect(f"ws://127.0.0.1:{server.port}/ws", compression=None,
                       additional_headers={"Cookie": f"plenary_session={cookie}"},
                       max_size=2**23, open_timeout=60, ping_interval=None)
    await ws.send(json.dumps({"type": "hello", "meeting": meeting, "last_seq": None}))
    while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "snapshot":
        pass
    return ws


async def gone(ws) -> None:
    """Close a socket whose server was killed."""
    try:
        await asyncio.wait_for(ws.close(), 5)
    except (OSError, asyncio.TimeoutError):
        ws.transport.abort()


# -- ballots ------------------------------------------------------------------------


async def cast_until_killed(server: Server, prep: dict, kill_after: int) -> tuple[set, set]:
    """Every delegate casts (paced over half a second); kill -9 after ``kill_after`` acks.

    Returns the indexes of the ballots acknowledged and of those sent.
    """
    sockets = []
    for at in range(0, len(prep["cookies"]), 100):
        sockets += await asyncio.gather(*(open_socket(server, c, prep["meeting"])
                                          for c in prep["cookies"][at:at + 100]))
    acked: set[int] = set()
    sent: set[int] = set()
    enough = asyncio.Event()

    async def vote(i: int, ws) -> None:
        await asyncio.sleep(i * 0.001)
        message = {"type": "command", "id": f"b-{i}", "name": "poll.cast",
                   "args": {"poll_id": prep["poll"], "choice": ("yes", "no", "abstain")[i % 3]}}
        try:
            await ws.send(json.dumps(message))
            sent.add(i)
            async for raw in ws:
                reply = json.loads(raw)
                if reply.get("type") == "ack" and reply["id"] == f"b-{i}":
                    acked.add(i)
                    if len(acked) >= kill_after:
                        enough.set()
                    return
        except Exception:  # the server went away mid-message
            return

    tasks = [asyncio.ensure_future(vote(i, ws)) for i, ws in enumerate(sockets)]
    await asyncio.wait_for(enough.wait(), 60)
    server.kill()
    seen = set(acked)  # only what was acknowledged before the kill counts
    await asyncio.wait(tasks, timeout=20)
    await asyncio.gather(*(gone(ws) for ws in sockets))
    return seen, sent


async def retry_all(server: Server, prep: dict) -> list[dict]:
    """Every tablet sends its ballot again with the same command id, over HTTP."""
    gate = asyncio.Semaphore(20)

    async def retry(client: httpx.AsyncClient, i: int) -> dict:
        async with gate:
            reply = await client.post(
                f"/api/meetings/{prep['meeting']}/commands", timeout=60,
                headers={"Cookie": f"plenary_session={prep['cookies'][i]}"},
                json={"type": "command", "id": f"b-{i}", "name": "poll.cast",
                      "args": {"poll_id": prep["poll"], "choice": "yes"}})
            return reply.json()

    async with httpx.AsyncClient(base_url=server.http) as client:
        return await asyncio.gather(*(retry(client, i) for i in range(len(prep["cookies"]))))


def stored_ballots(data_dir: Path, poll: int) -> tuple[list[int], int, int]:
    voters = [r[0] for r in query(data_dir, "SELECT participant_id FROM pollvoter WHERE poll_id = :p", p=poll)]
    ballots = query(data_dir, "SELECT count(*) FROM ballot WHERE poll_id = :p", p=poll)[0][0]
    voted = query(data_dir, "SELECT voted FROM poll WHERE id = :p", p=poll)[0][0]
    return voters, ballots, voted


def close_and_recount(data_dir: Path, prep: dict) -> tuple[dict, dict]:
    from server import voting
    from server.commands import execute
    from server.db import Store

    store = Store(prep["db"])
    try:
        store.write_sync(execute, prep["chair"], "poll.close", "close-1", {"poll_id": prep["poll"]})
        result = store.read_sync(voting.poll_result, prep["poll"])
        return result, store.read_sync(voting.recount_poll, prep["poll"])
    finally:
        store.close()


def test_acknowledged_ballots_survive_kill_9_once_and_retries_never_count_twice(server, capsys):
    prep = prepare(server.data_dir, DELEGATES)
    server.start()
    acked, sent = asyncio.run(cast_until_killed(server, prep, kill_after=DELEGATES // 3))

    voters, ballots, voted = stored_ballots(server.data_dir, prep["poll"])
    ids = query(server.data_dir, "SELECT id FROM participant WHERE role = 'delegate' ORDER BY sort_order")
    delegate = [row[0] for row in ids]
    assert len(voters) == len(set(voters)) == ballots == voted
    assert {delegate[i] for i in acked} <= set(voters)
    assert set(voters) <= {delegate[i] for i in sent}

    server.start()
    answers = asyncio.run(retry_all(server, prep))
    server.stop()
    again, ballots_after, voted_after = stored_ballots(server.data_dir, prep["poll"])
    for i, answer in enumerate(answers):
        if delegate[i] in voters:  # stored before the kill: the retry is refused, not counted
            assert answer.get("error", {}).get("message") == ALREADY_VOTED, (i, answer)
        else:
            assert answer.get("result", {}).get("recorded") is True, (i, answer)
    assert len(again) == len(set(again)) == ballots_after == voted_after == DELEGATES

    result, recount = close_and_recount(server.data_dir, prep)
    assert recount["matches"] is True
    assert recount["recount"]["ballots"] == DELEGATES
    with capsys.disabled():
        print(f"\n  ballots: {len(sent)} sent, {len(acked)} acknowledged before kill -9, "
              f"{len(voters)} stored after restart; {DELEGATES - len(voters)} cast again after it")


# -- minutes autosave ----------------------------------------------------------------

SPOKEN = "Đại biểu phát biểu về dự thảo nghị quyết: đồng ý với tờ trình của Ủy ban. " * 3


async def type_until_killed(server: Server, cookie: str, meeting: int, item: int,
                            kill_after: int) -> int:
    """Autosave after every keystroke, each save waiting for its ack; kill -9 mid-save."""
    ws = await open_socket(server, cookie, meeting)
    revision = 0
    for n in range(1, len(SPOKEN) + 1):
        await ws.send(json.dumps({"type": "command", "id": f"k-{n}", "name": "minutes.save", "args": {
            "item_id": item, "kind": "summary", "text": SPOKEN[:n], "base_revision": revision}}))
        if n == kill_after + 1:  # this save is on its way: kill now
            server.kill()
            await gone(ws)
            return revision
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if reply.get("id") == f"k-{n}":
                assert reply["type"] == "ack", reply
                revision = reply["result"]["revision"]
                break
    raise AssertionError("the text ended before the kill")


def test_acknowledged_minutes_keystrokes_survive_kill_9_in_order(server, tmp_path):
    prep = prepare(server.data_dir, 3)
    cookie = login(server.data_dir, "secretary", prep["meeting"])
    item = query(server.data_dir, "SELECT id FROM agendaitem WHERE meeting_id = :m", m=prep["meeting"])[0][0]
    server.start()

    acked = asyncio.run(type_until_killed(server, cookie, prep["meeting"], item, kill_after=60))
    server.start()
    reply = httpx.get(f"{server.http}/api/meetings/{prep['meeting']}/minutes",
                      cookies={"plenary_session": cookie}, timeout=30)

    (revision, saved), = query(server.data_dir, "SELECT revision, text FROM minutes_section "
                                                "WHERE item_id = :i", i=item)
    assert acked == 60 and revision in (60, 61)  # the save in flight: stored whole or not at all
    assert saved == SPOKEN[:revision]
    kept = query(server.data_dir, "SELECT revision, text FROM minutes_revision ORDER BY id")
    assert kept == [(n, SPOKEN[:n]) for n in range(1, revision)]
    assert reply.status_code == 200


# -- document upload -----------------------------------------------------------------


def start_upload(server: Server, cookie: str, meeting: int, total: int, send: int) -> socket.socket:
    """An upload of ``total`` bytes of which only ``send`` arrive before the kill."""
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (f"POST /api/meetings/{meeting}/documents?filename=big.pdf&title=Big HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nCookie: plenary_session={cookie}\r\n"
            f"Content-Type: application/pdf\r\nContent-Length: {total}\r\n\r\n")
    conn.sendall(head.encode() + b"%PDF-1.7\n")
    chunk = b"0" * 65536
    for _ in range(send // len(chunk)):
        conn.sendall(chunk)
    return conn


def parts_left(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "documents").rglob("*.part"))


def test_an_upload_cut_by_kill_9_is_never_listed_and_its_part_file_goes(server):
    prep = prepare(server.data_dir, 3)
    cookie = add_organizer(server.data_dir, prep["meeting"])
    server.start()
    before = httpx.get(f"{server.http}/api/meetings/{prep['meeting']}/library",
                       cookies={"plenary_session": cookie}, timeout=30).json()["documents"]

    conn = start_upload(server, cookie, prep["meeting"], total=40 << 20, send=8 << 20)
    time.sleep(0.5)  # let the server write what arrived
    server.kill()
    conn.close()
    leftovers = parts_left(server.data_dir)
    for part in leftovers:  # an hour without a byte: nobody is writing it any more
        os.utime(part, (time.time() - 7200, time.time() - 7200))
    server.start()

    after = httpx.get(f"{server.http}/api/meetings/{prep['meeting']}/library",
                      cookies={"plenary_session": cookie}, timeout=30).json()["documents"]
    assert after == before
    assert query(server.data_dir, "SELECT count(*) FROM document")[0][0] == len(before)
    assert leftovers, "the kill came after the upload had finished"
    assert parts_left(server.data_dir) == []
    blobs = [p for p in (server.data_dir / "documents").rglob("*.pdf")]
    assert all(p.stat().st_size < (8 << 20) for p in blobs)  # nothing of the cut upload


def add_organizer(data_dir: Path, meeting: int) -> str:
    from server.db import Store
    from server.models import Participant

    store = Store(f"sqlite:///{data_dir / 'plenary.db'}")
    try:
        store.write_sync(lambda s: s.add(Participant(meeting_id=meeting, key="org", name="Ban tổ chức",
                                                     role="organizer", access_code="ORG-CRASH-1")))
    finally:
        store.close()
    return login(data_dir, "organizer", meeting)


# -- agenda import -------------------------------------------------------------------


def big_agenda(folder: Path, delegates: int, items: int) -> Path:
    text_ = agenda_text(delegates).replace('key = "bench-ballots"', 'key = "crash-import"')
    text_ += "".join(f'\n[[items]]\nkey = "i{n}"\ntitle = "Mục {n}: báo cáo của Ủy ban"\n'
                     f'description = "{"Nội dung. " * 40}"\n' for n in range(items))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "meeting.toml"
    path.write_text(text_, encoding="utf-8")
    return path


def run_import(data_dir: Path, path: Path, kill_at: float | None) -> float:
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "server", "--data-dir", str(data_dir),
                             "import", str(path)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PLENARY_SECRET_KEY": SECRET})
    if kill_at is None:
        assert proc.wait(timeout=120) == 0
    else:
        time.sleep(kill_at)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    return time.monotonic() - began


def counts(data_dir: Path) -> tuple:
    try:
        found = query(data_dir, "SELECT id FROM meeting WHERE key = 'crash-import'")
    except OperationalError:  # killed before the tables were made
        return ()
    if not found:
        return ()
    meeting = found[0][0]
    return (query(data_dir, "SELECT count(*) FROM participant WHERE meeting_id = :m", m=meeting)[0][0],
            query(data_dir, "SELECT count(*) FROM agendaitem WHERE meeting_id = :m", m=meeting)[0][0])


def test_a_killed_agenda_import_leaves_the_meeting_whole_or_absent(tmp_path, capsys):
    path = big_agenda(tmp_path / "agenda", delegates=1500, items=200)
    full = tmp_path / "full"
    took = run_import(full, path, None)  # how long a whole import takes here, now
    whole = counts(full)

    outcomes = []
    for share in (0.5, 0.8, 0.95):
        data_dir = tmp_path / f"killed-{share}"
        run_import(data_dir, path, took * share)
        found = counts(data_dir)
        assert found in ((), whole)
        outcomes.append("whole" if found else "absent")
        if found == ():  # and the next import completes it
            run_import(data_dir, path, None)
            assert counts(data_dir) == whole
    with capsys.disabled():
        print(f"\n  import of {whole} took {took:.1f} s; killed at 50, 80, 95 %: {outcomes}")


def test_only_stale_upload_leftovers_are_removed_at_start(tmp_path):
    from server.library import remove_stale_uploads

    uploads = tmp_path / "uploads"
    (uploads / "tmpwork").mkdir(parents=True)
    stale, fresh = uploads / "upload-1.part", uploads / "upload-2.part"
    stale.write_bytes(b"%PDF-")
    fresh.write_bytes(b"%PDF-")  # another server may still be receiving this one
    for old in (stale, uploads / "tmpwork"):
        os.utime(old, (time.time() - 7200, time.time() - 7200))

    assert remove_stale_uploads(tmp_path) == 2

    assert sorted(p.name for p in uploads.iterdir()) == ["upload-2.part"]
