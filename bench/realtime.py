"""Realtime benchmark: one hall of tablets against ``plenary serve`` and the floor.

    python -m bench.realtime                 # N = 500, 1,600, 5,000
    python -m bench.realtime --full          # adds N = 10,000
    python -m bench.realtime --sizes 1600 --rounds 30

For each N it starts, over loopback only and each in its own process: the
server (``plenary serve`` on a fresh SQLite meeting of N delegates), and
``--workers`` processes of simulated tablets (``bench/_tablets.py``). It prints:

- the time to connect all N tablets, and the server's memory per connection
  (growth of its resident memory / N, after the sockets are idle);
- the latency from a chair command (``POST /api/meetings/{id}/commands``,
  ``agenda.goto``) to each tablet applying the event: p50, p99 and max (the last
  tablet), pooled over ``--rounds`` commands. Tablets note the time on
  ``CLOCK_MONOTONIC``, which every process of the machine shares;
- the same broadcast through a bare Starlette server (``bench/_floor.py``, the
  floor) with the same clients, and our p99 as a ratio to the floor's;
- a reconnect storm: the server is killed (SIGKILL) and started again on the
  same database; the tablets return with jittered back-off and resume from their
  last sequence. Printed: seconds from the restarted server answering until every
  tablet holds the latest sequence, the slowest single resync, how tablets
  rejoined (caught up from events or snapshot), and whether all tablets ended
  with the same state hash;
- with PostgreSQL installed: two server processes on one PostgreSQL database
  (LISTEN/NOTIFY broker), half of the tablets on each, commands sent to each
  in turn: the same latency figures.

Every wait is bounded in time and every loop in count; all processes it starts
are stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENDA = ROOT / "agendas" / "hdnd-tuan-giao-2020" / "meeting.toml"
SECRET = "bench-" + secrets.token_urlsafe(16)
PG_BIN = Path(os.environ.get("PLENARY_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEFAULT_SIZES = (500, 1600, 5000)
FULL_SIZE = 10_000
START_TIMEOUT = 60.0
WAIT_TIMEOUT = 30.0
STORM_TIMEOUT = 90.0
SNAPSHOT_SAMPLE = 20
RESYNC_LIMIT = 500  # PLENARY_RESYNC_LIMIT's default: the longest catch-up before a snapshot
TARGETS = {"p99_1600": 1.25, "p99_10000": 1.5, "kb_per_connection": 40.0, "storm_1600": 5.0}


# -- the meeting -------------------------------------------------------------------


@dataclass
class Hall:
    url: str
    meeting_id: int
    chair_cookie: str
    delegate_cookies: list[str]
    item_ids: list[int]
    event_bytes: int


def session_cookie(token: str) -> str:
    """What the server's session middleware would set after a login with ``token``."""
    import itsdangerous

    data = base64.b64encode(json.dumps({"token": token}).encode())
    return itsdangerous.TimestampSigner(SECRET).sign(data).decode()


def prepare_hall(url: str, data_dir: Path, delegates: int) -> Hall:
    """A database with the sample meeting and ``delegates`` logged-in delegates."""
    from server.agendaimport import import_agenda_file
    from server.db import Store, migrate

    migrate(url)
    store = Store(url)
    try:
        result = import_agenda_file(store, data_dir / "documents", AGENDA)
        tokens = store.write_sync(_add_delegates, result.meeting_id, delegates)
        chair, items = store.write_sync(_chair_and_items, result.meeting_id)
    finally:
        store.close()
    cookies = [session_cookie(t) for t in tokens]
    return Hall(url, result.meeting_id, session_cookie(chair), cookies,
                [i["id"] for i in items], _event_bytes(result.meeting_id, items))


def _add_delegates(session: Any, meeting_id: int, count: int) -> list[str]:
    from server.access import new_access_code
    from server.models import LoginSession, Participant

    people = [Participant(meeting_id=meeting_id, key=f"bench-{i}", name=f"Đại biểu {i}",
                          role="delegate", access_code=new_access_code(), sort_order=100 + i)
              for i in range(count)]
    session.add_all(people)
    session.flush()
    tokens = [secrets.token_urlsafe(24) for _ in people]
    session.add_all([LoginSession(token=t, participant_id=p.id) for t, p in zip(tokens, people, strict=True)])
    return tokens


