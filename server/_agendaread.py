"""Reading an agenda file: the TOML itself, the meeting and its agenda items.

The reader goes through the whole file even after the first problem, so that the
person preparing the meeting sees everything to fix in one go.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from server import _agendamessages as msg
from server._agendadocs import read_documents
from server._agendafields import FieldReader, Place, clean_tree
from server._agendapeople import read_participants
from server._agendaspec import (
    DEFAULT_TIMEZONE,
    LANGUAGES,
    AgendaProblem,
    ItemSpec,
    MeetingSpec,
)
from server._floorsettings import check_settings

FORMAT = 1
TOP_FIELDS = ("format", "meeting", "participants", "participants_csv", "items")
MEETING_FIELDS = (
    *("key", "title", "body", "start", "end", "timezone"),
    *("place", "language", "description", "settings"),
)
ITEM_FIELDS = (
    *("key", "title", "description", "duration"),
    *("presenter", "internal", "documents", "items"),
)
TITLE_LIMIT = 500
DESCRIPTION_LIMIT = 20_000
NAME_LIMIT = 200
MAX_DEPTH = 10
DATETIME_EXAMPLE = "a date and time without quotes, such as 2020-11-16T14:00:00"
SYNTAX_PLACE = re.compile(
    r"(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)"
)
SYNTAX_END = re.compile(r"(?P<reason>.*) \(at end of document\)")

TOP = Place("", "agenda file")


def parse_agenda(path: Path) -> tuple[MeetingSpec | None, list[AgendaProblem]]:
    """The meeting described by the file at `path`, or None and its problems."""
    reader = FieldReader()
    data = load_toml(reader, path)
    if data is None:
        return None, reader.problems
    spec = read_spec(reader, data, path.resolve().parent)
    if reader.problems:
        return None, reader.problems
    return spec, []


def load_toml(reader: FieldReader, path: Path) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        reader.report(path.name, msg.IS_FOLDER.format(name=path.name))
        return None
    except OSError:
        reader.report(path.name, msg.NO_FILE.format(name=path.name))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        reader.report(path.name, msg.NOT_UTF8.format(name=path.name), line)
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        report_syntax(reader, path.name, text, str(error))
        return None
    except RecursionError:  # arrays or tables nested thousands deep
        reader.report(path.name, msg.TOML_TOO_DEEP.format(name=path.name))
        return None


def report_syntax(reader: FieldReader, name: str, text: str, error: str) -> None:
    """Turn the parser's message into a sentence that names the line and column."""
    if match := SYNTAX_PLACE.fullmatch(error):
        line, column = int(match["line"]), int(match["column"])
    elif match := SYNTAX_END.fullmatch(error):
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    else:
        reader.report(name, msg.SYNTAX_NO_PLACE.format(name=name, reason=error))
        return
    reason = match["reason"]
    message = msg.SYNTAX.format(name=name, line=line, column=column, reason=reason)
    reader.report(name, message, line)


def read_spec(
    reader: FieldReader, data: dict[str, Any], folder: Path
) -> MeetingSpec | None:
    reader.check_fields(data, TOP_FIELDS, TOP)
    check_format(reader, data)
    meeting = read_meeting(reader, data)
    participants = read_participants(reader, data, folder)
    items = read_items(reader, data, TOP, folder, depth=1, seen={})
    if meeting is None:
        return None
    meeting.participants, meeting.items = participants, items
    return meeting


def check_format(reader: FieldReader, data: dict[str, Any]) -> None:
    value = data.get("format")
    if value is None:
        reader.report("format", msg.NO_FORMAT)
    elif value != FORMAT or isinstance(value, bool):
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        reader.report("format", msg.WRONG_FORMAT.format(value=shown))


def read_meeting(reader: FieldReader, data: dict[str, Any]) -> MeetingSpec | None:
    table = data.get("meeting")
    if table is None:
        reader.report("meeting", msg.NO_MEETING)
        return None
    if not isinstance(table, dict):
        reader.wrong_type(TOP, "meeting", "a table written as [meeting]", table)
        return None
    place = Place("meeting", "meeting")
    reader.check_fields(table, MEETING_FIELDS, place)

    problems_before = len(reader.problems)
    values = read_meeting_texts(reader, table, place)
    values.update(read_meeting_times(reader, table, place))
    values["settings"] = read_settings(reader, table, place)
    if len(reader.problems) > problems_before:
        return None
    return MeetingSpec(**values)


