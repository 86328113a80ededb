"""The ``plenary`` command line: serve, check, import, export."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from server._floorcli import add_floor_commands
from server.settings import Settings, load_settings

log = logging.getLogger(__name__)
Handler = Callable[[argparse.Namespace, Settings], int]
LIST_ALL_UP_TO = 25


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    settings = load_settings(**_overrides(args))
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("alembic", "weasyprint", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `plenary addresses 1 | head`
        sys.stderr.close()
        return 0
    except FileNotFoundError as exc:
        print(f"The file {exc.filename} was not found; check its name and folder.", file=sys.stderr)
        return 1
    except IsADirectoryError as exc:
        print(f"{exc.filename} is a folder; give the path of a file.", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(f"Plenary may not read or write {exc.filename}; check its permissions.", file=sys.stderr)
        return 1


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            found[name] = Path(value) if name == "data_dir" else value
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plenary", description="Paperless meeting server.")
    parser.add_argument("--data-dir", help="where the database and documents live (default: ./var)")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="import agenda files (if given) and run the server")
    serve.add_argument("files", nargs="*", type=Path, help="agenda files to import first")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(handler=cmd_serve)

    check = sub.add_parser("check", help="validate an agenda file and print every problem")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=cmd_check)

    imp = sub.add_parser("import", help="import an agenda file (again) into the database")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=cmd_import)

    exp = sub.add_parser("export", help="write a meeting back to an agenda file")
    exp.add_argument("meeting", help="meeting id or key")
    exp.add_argument("-o", "--output", type=Path, help="target file (default: KEY/meeting.toml)")
    exp.set_defaults(handler=cmd_export)

    backup = sub.add_parser("backup", help="copy the database and documents of a running server")
    backup.add_argument("-o", "--output", type=Path, required=True, help="the backup file to write (.tar)")
    backup.set_defaults(handler=cmd_backup)

    restore = sub.add_parser("restore", help="bring a backup back (stop the server first)")
    restore.add_argument("file", type=Path)
    restore.add_argument("--replace", action="store_true", help="overwrite an existing database")
    restore.set_defaults(handler=cmd_restore)

    addresses = sub.add_parser("addresses", help="print the addresses and access codes of a meeting")
    addresses.add_argument("meeting", help="meeting id or key")
    addresses.set_defaults(handler=cmd_addresses)
    from server._minutescli import add_minutes_commands

    add_minutes_commands(sub)  # keys init, minutes render, sign, verify
    from server.organize_cli import add_organizer_commands

    add_organizer_commands(sub)  # import-participants, import-openslides, copy, badges
    add_floor_commands(sub)  # recount
    return parser


def _store(settings: Settings):
    from server.db import Store, migrate

    url = settings.resolved_database_url
    migrate(url)
    return Store(url)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from server.agendafile import check_agenda

    problems = check_agenda(args.file)
    for problem in problems:
        print(_problem_line(args.file, problem), file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found. Fix them and check the file again.", file=sys.stderr)
        return 1
    print(f"{args.file}: no problems found.")
    return 0


def _problem_line(path: Path, problem) -> str:
    """One problem per line, led by the file unless the problem names it already."""
    return str(problem) if problem.where == path.name else f"{path}: {problem}"


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    results = _import_files([args.file], settings)
    if results is None:
        return 1
    return 0


def _import_files(files: list[Path], settings: Settings) -> list | None:
    from server.agendafile import AgendaFileError
    from server.agendaimport import import_agenda_file

    store = _store(settings)
    results = []
    try:
        for path in files:
            try:
                result = import_agenda_file(store, settings.documents_dir, path)
            except AgendaFileError as exc:
                for problem in exc.problems:
                    print(_problem_line(path, problem), file=sys.stderr)
                print(f"{len(exc.problems)} problem(s) found; nothing was imported.", file=sys.stderr)
                return None
            verb = "Imported" if result.created else "Updated"
            counts = ", ".join(f"{v} {k}" for k, v in result.counts.items())
            print(f"{verb} meeting {result.meeting_id} from {path} ({counts}).")
            results.append(result)
    finally:
        store.close()
    return results


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from server.agendaimport import export_meeting
    from server.errors import MeetingError

    store = _store(settings)
    try:
        target = args.output or Path(args.meeting) / "meeting.toml"
        spec = export_meeting(store, settings.documents_dir, args.meeting, target)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Exported meeting {spec.key} to {target}.")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup import make_backup
    from server.errors import MeetingError

    try:
        manifest = make_backup(settings.resolved_database_url, settings.data_dir, args.output)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Backup written to {args.output} ({len(manifest['files'])} files).")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup import restore_backup
    from server.errors import MeetingError

    try:
        manifest = restore_backup(args.file, settings.resolved_database_url,
                                  settings.data_dir, replace=args.replace)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Restored the backup of {manifest['created']} into {settings.data_dir}.")
    return 0


def cmd_addresses(args: argparse.Namespace, settings: Settings) -> int:
    from server.errors import MeetingError
    from server.meetings import find_meeting

    store = _store(settings)
    try:
        meeting = store.read_sync(find_meeting, args.meeting)
        print_addresses(store, settings, [meeting.id])
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _quiet_collector() -> None:
    """Fewer, shorter garbage collections while the server runs.

    What start-up built (modules, tables, templates) lives as long as the process:
    frozen, no collection walks it again. A larger young generation lets a
    ballot's short-lived objects die before they are promoted; with the default
    of 700, collections of the older generations took 10 to 140 ms each while a
    hall of 1,600 voted, every tablet's ballot waiting behind them (bench/ballots.py).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.app import create_app

    results = _import_files(args.files, settings) if args.files else []
    if results is None:
        return 1
    from server.library import remove_stale_uploads

    remove_stale_uploads(settings.documents_dir)  # what a crash cut off (kill -9, power loss)
    store = _store(settings)
    try:
        ids = [r.meeting_id for r in results] or _all_meeting_ids(store)
        print_addresses(store, settings, ids, serving=True)
    finally:
        store.close()
    app = create_app(settings)
    _quiet_collector()
    # No protocol-level pings: the hub's heartbeat (a ping message every
    # PLENARY_HEARTBEAT_SECONDS, answered by the tablet) already finds dead sockets.
    uvicorn.run(app, host=settings.host, port=settings.port,
                ws="websockets-sansio", ws_per_message_deflate=False, ws_max_size=128 * 1024,
                ws_ping_interval=None, backlog=4096, log_level=settings.log_level,
                timeout_graceful_shutdown=5)
    return 0