def _chair_and_items(session: Any, meeting_id: int) -> tuple[str, list[dict]]:
    from sqlmodel import select

    from server.agenda import item_view, list_items
    from server.models import LoginSession, Participant

    chair = session.exec(select(Participant).where(
        Participant.meeting_id == meeting_id, Participant.role == "chair")).first()
    token = secrets.token_urlsafe(24)
    session.add(LoginSession(token=token, participant_id=chair.id))
    public = [item_view(i) for i in list_items(session, meeting_id) if not i.internal]
    return token, public[:2]


def _event_bytes(meeting_id: int, items: list[dict]) -> int:
    from server.realtime import encode

    return len(encode({"type": "event", "meeting": meeting_id, "seq": 100, "event": "agenda.current",
                       "data": {"item_id": items[0]["id"], "item": items[0]}}).encode())


# -- processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self, hard: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_plenary(data_dir: Path, port: int, database_url: str = "", broker: str = "auto",
                  redis_url: str = "") -> Server:
    # the benchmark's chair sends hundreds of commands in a row: lift the per-person rate
    env = {**os.environ, "PLENARY_SECRET_KEY": SECRET, "PLENARY_LOG_LEVEL": "warning",
           "PLENARY_COMMAND_RATE": "100000",
           "PLENARY_DATABASE_URL": database_url, "PLENARY_BROKER": broker,
           "PLENARY_REDIS_URL": redis_url}
    command = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve",
               "--port", str(port)]
    return _start(command, env, port, data_dir / f"server-{port}.log", "/healthz")


def start_floor(workdir: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "bench._floor", str(port)]
    return _start(command, dict(os.environ), port, workdir / "floor.log", "/")