def read_meeting_texts(
    reader: FieldReader, table: dict[str, Any], place: Place
) -> dict[str, Any]:
    return {
        "key": reader.key(table, "key", place),
        "title": reader.text(table, "title", place, TITLE_LIMIT, required=True),
        "body": reader.text(table, "body", place, TITLE_LIMIT) or "",
        "place": reader.text(table, "place", place, TITLE_LIMIT) or "",
        "language": read_language(reader, table, place),
        "description": reader.text(table, "description", place, DESCRIPTION_LIMIT)
        or "",
    }


def read_language(reader: FieldReader, table: dict[str, Any], place: Place) -> str:
    language = reader.text(table, "language", place, NAME_LIMIT) or "vi"
    if language not in LANGUAGES:
        reader.report(place.of("language"), msg.BAD_LANGUAGE.format(value=language))
    return language


def read_meeting_times(
    reader: FieldReader, table: dict[str, Any], place: Place
) -> dict[str, Any]:
    name = reader.text(table, "timezone", place, NAME_LIMIT) or DEFAULT_TIMEZONE
    zone = read_zone(reader, name, place)
    start = read_moment(reader, table, "start", place, zone, required=True)
    end = read_moment(reader, table, "end", place, zone, required=False)
    if start is not None and end is not None and end <= start:
        message = msg.END_BEFORE_START.format(
            end=f"{end:%Y-%m-%d %H:%M}", start=f"{start:%Y-%m-%d %H:%M}"
        )
        reader.report(place.of("end"), message)
    return {"timezone": name, "start": start, "end": end}


def read_zone(reader: FieldReader, name: str, place: Place) -> ZoneInfo | None:
    if name in available_timezones():
        try:
            return ZoneInfo(name)
        except (KeyError, OSError, ValueError):
            pass
    reader.report(place.of("timezone"), msg.BAD_TIMEZONE.format(value=name))
    return None


def read_moment(
    reader: FieldReader,
    table: dict[str, Any],
    field: str,
    place: Place,
    zone: ZoneInfo | None,
    required: bool,
) -> datetime | None:
    """A point in time in the meeting's zone; a local time is taken to be in it."""
    value = table.get(field)
    if value is None:
        if required:
            reader.missing(place, field)
        return None
    if not isinstance(value, datetime):
        reader.wrong_type(place, field, DATETIME_EXAMPLE, value)
        return None
    if zone is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def read_settings(
    reader: FieldReader, table: dict[str, Any], place: Place
) -> dict[str, Any]:
    settings = table.get("settings", {})
    if not isinstance(settings, dict):
        reader.wrong_type(place, "settings", "a table", settings)
        return {}
    cleaned = clean_tree(settings)
    # The meeting floor documents these settings (docs/floor.md) and checks them.
    for where, message in check_settings(cleaned):
        reader.report(where, message)
    return cleaned


def read_items(
    reader: FieldReader,
    table: dict[str, Any],
    place: Place,
    folder: Path,
    depth: int,
    seen: dict[str, str],
) -> list[ItemSpec]:
    """The agenda items listed under `table`, with their children, in file order."""
    entries = reader.tables(table, "items", place, "agenda item")
    if entries and depth > MAX_DEPTH:
        reader.report(entries[0][0].base, msg.TOO_DEEP.format(limit=MAX_DEPTH))
        return []
    return [
        read_item(reader, entry, entry_place, folder, depth, seen)
        for entry_place, entry in entries
    ]


def read_item(
    reader: FieldReader,
    table: dict[str, Any],
    place: Place,
    folder: Path,
    depth: int,
    seen: dict[str, str],
) -> ItemSpec:
    reader.check_fields(table, ITEM_FIELDS, place)
    key = reader.key(table, "key", place) or ""
    ensure_new_item_key(reader, key, place, seen)
    return ItemSpec(
        key=key,
        title=reader.text(table, "title", place, TITLE_LIMIT, required=True) or "",
        description=reader.text(table, "description", place, DESCRIPTION_LIMIT) or "",
        duration_min=read_duration(reader, table, place),
        presenter=reader.text(table, "presenter", place, NAME_LIMIT),
        internal=reader.flag(table, "internal", place),
        documents=read_documents(reader, table, place, folder),
        items=read_items(reader, table, place, folder, depth + 1, seen),
    )


def ensure_new_item_key(
    reader: FieldReader, key: str, place: Place, seen: dict[str, str]
) -> None:
    if key in seen:
        message = msg.DUPLICATE_ITEM.format(key=key, first=seen[key])
        reader.report(place.of("key"), message)
    elif key:
        seen[key] = place.of("key")


def read_duration(
    reader: FieldReader, table: dict[str, Any], place: Place
) -> int | None:
    value = table.get("duration")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        reader.wrong_type(place, "duration", "a whole number of minutes", value)
        return None
    if isinstance(value, float) or value <= 0:
        reader.report(place.of("duration"), msg.BAD_DURATION.format(value=value))
        return None
    return value
