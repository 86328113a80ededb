"""Coverage-guided fuzzing of the readers of hostile input, with atheris (libFuzzer).

``python -m bench.fuzz TARGET --runs N --seconds S`` fuzzes one target in this
process; ``python -m bench.fuzz`` (as ``python -m bench`` runs it) fuzzes every
target for ``--seconds`` each in its own process and prints runs, coverage and
crashes per target. Targets:

- ``agenda``: the agenda file reader (``server.agendafile.check_agenda``);
- ``participants``: the participant importer's CSV and XLSX preview;
- ``openslides``: the OpenSlides JSON export reader and its CSV readers;
- ``message``: WebSocket message parsing (``server.web.limits.parse_message``)
  and the command checks every message passes (id, name, arguments).

The only allowed outcomes are a result or a ``MeetingError`` (for agenda files:
a list of problems). Anything else is a crash: libFuzzer stops, writes the input
to ``--artifacts`` and this script exits non-zero; turn it into a regression test
(tests/test_imports_fuzz.py, tests/test_agendafile_fuzz.py, tests/web/test_limits.py).

atheris is optional (``pip install -e '.[fuzz]'``). Runs are bounded by count
and by time. The machine's two cores are shared with other work, so runs per
second are only comparable within one run; the seeds come from tests/data.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
TARGETS = ("agenda", "participants", "openslides", "message")
DEFAULT_SECONDS = 30
DEFAULT_RUNS = 2_000_000
SEEDS = {
    "agenda": [DATA / "agendas"],
    "participants": [DATA / "openslides" / "openslides-agenda-demo_de.csv"],
    "openslides": [DATA / "openslides"],
    "message": [],
}
MESSAGE_SEEDS = [b'{"type":"hello","meeting":1,"last_seq":null}',
                 b'{"type":"command","id":"c-1","name":"agenda.goto","args":{"item_id":3}}',
                 b'{"type":"command","id":"b-1","name":"poll.cast","args":{"poll_id":1,"choice":"yes"}}']


# -- the targets (run inside the fuzzing process) --------------------------------------


def agenda_target() -> Callable[[bytes], None]:
    from server.agendafile import check_agenda

    path = Path(tempfile.mkdtemp(prefix="plenary-fuzz-")) / "meeting.toml"

    def run(data: bytes) -> None:
        path.write_bytes(data)
        problems = check_agenda(path)
        assert isinstance(problems, list)
    return run


def participants_target() -> Callable[[bytes], None]:
    from server.errors import MeetingError
    from server.imports.participants import read_participant_file

    def run(data: bytes) -> None:
        name = "people.xlsx" if data[:1] == b"P" else "people.csv"
        try:
            read_participant_file(data, name)
        except MeetingError:
            pass
    return run


def openslides_target() -> Callable[[bytes], None]:
    from server.errors import MeetingError
    from server.imports.openslides import csv_kind, read_agenda_csv, read_export, read_motions_csv

    def run(data: bytes) -> None:
        readers = (read_export,) if data.lstrip()[:1] == b"{" else (
            csv_kind, read_agenda_csv, read_motions_csv)
        for read in readers:
            try:
                read(data)
            except MeetingError:
                pass
    return run


def message_target() -> Callable[[bytes], None]:
    from server import app  # noqa: F401  (registers every command)
    from server.commands import ensure_command_id, get_command, int_arg
    from server.errors import MeetingError
    from server.web.limits import parse_message

    def run(data: bytes) -> None:
        try:
            message = parse_message(data)
            ensure_command_id(message.get("id"))
            get_command(message.get("name"))
            args = message.get("args") or {}
            if isinstance(args, dict):
                for name in ("item_id", "poll_id", "participant_id"):
                    int_arg(args, name)
        except MeetingError:
            pass
    return run


FACTORIES = {"agenda": agenda_target, "participants": participants_target,
             "openslides": openslides_target, "message": message_target}


def fuzz_one(target: str, runs: int, seconds: int, artifacts: Path) -> None:
    import atheris

    # only the server's own code is instrumented (all of site-packages takes minutes)
    with atheris.instrument_imports(include=["server"]):
        run = FACTORIES[target]()
    corpus = Path(tempfile.mkdtemp(prefix=f"plenary-fuzz-{target}-"))
    _write_seeds(target, corpus)
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], str(corpus), f"-runs={runs}", f"-max_total_time={seconds}",
            f"-artifact_prefix={artifacts}/{target}-", "-max_len=65536", "-print_final_stats=1"]
    atheris.Setup(argv, run)
    atheris.Fuzz()


def _write_seeds(target: str, corpus: Path) -> None:
    files = [p for root in SEEDS[target] for p in ([root] if root.is_file() else root.rglob("*"))
             if p.is_file() and p.stat().st_size < 200_000]
    for n, path in enumerate(files):
        (corpus / f"seed-{n}").write_bytes(path.read_bytes())
    if target == "message":
        for n, seed in enumerate(MESSAGE_SEEDS):
            (corpus / f"seed-{n}").write_bytes(seed)


# -- every target, each in its own process ------------------------------------------


def run_all(targets: list[str], runs: int, seconds: int, artifacts: Path) -> int:
    print(f"Coverage-guided fuzzing (atheris), {seconds} s or {runs} runs per target; "
          "2 shared cores, so runs/s compare only within this run.")
    failed = 0
    for target in targets:
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bench.fuzz", target, "--runs", str(runs),
                               "--seconds", str(seconds), "--artifacts", str(artifacts)],
                              capture_output=True, text=True, timeout=seconds * 3 + 120)
        took = time.monotonic() - began
        figures = _figures(done.stderr)
        crashed = done.returncode != 0
        failed += crashed
        print(f"  {target:<13} {figures['runs']:>9} runs in {took:5.1f} s "
              f"({figures['runs'] / max(took, 1e-9):8.0f}/s), coverage {figures['cov']} edges, "
              f"{figures['ft']} features, corpus {figures['corp']}: "
              f"{'CRASH, see ' + str(artifacts) if crashed else 'no crash'}")
        if crashed:
            print("\n".join(done.stderr.splitlines()[-30:]))
    return 1 if failed else 0


def _figures(log: str) -> dict[str, int]:
    found = {"runs": 0, "cov": 0, "ft": 0, "corp": 0}
    for line in log.splitlines():
        if m := re.search(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", line):
            found.update(runs=int(m[1]), cov=int(m[2]), ft=int(m[3]), corp=int(m[4]))
        if m := re.search(r"stat::number_of_executed_units: (\d+)", line):
            found["runs"] = int(m[1])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz")
    parser.add_argument("target", nargs="?", choices=TARGETS, help="one target (default: all)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS)
    parser.add_argument("--artifacts", type=Path, default=Path(tempfile.gettempdir()) / "plenary-fuzz")
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]' (the hypothesis tests "
              "in tests/ fuzz the same readers without it).")
        return 0
    if args.target:
        fuzz_one(args.target, args.runs, args.seconds, args.artifacts)
        return 0
    return run_all(list(TARGETS), args.runs, args.seconds, args.artifacts)


if __name__ == "__main__":
    sys.exit(main())