def _start(command: list[str], env: dict, port: int, log: Path, probe: str) -> Server:
    with log.open("ab") as output:  # the child keeps its own copy
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, preexec_fn=_raise_fd_limit)
    server = Server(port, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited early:\n{log.read_text()[-2000:]}")
        try:
            status, _ = http_request(port, "GET", probe)
            if status < 500:
                return server
        except OSError:
            time.sleep(0.05)
    server.stop(hard=True)
    raise RuntimeError(f"{command[2]} did not answer within {START_TIMEOUT} s")


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def http_request(port: int, method: str, path: str, body: dict | None = None,
                 cookie: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = f"plenary_session={cookie}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {}
    finally:
        conn.close()


class Workers:
    """The tablet processes, each driven by JSON lines over its stdin and stdout."""

    def __init__(self, count: int, workdir: Path) -> None:
        self.processes = [self._start(workdir / f"tablets-{i}.log") for i in range(count)]

    @staticmethod
    def _start(log: Path) -> subprocess.Popen:
        with log.open("ab") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench._tablets"], cwd=ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=errors, text=True, preexec_fn=_raise_fd_limit)
        process.log_path = log  # type: ignore[attr-defined]
        return process

    def ask_all(self, commands: list[dict]) -> list[dict]:
        for process, command in zip(self.processes, commands, strict=True):
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        answers = []
        for process in self.processes:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("a tablet process ended early:\n" + self._log_tail(process))
            answers.append(json.loads(line))
        return answers

    @staticmethod
    def _log_tail(process: subprocess.Popen) -> str:
        log: Path = process.log_path  # type: ignore[attr-defined]
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def ask(self, command: dict) -> list[dict]:
        return self.ask_all([command] * len(self.processes))

    def connect(self, urls: list[str], meeting_id: int, cookies: list[str | None],
                resume: dict | None = None) -> dict:
        """Connect every tablet; ``resume``: they hold this state already (seq, state)."""
        resume = resume or {}
        shares = [cookies[i::len(self.processes)] for i in range(len(self.processes))]
        commands = [{"op": "connect", "url": urls[i % len(urls)], "meeting": meeting_id,
                     "cookies": share, "timeout": 180.0, **resume}
                    for i, share in enumerate(shares)]
        answers = self.ask_all(commands)
        return {"connected": sum(a["connected"] for a in answers),
                "failed": sum(a["failed"] for a in answers),
                "seconds": max(a["seconds"] for a in answers)}

    def wait(self, seq: int, timeout: float = WAIT_TIMEOUT) -> tuple[list[float], int]:
        answers = self.ask({"op": "wait", "seq": seq, "timeout": timeout})
        return [t for a in answers for t in a["times"]], sum(a["missing"] for a in answers)

    def state(self) -> dict:
        answers = self.ask({"op": "state"})
        hashes: Counter[str] = Counter()
        joins: Counter[str] = Counter()
        for answer in answers:
            hashes.update(answer["hashes"])
            joins.update(answer["joins"])
        return {"hashes": hashes, "joins": joins,
                "slowest_join": max(a["slowest_join"] for a in answers),
                "last_try": max(a["last_try"] for a in answers)}

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                    process.stdin.flush()
                except OSError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- measuring ---------------------------------------------------------------------


@dataclass
class Latency:
    samples: list[float] = field(default_factory=list)  # seconds, per tablet and round
    lasts: list[float] = field(default_factory=list)  # seconds to the last tablet, per round
    firsts: list[float] = field(default_factory=list)  # seconds to the first tablet, per round
    missing: int = 0

    def add(self, start: float, times: list[float], missing: int) -> None:
        lat = [t - start for t in times]
        self.samples += lat
        self.lasts.append(max(lat) if lat else float("nan"))
        self.firsts.append(min(lat) if lat else float("nan"))
        self.missing += missing

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def figures(self) -> dict[str, float]:
        return {"p50_ms": self.pct(0.50) * 1000, "p99_ms": self.pct(0.99) * 1000,
                "max_ms": max(self.samples, default=float("nan")) * 1000,
                "last_median_ms": statistics.median(self.lasts) * 1000 if self.lasts else float("nan"),
                "first_median_ms": statistics.median(self.firsts) * 1000 if self.firsts else float("nan"),
                "missing": self.missing}


class Chair:
    """Sends agenda.goto between two public items; knows the sequence it expects."""

    def __init__(self, hall: Hall, ports: list[int]) -> None:
        self.hall, self.ports, self.turn = hall, ports, 0
        status, snapshot = http_request(ports[0], "GET", f"/api/meetings/{hall.meeting_id}/snapshot",
                                        cookie=hall.chair_cookie)
        if status != 200:
            raise RuntimeError(f"the chair cannot read the meeting: {status} {snapshot}")
        self.seq = snapshot["seq"]
        if snapshot["meeting"]["state"] != "running":
            self.command("meeting.start", {})
        self.current = snapshot["meeting"]["current_item_id"]

    def resume_point(self) -> dict:
        """What a tablet that is up to date holds: for hello with last_seq."""
        return {"seq": self.seq, "state": {"state": "running", "current": self.current}}

    def command(self, name: str, args: dict) -> float:
        """Send one command that records one event; return when it was sent."""
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        start = time.monotonic()
        status, body = http_request(port, "POST", f"/api/meetings/{self.hall.meeting_id}/commands",
                                    {"id": f"bench-{secrets.token_hex(6)}", "name": name, "args": args},
                                    cookie=self.hall.chair_cookie)
        if status != 200:
            raise RuntimeError(f"{name} failed: {status} {body}")
        self.seq += 1
        return start

    def goto_next(self) -> float:
        item = self.hall.item_ids[self.turn % 2]
        start = self.command("agenda.goto", {"item_id": item})
        self.current = item
        return start


def measure_rounds(chair: Chair, workers: Workers, rounds: int, pause: float) -> Latency:
    result = Latency()
    for _ in range(rounds):
        start = chair.goto_next()
        times, missing = workers.wait(chair.seq)
        result.add(start, times, missing)
        time.sleep(pause)
    return result


def measure_floor(floor: Server, workers: Workers, rounds: int, pause: float, pad: int) -> Latency:
    result = Latency()
    for _ in range(rounds):
        start = time.monotonic()
        _, body = http_request(floor.port, "POST", "/broadcast", {"pad": "x" * pad})
        times, missing = workers.wait(body["seq"])
        result.add(start, times, missing)
        time.sleep(pause)
    return result


# -- one hall size -----------------------------------------------------------------


def run_size(n: int, hall: Hall, data_dir: Path, args: argparse.Namespace, pg: PostgresCluster | None) -> dict:
    report: dict[str, Any] = {"n": n}
    rounds = args.rounds if n <= 2000 else max(5, args.rounds // 2)
    pause = 0.1 + n / 20_000
    cookies = hall.delegate_cookies[:n]

    server = start_plenary(data_dir, free_port())
    workers = Workers(args.workers, data_dir)
    try:
        _warm_up(server, hall)
        chair = Chair(hall, [server.port])
        report["snapshot_ms"] = fresh_load_ms(server, hall, chair, args.workers, data_dir)
        if n == min(args.sizes):  # before the hall connects: 500 commands to nobody
            report["catch_up_ms"] = catch_up_ms(server, hall, chair, RESYNC_LIMIT, data_dir)
        idle_before = server.rss_kb()
        report["connect"] = workers.connect([server.ws_url], hall.meeting_id, cookies,
                                            chair.resume_point())
        time.sleep(1.0)
        report["kb_per_connection"] = (server.rss_kb() - idle_before) / n
        workers.wait(chair.seq)
        report["plenary"] = measure_rounds(chair, workers, rounds, pause).figures()
        if not args.no_storm:
            report["storm"] = reconnect_storm(server, data_dir, chair, workers)
            server = report["storm"].pop("server")
    finally:
        workers.close()
        server.stop()

    report["floor"] = run_floor(n, hall, data_dir, args, rounds, pause)
    if pg is not None:
        report["two_processes"] = run_two_processes(n, pg, data_dir, args, rounds, pause)
    return report


def fresh_load_ms(server: Server, hall: Hall, chair: Chair, count: int, data_dir: Path) -> float:
    """Server time per fresh page load (hello with last_seq null -> snapshot), from a sample."""
    sample = Workers(1, data_dir)
    try:
        cookies = hall.delegate_cookies[-SNAPSHOT_SAMPLE:]
        answer = sample.ask({"op": "connect", "url": server.ws_url, "meeting": hall.meeting_id,
                             "cookies": cookies, "timeout": 120.0, "one_at_a_time": True})[0]
        return answer["seconds"] / max(1, answer["connected"]) * 1000
    finally:
        sample.close()


def catch_up_ms(server: Server, hall: Hall, chair: Chair, missed: int, data_dir: Path) -> float:
    """Server time per tablet that reconnects ``missed`` events behind (a sample)."""
    while chair.seq < missed + 2:
        chair.goto_next()
    behind = chair.resume_point()
    behind["seq"] -= missed
    sample = Workers(1, data_dir)
    try:
        cookies = hall.delegate_cookies[-2 * SNAPSHOT_SAMPLE:-SNAPSHOT_SAMPLE]
        answer = sample.ask({"op": "connect", "url": server.ws_url, "meeting": hall.meeting_id,
                             "cookies": cookies, "timeout": 120.0, "one_at_a_time": True,
                             **behind})[0]
        return answer["seconds"] / max(1, answer["connected"]) * 1000
    finally:
        sample.close()


def _warm_up(server: Server, hall: Hall) -> None:
    """One request through every path, so memory counts connections, not imports."""
    http_request(server.port, "GET", f"/api/meetings/{hall.meeting_id}/snapshot", cookie=hall.chair_cookie)
    time.sleep(0.5)


def reconnect_storm(server: Server, data_dir: Path, chair: Chair, workers: Workers) -> dict:
    killed = time.monotonic()
    server.stop(hard=True)
    time.sleep(0.5)
    restarted = start_plenary(data_dir, server.port)
    ready = time.monotonic()
    chair.goto_next()  # a change the tablets missed while away
    times, missing = workers.wait(chair.seq, STORM_TIMEOUT)
    state = workers.state()
    return {"server": restarted, "since_ready_s": max(times) - ready if times else float("nan"),
            "since_kill_s": max(times) - killed if times else float("nan"),
            "restart_s": ready - killed, "missing": missing,
            "slowest_resync_s": state["slowest_join"],
            "last_try_s": state["last_try"] - ready, "joins": dict(state["joins"]),
            "state_hashes": len(state["hashes"])}


def run_floor(n: int, hall: Hall, data_dir: Path, args: argparse.Namespace, rounds: int, pause: float) -> dict:
    floor = start_floor(data_dir)
    workers = Workers(args.workers, data_dir)
    try:
        connected = workers.connect([floor.ws_url], 0, [None] * n)
        time.sleep(1.0)
        figures = measure_floor(floor, workers, rounds, pause, hall.event_bytes - 40).figures()
        return {**figures, "connect": connected}
    finally:
        workers.close()
        floor.stop()


def run_two_processes(n: int, pg: PostgresCluster, data_dir: Path, args: argparse.Namespace,
                      rounds: int, pause: float) -> dict:
    hall = pg.hall
    servers = [start_plenary(data_dir, free_port(), pg.hall.url, "postgres") for _ in range(2)]
    workers = Workers(args.workers, data_dir)
    try:
        chair = Chair(hall, [s.port for s in servers])
        connected = workers.connect([s.ws_url for s in servers], hall.meeting_id,
                                    hall.delegate_cookies[:n], chair.resume_point())
        workers.wait(chair.seq)
        figures = measure_rounds(chair, workers, rounds, pause).figures()
        return {**figures, "connect": connected}
    finally:
        workers.close()
        for server in servers:
            server.stop()


# -- PostgreSQL --------------------------------------------------------------------


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free loopback port."""

    def __init__(self, workdir: Path, delegates: int) -> None:
        self.dir = workdir / "pg"
        self.dir.mkdir()
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.port = free_port()
        self._run(str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200",
                  "-w", "start")
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                        "postgres", "plenary"], check=True, capture_output=True, timeout=60)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/plenary"
        self.hall = prepare_hall(url, workdir, delegates)

    def _run(self, *command: str) -> None:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.dir)

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass


# -- output ------------------------------------------------------------------------


def print_report(reports: list[dict], delegates: int) -> None:
    print(f"\nThe meeting has {delegates:,} delegates; N of them connect in each run.")
    print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end; "
          "the machine is shared with other engineers' work, so figures move between runs.")
    print("Latency: chair command (HTTP) -> tablet applied the event; p50/p99/max over tablets and rounds.\n")
    header = (f"{'N':>6} {'connect s':>9} {'KB/conn':>8} | {'p50':>6} {'p99':>6} {'max':>6} | "
              f"{'floor p50':>9} {'p99':>6} {'max':>6} | {'p99 ratio':>9} | "
              f"{'storm s':>7} {'resync':>6} {'same state':>10} | {'2-proc p50':>10} {'p99':>6} {'max':>6}")
    print(header)
    print("-" * len(header))
    for r in reports:
        print(_row(r))
    print()
    for r in reports:
        _print_details(r)
    _print_targets(reports)


def _row(r: dict) -> str:
    p, f = r["plenary"], r["floor"]
    ratio = p["p99_ms"] / f["p99_ms"] if f["p99_ms"] else float("nan")
    storm = r.get("storm") or {}
    two = r.get("two_processes") or {}
    same = ("yes" if storm.get("state_hashes") == 1 and not storm.get("missing") else "NO") if storm else "-"
    return (f"{r['n']:>6} {r['connect']['seconds']:>9.1f} {r['kb_per_connection']:>8.1f} | "
            f"{p['p50_ms']:>6.0f} {p['p99_ms']:>6.0f} {p['max_ms']:>6.0f} | "
            f"{f['p50_ms']:>9.0f} {f['p99_ms']:>6.0f} {f['max_ms']:>6.0f} | {ratio:>8.2f}x | "
            f"{storm.get('since_ready_s', float('nan')):>7.2f} {storm.get('slowest_resync_s', float('nan')):>6.2f} "
            f"{same:>10} | {two.get('p50_ms', float('nan')):>10.0f} {two.get('p99_ms', float('nan')):>6.0f} "
            f"{two.get('max_ms', float('nan')):>6.0f}")


def _print_details(r: dict) -> None:
    storm = r.get("storm")
    fresh = r["snapshot_ms"]
    print(f"N={r['n']}: a fresh page load (snapshot) costs the server {fresh:.0f} ms; loading all "
          f"{r['n']} tablets fresh would take about {fresh * r['n'] / 1000:.0f} s "
          f"(the table's connect time is for tablets that resume from their last sequence).")
    if "catch_up_ms" in r:
        print(f"N={r['n']}: catching up {RESYNC_LIMIT} missed events (the most before a snapshot) costs "
              f"the server {r['catch_up_ms']:.0f} ms per tablet, a fresh load {fresh:.0f} ms.")
    line = (f"N={r['n']}: connected {r['connect']['connected']} (failed {r['connect']['failed']}); "
            f"missed in broadcasts: {r['plenary']['missing']}; median time to the last tablet "
            f"{r['plenary']['last_median_ms']:.0f} ms (floor {r['floor']['last_median_ms']:.0f} ms), "
            f"to the first {r['plenary']['first_median_ms']:.0f} ms (floor {r['floor']['first_median_ms']:.0f} ms: "
            "the difference is the command's own cost, HTTP and the committed write)")
    if storm:
        line += (f"; storm: restart took {storm['restart_s']:.1f} s, all back {storm['since_kill_s']:.1f} s "
                 f"after the kill, the last tablet began its final attempt {storm['last_try_s']:.1f} s after "
                 f"the server answered (the back-off window; the rest is connecting and catching up; "
                 f"the floor took {r['floor']['connect']['seconds']:.1f} s to accept all {r['n']} from the same "
                 f"clients), rejoined {storm['joins']}, behind at the end: {storm['missing']}")
    print(line)


def _print_targets(reports: list[dict]) -> None:
    print("\nTargets:")
    by_n = {r["n"]: r for r in reports}
    for n, key, limit in ((1600, "p99_1600", 1.25), (FULL_SIZE, "p99_10000", 1.5)):
        if n in by_n:
            ratio = by_n[n]["plenary"]["p99_ms"] / by_n[n]["floor"]["p99_ms"]
            print(f"  p99 at {n} within {limit}x of the floor: {ratio:.2f}x -> {'met' if ratio <= limit else 'MISSED'}")
    for r in reports:
        kb = r["kb_per_connection"]
        print(f"  <= 40 KB per idle connection at {r['n']}: {kb:.1f} KB -> {'met' if kb <= 40 else 'MISSED'}")
    if 1600 in by_n and by_n[1600].get("storm"):
        s = by_n[1600]["storm"]
        ok = s["since_ready_s"] <= 5.0 and s["missing"] == 0 and s["state_hashes"] == 1
        print(f"  storm of 1600 resynced within 5 s, nothing missed: {s['since_ready_s']:.2f} s, "
              f"{s['missing']} behind, {s['state_hashes']} state hash(es) -> {'met' if ok else 'MISSED'}")


# -- main --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=list(DEFAULT_SIZES))
    parser.add_argument("--full", action="store_true", help=f"also N = {FULL_SIZE:,}")
    parser.add_argument("--rounds", type=int, default=20, help="commands per measurement (halved above 2,000)")
    parser.add_argument("--workers", type=int, default=4, help="tablet processes")
    parser.add_argument("--no-storm", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.full and FULL_SIZE not in args.sizes:
        args.sizes.append(FULL_SIZE)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="plenary-bench-"))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user and keeps its socket here
    biggest = max(args.sizes)
    pg: PostgresCluster | None = None
    try:
        print(f"Preparing a meeting with {biggest:,} delegates ...", flush=True)
        hall = prepare_hall(f"sqlite:///{workdir / 'plenary.db'}", workdir, biggest)
        if not args.no_postgres and (PG_BIN / "initdb").exists():
            pg = PostgresCluster(workdir, biggest)
        reports = []
        for n in sorted(args.sizes):
            print(f"N = {n:,} ...", flush=True)
            reports.append(run_size(n, hall, workdir, args, pg))
            print(json.dumps(reports[-1], default=str), flush=True)
        print_report(reports, biggest)
        if args.json:
            args.json.write_text(json.dumps(reports, indent=2, default=str))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
