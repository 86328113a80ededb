"""Simulated tablets for the realtime benchmark: one process holds many sockets.

Run by ``bench.realtime`` as ``python -m bench._tablets``; it reads one JSON
command per line on stdin and answers one JSON line on stdout:

- ``{"op": "connect", "url": ..., "cookies": [...], "meeting": 1, "seq": s, "state": {...}}``
  opens one socket per cookie (``null``: no cookie) and says hello with
  ``last_seq`` ``s`` (a tablet that already holds ``state``; ``null``: a fresh
  page that loads a snapshot); answers
  ``{"connected": n, "failed": n, "seconds": s}``.
- ``{"op": "wait", "seq": s, "timeout": t}`` waits until every tablet applied
  sequence ``s``; answers ``{"times": [...], "missing": n}`` with the
  ``CLOCK_MONOTONIC`` time each tablet applied it (the clock is shared by all
  processes of the machine, so the controller compares it with its own).
- ``{"op": "state"}``: how many tablets hold which state hash, and how they
  (re)joined.
- ``{"op": "quit"}``.

Every tablet reconnects after a lost connection like plenary.js does: jittered
exponential back-off, then ``hello`` with the last sequence it applied. Every
loop is bounded: ``MAX_ATTEMPTS`` reconnects per tablet and ``LIFETIME`` seconds
for the whole process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

LIFETIME = 900.0
MAX_ATTEMPTS = 40
BACKOFF_MIN = 1.0
BACKOFF_MAX = 2.0
CONNECTS_AT_ONCE = 100
SESSION_COOKIE = "plenary_session"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Tablet:
    """One simulated tablet: a socket, the state it applied, and when it applied it."""

    def __init__(self, fleet: Fleet, cookie: str | None, seq: int | None = None,
                 state: dict | None = None) -> None:
        self.fleet, self.cookie = fleet, cookie
        self.seq: int | None = seq
        self.state: dict[str, Any] = dict(state or {})
        self.applied: dict[int, float] = {}  # seq -> monotonic time
        self.joins: Counter[str] = Counter()
        self.ready = asyncio.Event()
        self.attempt = 0
        self.opened = 0.0
        self.tried = 0.0  # when the latest attempt began (before the connect gate)
        self.join_took = 0.0  # seconds from socket open to holding the state

    async def run(self) -> None:
        while self.attempt < MAX_ATTEMPTS and not self.fleet.stopping:
            try:
                await self.session()
            except (OSError, WebSocketException, asyncio.TimeoutError):
                pass
            if self.fleet.stopping:
                return
            # the same back-off as plenary.js: full jitter, 0-1 s, then 0-2 s
            cap = min(BACKOFF_MAX, BACKOFF_MIN * 2 ** min(self.attempt, 10))
            self.attempt += 1
            await asyncio.sleep(random.random() * cap)

    async def session(self) -> None:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.cookie}"} if self.cookie else None
        self.tried = time.monotonic()
        async with self.fleet.gate:
            ws = await connect(self.fleet.url, additional_headers=headers, compression=None,
                               proxy=None, ping_interval=None, open_timeout=60,
                               max_size=2**22, origin=None)
        self.opened = time.monotonic()
        async with ws:
            await ws.send(json.dumps({"type": "hello", "meeting": self.fleet.meeting,
                                      "last_seq": self.seq}))
            async for text in ws:
                self.receive(json.loads(text), ws)

    def receive(self, msg: dict, ws: Any) -> None:
        kind = msg.get("type")
        if kind == "event":
            if self.seq is None or msg["seq"] <= self.seq:
                return
            self.apply(msg["event"], msg.get("data") or {})
            self.advance(msg["seq"])
        elif kind == "snapshot":
            meeting = msg["data"].get("meeting") or {}
            self.state = {"state": meeting.get("state"), "current": meeting.get("current_item_id")}
            self.advance(msg["seq"])
            self.joined("snapshot")
        elif kind == "synced":
            self.joined("caught_up")
        elif kind == "broadcast":  # the bare floor server
            self.advance(msg["seq"])
        elif kind == "ping":
            asyncio.ensure_future(ws.send('{"type":"pong"}'))
        elif kind == "welcome_floor":
            self.joined("floor")

    def reached_at(self, seq: int) -> float:
        """When this tablet first held sequence ``seq`` or a later one."""
        return min((t for s, t in self.applied.items() if s >= seq), default=0.0)

    def advance(self, seq: int) -> None:
        before, self.seq = self.seq, seq
        self.applied[seq] = time.monotonic()
        self.fleet.reached(before, seq)

    def apply(self, event: str, data: dict) -> None:
        if event == "meeting.state":
            self.state["state"] = data.get("state")
        elif event == "agenda.current":
            self.state["current"] = data.get("item_id")

    def joined(self, how: str) -> None:
        self.joins[how] += 1
        self.join_took = time.monotonic() - self.opened
        self.attempt = 0
        self.ready.set()

    def state_hash(self) -> str:
        line = json.dumps([self.seq, self.state], sort_keys=True)
        return hashlib.sha256(line.encode()).hexdigest()[:16]


class Fleet:
    def __init__(self, url: str, meeting: int, cookies: list[str | None],
                 seq: int | None = None, state: dict | None = None) -> None:
        self.url, self.meeting = url, meeting
        self.gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        self.stopping = False
        self.tablets = [Tablet(self, cookie, seq, state) for cookie in cookies]
        self.tasks: list[asyncio.Task] = []
        self.target = 1 << 62
        self.at_target = 0
        self.all_there = asyncio.Event()

    async def connect(self, timeout: float) -> dict:
        start = time.monotonic()
        self.tasks = [asyncio.ensure_future(t.run()) for t in self.tablets]
        waits = [asyncio.ensure_future(t.ready.wait()) for t in self.tablets]
        done, pending = await asyncio.wait(waits, timeout=timeout)
        for task in pending:
            task.cancel()
        return {"connected": len(done), "failed": len(pending),
                "seconds": time.monotonic() - start}

    def reached(self, before: int | None, after: int) -> None:
        """A tablet moved from ``before`` to ``after``: count it once at the target."""
        if (before is None or before < self.target) and after >= self.target:
            self.at_target += 1
            if self.at_target >= len(self.tablets):
                self.all_there.set()

    async def wait(self, seq: int, timeout: float) -> dict:
        self.target, self.all_there = seq, asyncio.Event()
        self.at_target = sum(1 for t in self.tablets if t.seq is not None and t.seq >= seq)
        if self.at_target < len(self.tablets):
            try:
                await asyncio.wait_for(self.all_there.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        times = [t.reached_at(seq) for t in self.tablets if t.seq is not None and t.seq >= seq]
        behind = sum(1 for t in self.tablets if t.seq is None or t.seq < seq)
        return {"times": times, "missing": behind}

    def state(self) -> dict:
        joins: Counter[str] = Counter()
        for tablet in self.tablets:
            joins.update(tablet.joins)
        return {"hashes": Counter(t.state_hash() for t in self.tablets),
                "seqs": sorted({t.seq for t in self.tablets if t.seq is not None})[-3:],
                "joins": joins,
                "slowest_join": max((t.join_took for t in self.tablets), default=0.0),
                "last_try": max((t.tried for t in self.tablets), default=0.0)}

    async def stop(self) -> None:
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def serve_commands() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)  # a connect line carries every cookie
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    fleet: Fleet | None = None
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "connect":
            fleet = Fleet(cmd["url"], cmd["meeting"], cmd["cookies"], cmd.get("seq"), cmd.get("state"))
            if cmd.get("one_at_a_time"):
                fleet.gate = asyncio.Semaphore(1)
            answer: dict = await fleet.connect(cmd.get("timeout", 120.0))
        elif op == "wait":
            answer = await fleet.wait(cmd["seq"], cmd.get("timeout", 30.0))
        elif op == "state":
            answer = fleet.state()
        elif op == "quit":
            if fleet is not None:
                await fleet.stop()
            answer = {"bye": True}
        else:
            answer = {"error": f"unknown op {op}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if op == "quit":
            break


def main() -> None:
    raise_fd_limit()
    try:
        asyncio.run(asyncio.wait_for(serve_commands(), LIFETIME))
    except asyncio.TimeoutError:
        print(json.dumps({"error": "lifetime over"}), flush=True)
    os._exit(0)  # do not wait for sockets still closing


if __name__ == "__main__":
    main()