def _all_meeting_ids(store) -> list[int]:
    from server.meetings import list_meetings

    return [m.id for m in store.read_sync(list_meetings)]


def print_addresses(store, settings: Settings, meeting_ids: list[int],
                    serving: bool = False) -> None:
    from server.meetings import get_meeting
    from server.participants import list_participants

    base = settings.base_url
    for meeting_id in meeting_ids:
        meeting = store.read_sync(get_meeting, meeting_id)
        people = store.read_sync(list_participants, meeting_id)
        print(f"\n== {meeting.title} (meeting {meeting.id}, key {meeting.key})")
        print(f"   Projector:     {base}/m/{meeting.id}/projector?key={meeting.projector_key}")
        print(f"   Access cards:  {base}/m/{meeting.id}/cards.pdf (organizer login needed)")
        print(f"   Delegates log in at {base}/login with the code on their card, or scan its QR code.")
        shown = people if len(people) <= LIST_ALL_UP_TO else [
            p for p in people if p.role != "delegate"] + [
            p for p in people if p.role == "delegate"][:5]
        for person in shown:
            link = f"{base}/login?code={person.access_code}"
            name = person.name if len(person.name) <= 40 else person.name[:39] + "…"
            print(f"   {person.role:<10} {name:<40} {link}")
        if len(shown) < len(people):
            print(f"   ... and {len(people) - len(shown)} more delegates: see the access cards.")
    if settings.host in ("0.0.0.0", "::") and not settings.public_url:
        if "//127." in base:
            print("\n   Warning: Plenary could not find this machine's network address, so "
                  "the links above only work on this machine. Set PLENARY_PUBLIC_URL to "
                  "the address tablets use (it also goes into the QR codes).")
        else:
            print(f"\n   Note: tablets reach this server at {base}; if that is wrong, set "
                  "PLENARY_PUBLIC_URL to the address they use (it also goes into the QR codes).")
    stop = " Press Ctrl+C to stop." if serving else ""
    print(f"\nOpen {base}/login on each device.{stop}\n", flush=True)
