"""A congress list of 10,000 participants: read, previewed and committed.

Builds a CSV of ``--rows`` participants (9,999 by default: with its header,
the largest file an import accepts) with Vietnamese names, delegations,
seats, ID numbers and emails, then times, in a fresh SQLite database of the
meeting's body:

- reading and checking the file (no database, outside the writer);
- keeping the preview (in the writer: matched against the meeting);
- committing it (in the writer: the time every other write waits);
- committing the same file again (every row an update).

Baseline, measured in the same run: a plain bulk INSERT (executemany) of the
same rows into the participant table, the least any commit must do. The
figures are ratios to it. Target: the commit of 10,000 rows well under 5 s.
The machine has two cores shared with other work; figures are upper bounds.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import select

from server.access import new_access_code
from server.db import Store, migrate
from server.imports.participants import (
    commit_participants,
    keep_preview,
    read_participant_file,
)
from server.imports.tables import MAX_ROWS
from server.models import Body, Meeting, MeetingRecord, Participant
from server.staff import COMMAND_LINE

TARGET_SECONDS = 5.0
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Đặng")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Ngọc", "Minh", "Thanh", "Quốc")
GIVEN = ("Ánh", "Bình", "Cường", "Dũng", "Hạnh", "Hưng", "Lộc", "Tuyết", "Ước")


def build_csv(rows: int) -> bytes:
    lines = ["Họ và tên;Đoàn;Số ghế;Số CCCD;Thư điện tử;Chức vụ"]
    for index in range(rows):
        name = " ".join(
            (
                FAMILY[index % len(FAMILY)],
                MIDDLE[(index // 9) % len(MIDDLE)],
                GIVEN[(index // 72) % len(GIVEN)],
                f"{index:05d}",
            )
        )
        group = f"Đoàn số {index % 40 + 1}"
        lines.append(
            f"{name};{group};{index + 1};{index:012d};dai.bieu{index}@example.org;Đại biểu"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def add_meeting(store: Store) -> int:
    def create(session: Any) -> int:
        body = Body(key="dai-hoi", name="Đại hội đại biểu", kind="congress")
        meeting = Meeting(
            key="dai-hoi-xv",
            title="Đại hội đại biểu lần thứ XV",
            starts_at=datetime(2030, 5, 1, 1, 0, tzinfo=UTC),
            projector_key=secrets.token_urlsafe(8),
        )
        session.add(body)
        session.add(meeting)
        session.flush()
        session.add(MeetingRecord(meeting_id=meeting.id, body_id=body.id))
        return meeting.id

    return store.write_sync(create)


def timed(job: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = job()
    return time.perf_counter() - start, result


def baseline_insert(store: Store, meeting_id: int, preview: dict[str, Any]) -> float:
    """A plain executemany of the same rows into the participant table."""
    rows = [
        {
            "meeting_id": meeting_id,
            "key": f"base-{row['row']}",
            "name": row["cells"]["name"]["value"],
            "role": "delegate",
            "group_name": row["cells"]["group"]["value"],
            "number": "",
            "title": row["cells"]["title"]["value"],
            "email": row["cells"]["email"]["value"],
            "access_code": new_access_code(),
            "sort_order": row["row"],
            "active": True,
        }
        for row in preview["rows"]
    ]

    def insert_all(session: Any) -> None:
        session.execute(insert(Participant), rows)

    seconds, _ = timed(lambda: store.write_sync(insert_all))
    return seconds


def run(rows: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate(url)
        store = Store(url)
        try:
            return _measure(store, rows)
        finally:
            store.close()


def _measure(store: Store, rows: int) -> int:
    data = build_csv(rows)
    base_meeting = add_meeting(store)
    read_s, preview = timed(lambda: read_participant_file(data, "dai-hoi.csv"))
    baseline = baseline_insert(store, base_meeting, preview)

    meeting = store.write_sync(_second_meeting)
    keep_s, kept = timed(
        lambda: store.write_sync(keep_preview, meeting, preview, COMMAND_LINE)
    )
    commit_s, counts = timed(
        lambda: store.write_sync(
            commit_participants, meeting, kept["import_id"], COMMAND_LINE
        )
    )
    again = store.write_sync(keep_preview, meeting, preview, COMMAND_LINE)
    update_s, again_counts = timed(
        lambda: store.write_sync(
            commit_participants, meeting, again["import_id"], COMMAND_LINE
        )
    )

    print(f"participant import, {rows} rows (2 shared cores; upper bounds)")
    print(f"  baseline bulk INSERT      {baseline:7.2f} s")
    _line("read and check (no db)", read_s, baseline, rows)
    _line("keep preview (writer)", keep_s, baseline, rows)
    _line(f"commit, {counts['added']} new (writer)", commit_s, baseline, rows)
    _line(f"commit, {again_counts['updated']} updates", update_s, baseline, rows)
    ok = commit_s < TARGET_SECONDS * rows / 10_000
    print(f"  target: commit under {TARGET_SECONDS:.0f} s per 10,000 rows: {ok}")
    return 0 if ok else 1


def _second_meeting(session: Any) -> int:
    meeting = Meeting(
        key="dai-hoi-xv-2",
        title="Đại hội đại biểu lần thứ XV (phiên 2)",
        starts_at=datetime(2030, 5, 2, 1, 0, tzinfo=UTC),
        projector_key=secrets.token_urlsafe(8),
    )
    session.add(meeting)
    session.flush()
    body = session.exec(select(Body).where(Body.key == "dai-hoi")).one()
    session.add(MeetingRecord(meeting_id=meeting.id, body_id=body.id))
    return meeting.id


def _line(label: str, seconds: float, baseline: float, rows: int) -> None:
    ratio = seconds / baseline if baseline else float("inf")
    rate = rows / seconds if seconds else float("inf")
    print(f"  {label:<26}{seconds:7.2f} s  x{ratio:6.1f}  {rate:9.0f} rows/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # the largest file accepted: MAX_ROWS rows, the header included
    parser.add_argument("--rows", type=int, default=MAX_ROWS - 1)
    args = parser.parse_args(argv)
    if not 1 <= args.rows < MAX_ROWS:
        parser.error(f"--rows must be between 1 and {MAX_ROWS - 1}")
    return run(args.rows)


if __name__ == "__main__":
    sys.exit(main())
