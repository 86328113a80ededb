"""The organizer's subcommands of ``plenary``: import participants or an OpenSlides
meeting, copy a meeting, print badges and access cards, archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from server.settings import Settings


def add_organizer_commands(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import-participants", help="import participants from a CSV or XLSX file"
    )
    imp.add_argument("meeting", help="meeting id or key")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--check", action="store_true", help="only show the problems; import nothing"
    )
    imp.set_defaults(handler=cmd_import_participants)

    osl = sub.add_parser(
        "import-openslides", help="import an OpenSlides 4 export (JSON) or CSV file"
    )
    osl.add_argument("file", type=Path)
    osl.add_argument(
        "--meeting", help="meeting that CSV agenda or motion items are added to"
    )
    osl.add_argument(
        "--timezone", default="Asia/Ho_Chi_Minh", help="time zone of the meeting"
    )
    osl.set_defaults(handler=cmd_import_openslides)

    copy = sub.add_parser("copy", help="copy a meeting to prepare the next one")
    copy.add_argument("meeting", help="meeting id or key")
    copy.add_argument("--key")
    copy.add_argument("--title")
    copy.add_argument(
        "--start", help="local start in the meeting's time zone, e.g. 2025-03-10T08:00"
    )
    copy.set_defaults(handler=cmd_copy)

    badges = sub.add_parser(
        "badges", help="write the badges or access cards of a meeting as PDF"
    )
    badges.add_argument("meeting", help="meeting id or key")
    badges.add_argument("-o", "--output", type=Path, required=True)
    badges.add_argument(
        "--layout", default="a4-2x5", help="a4-2x5, a4-2x4 or letter-2x5"
    )
    badges.add_argument(
        "--no-code", action="store_true", help="leave the access code out"
    )
    badges.set_defaults(handler=cmd_badges)

    archive = sub.add_parser("archive", help="archive an ended meeting (read-only)")
    archive.add_argument("meeting", help="meeting id or key")
    archive.set_defaults(handler=cmd_archive)


def _run(settings: Settings, job) -> int:
    from server.cli import _store
    from server.errors import MeetingError

    store = _store(settings)
    try:
        return job(store)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        store.close()


def _meeting_id(store, ref: str) -> int:
    from server.meetings import find_meeting

    return store.read_sync(find_meeting, ref).id


def cmd_import_participants(args: argparse.Namespace, settings: Settings) -> int:
    from server.imports.participants import (
        commit_participants,
        keep_preview,
        read_participant_file,
    )
    from server.staff import COMMAND_LINE

    def job(store) -> int:
        meeting_id = _meeting_id(store, args.meeting)
        preview = read_participant_file(args.file.read_bytes(), args.file.name)
        preview = store.write_sync(keep_preview, meeting_id, preview, COMMAND_LINE)
        print_preview(preview)
        if not preview["rows"]:
            print(
                "The file has no participant rows; nothing was imported.",
                file=sys.stderr,
            )
            return 1
        if not preview["can_commit"]:
            print(
                f"{preview['errors']} problem(s) found; nothing was imported.",
                file=sys.stderr,
            )
            return 1
        if args.check:
            print(_fine(preview))
            return 0
        counts = store.write_sync(
            commit_participants, meeting_id, preview["import_id"], COMMAND_LINE
        )
        print(
            f"Imported {counts['added']} new and updated {counts['updated']} participants."
        )
        return 0

    return _run(settings, job)


def print_preview(preview: dict) -> None:
    print(
        f"{preview['filename']}: {len(preview['rows'])} rows "
        f"({preview['kind']}, {preview['encoding']}), header in row {preview['header_row']}."
    )
    if preview["ignored_columns"]:
        print(
            "Columns left out (their headings are not ones Plenary knows): "
            + ", ".join(preview["ignored_columns"])
        )
    for row in preview["rows"]:
        for name, cell in row["cells"].items():
            for problem in cell["problems"]:
                if problem["level"] != "note":
                    print(
                        f"  row {row['row']}, {name}: {problem['level']}: {problem['message']}"
                    )


def _fine(preview: dict) -> str:
    """What ``--check`` says of a file without errors."""
    rows = preview["rows"]
    updates = sum(1 for row in rows if row["status"] == "update")
    warnings = preview["warnings"]
    notice = f", with {warnings} warning(s) listed above" if warnings else ""
    return (
        f"The file is fine{notice}: its {len(rows)} rows can be imported "
        f"({len(rows) - updates} new, {updates} updated). Nothing was imported; "
        "run the command again without --check to import them."
    )


def cmd_import_openslides(args: argparse.Namespace, settings: Settings) -> int:
    from server.imports import openslides
    from server.staff import COMMAND_LINE

    def job(store) -> int:
        data = args.file.read_bytes()
        if data.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] == b"{":
            read = openslides.read_export_file(data, args.timezone)  # not in the writer
            result = store.write_sync(openslides.store_export, read, COMMAND_LINE)
            print_report(result)
            return 0
        if not args.meeting:
            print(
                "A CSV agenda or motion file is added to a meeting: give it with --meeting.",
                file=sys.stderr,
            )
            return 2
        result = store.write_sync(
            openslides.store_upload,
            _meeting_id(store, args.meeting),
            openslides.read_upload(data),
            args.file.name,
            COMMAND_LINE,
        )
        print(f"Added {result['added']} agenda items ({result['kind']}).")
        return 0

    return _run(settings, job)


def print_report(result: dict) -> None:
    report = result["report"]
    verb = "Imported" if result["created"] else "Updated"
    counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items())
    print(
        f"{verb} meeting {result['meeting_id']} ({result['key']}) from {report['version']}: {counts}."
    )
    sections = [
        ("Figures that contradict each other", report["contradictions"]),
        ("Missing references", report["missing"]),
        ("Hidden items, now internal (staff only)", report["hidden_items"]),
        (
            "Not carried over",
            [f"{n['what']} ({n['count']}): {n['why']}" for n in report["not_carried"]],
        ),
        ("Warnings", report["warnings"]),
    ]
    for title, lines in sections:
        if lines:
            print(f"{title}:")
            for line in lines:
                print(f"  - {line}")


def cmd_copy(args: argparse.Namespace, settings: Settings) -> int:
    from server.meetings import get_meeting
    from server.organization import copy_meeting, parse_local_start
    from server.staff import COMMAND_LINE

    def job(store) -> int:
        source = store.read_sync(get_meeting, _meeting_id(store, args.meeting))
        start = parse_local_start(args.start, source.timezone)
        copy = store.write_sync(
            lambda session: copy_meeting(
                session,
                source.id,
                COMMAND_LINE,
                key=args.key,
                title=args.title,
                starts_at=start,
            )
        )
        local = copy.starts_at.astimezone(ZoneInfo(copy.timezone))
        print(
            f"Copied meeting {source.key} to meeting {copy.id} ({copy.key}), "
            f"starting {local:%Y-%m-%d %H:%M} {copy.timezone}."
        )
        return 0

    return _run(settings, job)


def cmd_badges(args: argparse.Namespace, settings: Settings) -> int:
    from server.badges import badge_sheet, render_pdf

    def job(store) -> int:
        sheet = store.read_sync(
            badge_sheet,
            _meeting_id(store, args.meeting),
            settings.base_url,
            args.layout,
            None,
            not args.no_code,
        )
        args.output.write_bytes(render_pdf(sheet))
        print(
            f"Wrote {len(sheet.cards)} cards on {len(sheet.pages)} page(s) to {args.output}."
        )
        if sheet.shortened:
            print(
                f"{len(sheet.shortened)} name(s) were too long and were shortened on the card.",
                file=sys.stderr,
            )
        return 0

    return _run(settings, job)


def cmd_archive(args: argparse.Namespace, settings: Settings) -> int:
    from server.organization import archive_meeting
    from server.staff import COMMAND_LINE

    def job(store) -> int:
        meeting_id = _meeting_id(store, args.meeting)
        store.write_sync(archive_meeting, meeting_id, COMMAND_LINE)
        print(f"Archived meeting {meeting_id}: it is read-only now.")
        return 0

    return _run(settings, job)
