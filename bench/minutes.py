"""Minutes of a two-day congress: rendered to PDF and signed twice.

The congress: 500 participants (480 checked in), 200 agenda items each with a
written summary, decisions and tasks, and 40 votes with their counts. Prints,
beside a baseline measured in the same run (the minutes of a meeting with 3
participants and 1 item, about one page):

- the time to finalize (collect the record, HTML, WeasyPrint PDF/A) and the
  peak memory of that process: the rendering runs in a child process so that
  its peak RSS is its own;
- the time to add the secretary's and then the chair's PAdES signature (with a
  local timestamp authority), and to verify both.

Targets: render + both signatures under 15 s, peak memory under 500 MB. The
machine has two cores shared with other work; the figures are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 15.0
TARGET_MB = 500.0
CHILD_TIMEOUT = 600


# -- building the meetings ---------------------------------------------------------


def write_agenda(folder: Path, people: int, items: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    parts = [
        "format = 1\n\n[meeting]",
        f'key = "{folder.name}"',
        f'title = "Đại hội đại biểu lần thứ XV ({people} đại biểu)"',
        'body = "Ban Tổ chức Đại hội"',
        "start = 2030-05-01T08:00:00",
        'timezone = "Asia/Ho_Chi_Minh"',
        'place = "Hội trường Thống Nhất"',
        'language = "vi"',
        "",
        "[meeting.settings]",
        'quorum = "half"',
        "",
    ]
    roles = ["chair", "secretary"] + ["delegate"] * (people - 2)
    for index, role in enumerate(roles):
        parts += [
            "[[participants]]",
            f'key = "p{index}"',
            f'name = "Nguyễn Thị Ánh Tuyết {index:03d}"',
            f'role = "{role}"',
            f'group = "Đoàn đại biểu số {index % 40 + 1}"',
            "",
        ]
    for index in range(items):
        parts += [
            "[[items]]",
            f'key = "i{index}"',
            f'title = "Nội dung {index + 1}: thảo luận báo cáo chính trị, phần {index + 1}"',
            "",
        ]
    path = folder / "meeting.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def build(workdir: Path, people: int, items: int, votes: int) -> dict[str, Any]:
    """A meeting in a fresh database, with attendance, sections and votes."""
    from sqlmodel import select

    import server.app  # noqa: F401  (registers every capability's commands)
    from server.access import viewer_for
    from server.agenda import list_items
    from server.agendaimport import import_agenda_file
    from server.commands import execute
    from server.db import Store, migrate
    from server.keys import init_keys
    from server.models import Participant

    url = f"sqlite:///{workdir / 'plenary.db'}"
    migrate(url)
    store = Store(url)
    result = import_agenda_file(
        store, workdir / "documents", write_agenda(workdir / "agenda", people, items)
    )
    people_rows = store.read_sync(
        lambda s: list(
            s.exec(
                select(Participant)
                .where(Participant.meeting_id == result.meeting_id)
                .order_by(Participant.sort_order)
            )
        )
    )
    viewers = [viewer_for(p) for p in people_rows]
    chair, secretary = viewers[0], viewers[1]
    counter = iter(range(10**9))

    def run(viewer, name: str, **args: Any) -> dict:
        return store.write_sync(execute, viewer, name, f"bench-{next(counter)}", args)[
            "result"
        ]

    run(chair, "meeting.start")
    present = [v.participant_id for v in viewers if v.role != "secretary"][
        : people * 24 // 25
    ]
    run(secretary, "attendance.check_in_many", participant_ids=present)
    agenda = store.read_sync(list_items, result.meeting_id)
    for index, item in enumerate(agenda):
        for kind, text in _sections(index).items():
            run(
                secretary,
                "minutes.save",
                item_id=item.id,
                kind=kind,
                text=text,
                base_revision=0,
            )
    for index in range(votes):
        item = agenda[index * len(agenda) // votes]
        poll = run(
            secretary,
            "poll.create",
            title=f"Biểu quyết thông qua nội dung {index + 1}",
            item_id=item.id,
            mode="analog",
        )["poll_id"]
        run(chair, "poll.open", poll_id=poll)
        yes = len(present) - 20 - index
        run(
            secretary,
            "poll.enter_counts",
            poll_id=poll,
            yes=yes,
            no=10,
            abstain=10 + index,
        )
    store.close()
    keys = init_keys(workdir / "keys", "Ban Tổ chức Đại hội", ["Thư ký"], "bench")
    return {
        "url": url,
        "meeting": result.meeting_id,
        "keys": str(keys.directory),
        "key_file": str(keys.signers["Thư ký"]),
        "files": str(workdir / "minutes"),
    }


def _sections(index: int) -> dict[str, str]:
    summary = (
        f"Các đại biểu thảo luận sôi nổi về nội dung {index + 1}; ý kiến của đồng chí "
        "Trần Bình Trọng, Lê Văn Đức và Phạm Thị Hồng Nhung tập trung vào tiến độ, "
        "nguồn lực và trách nhiệm thực hiện. "
    ) * 2
    return {
        "summary": summary,
        "decisions": f"Đại hội thống nhất thông qua nội dung {index + 1}.",
        "tasks": "Văn phòng hoàn thiện hồ sơ.\nCác ban rà soát số liệu.",
    }


# -- the measured step, in a child process ---------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Finalize (render) the minutes, then sign twice and verify; report times and peak RSS."""
    from server.access import Viewer
    from server.db import Store
    from server.keys import trust_roots
    from server.minutes import MinutesFiles, finalize_minutes
    from server.signing import sign_minutes, verify_pdf

    store = Store(spec["url"])
    files = MinutesFiles(Path(spec["files"]))
    keys = Path(spec["keys"])
    secretary = Viewer(spec["meeting"], "secretary", spec["secretary_id"], "Thư ký")
    chair = Viewer(spec["meeting"], "chair", spec["chair_id"], "Chủ tọa")
    started = time.perf_counter()
    version = finalize_minutes(store, files, secretary)
    rendered = time.perf_counter()
    sign_minutes(
        store, files, keys, secretary, Path(spec["key_file"]).read_bytes(), "bench"
    )
    version = sign_minutes(store, files, keys, chair)
    signed = time.perf_counter()
    report = verify_pdf(files.get(version["sha256"]), trust_roots(keys))
    verified = time.perf_counter()
    store.close()
    pdf = files.get(version["sha256"])
    return {
        "render_s": rendered - started,
        "sign_s": signed - rendered,
        "verify_s": verified - signed,
        "ok": report.ok,
        "bytes": len(pdf),
        "pages": pdf.count(b"/Type /Page\n") or pdf.count(b"/Type/Page"),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(workdir: Path, people: int, items: int, votes: int) -> dict[str, Any]:
    spec = build(workdir, people, items, votes)
    spec.update(_role_ids(spec["url"], spec["meeting"]))
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.minutes", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    if out.returncode != 0:
        raise SystemExit(f"the measured process failed:\n{out.stderr[-3000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    found["wall_s"] = time.perf_counter() - started
    return found


def _role_ids(url: str, meeting_id: int) -> dict[str, int]:
    from sqlmodel import Session, create_engine, select

    from server.models import Participant

    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.exec(
            select(Participant).where(Participant.meeting_id == meeting_id)
        )
        found = {f"{p.role}_id": p.id for p in rows if p.role in ("chair", "secretary")}
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--votes", type=int, default=40)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    with tempfile.TemporaryDirectory(prefix="plenary-bench-minutes-") as tmp:
        base = measure(Path(tmp) / "baseline", 3, 1, 0)
        big = measure(Path(tmp) / "congress", args.people, args.items, args.votes)
    print_report(base, big, args)


def print_report(base: dict, big: dict, args: argparse.Namespace) -> None:
    total = big["render_s"] + big["sign_s"]
    print(
        f"Minutes benchmark (2 shared cores; {args.people} participants, {args.items} items, "
        f"{args.votes} votes)"
    )
    print(f"{'':24}{'baseline (1 page)':>20}{'congress':>14}{'ratio':>9}")
    for label, key in (
        ("render (finalize) s", "render_s"),
        ("sign twice s", "sign_s"),
        ("verify both s", "verify_s"),
        ("peak memory MB", "peak_mb"),
    ):
        print(
            f"{label:24}{base[key]:>20.2f}{big[key]:>14.2f}{big[key] / base[key]:>9.1f}"
        )
    print(
        f"{'PDF size KB':24}{base['bytes'] / 1024:>20.0f}{big['bytes'] / 1024:>14.0f}"
    )
    print(f"both signatures valid: {base['ok'] and big['ok']}")
    verdict = (
        "met" if total < TARGET_SECONDS and big["peak_mb"] < TARGET_MB else "MISSED"
    )
    print(
        f"render + sign: {total:.2f} s (target < {TARGET_SECONDS:.0f} s); peak "
        f"{big['peak_mb']:.0f} MB (target < {TARGET_MB:.0f} MB): {verdict}"
    )


if __name__ == "__main__":
    main()
