"""The participant list as a CSV file beside the agenda file.

The first row names the columns, in any order and any letter case. The file is
UTF-8, with or without the byte order mark that spreadsheet programs write. The
separator is a comma, or a semicolon or tab when the header row uses that instead.
Rows are counted as a spreadsheet counts them: the header row is row 1.
"""

from __future__ import annotations

import csv
import io
from difflib import get_close_matches
from pathlib import Path

from server import _agendamessages as msg
from server._agendadocs import locate
from server._agendafields import FieldReader, Place, clean_text

COLUMNS = ("key", "name", "role", "group", "number", "title", "email")
REQUIRED_COLUMNS = ("name", "role")
SEPARATORS = (",", ";", "\t")

Row = tuple[Place, dict[str, str]]


def read_csv_rows(reader: FieldReader, folder: Path, raw: str) -> list[Row]:
    """The participant rows of the CSV file `raw`, each with its place."""
    path = locate(reader, folder, raw, "participants_csv")
    if path is None:
        return []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        reader.report(raw, msg.CSV_NOT_UTF8.format(path=raw))
        return []
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator(text)))
    if not rows:
        reader.report(raw, msg.CSV_EMPTY.format(path=raw))
        return []
    header = read_header(reader, raw, rows[0])
    if header is None:
        return []
    return list(read_body(reader, raw, header, rows))


def separator(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return max(SEPARATORS, key=first_line.count)


def read_header(reader: FieldReader, raw: str, cells: list[str]) -> list[str] | None:
    """The column names, or None when the file cannot be read as a participant list."""
    header = [clean_text(cell).lower() for cell in cells]
    place = Place(f"{raw} row 1", "participant list", csv=True)
    seen: set[str] = set()
    for column in header:
        if column and column not in COLUMNS:
            reader.report(place.of(column), unknown_column(column))
        elif column in seen:
            reader.report(place.of(column), msg.CSV_DOUBLE_COLUMN.format(column=column))
        seen.add(column)
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    for column in missing:
        message = msg.CSV_NO_COLUMN.format(path=raw, column=column)
        reader.report(f"{raw} row 1", message)
    return None if missing else header


def read_body(
    reader: FieldReader, raw: str, header: list[str], rows: list[list[str]]
) -> list[Row]:
    result = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        place = Place(f"{raw} row {number}", "participant", csv=True)
        if any(cell.strip() for cell in cells[len(header) :]):
            message = msg.CSV_EXTRA_CELLS.format(count=len(cells), columns=len(header))
            reader.report(place.base, message)
            continue
        values = {
            col: cell
            for col, cell in zip(header, cells, strict=False)
            if col in COLUMNS
        }
        result.append((place, values))
    return result


def unknown_column(column: str) -> str:
    hint = get_close_matches(column, COLUMNS, n=1, cutoff=0.6)
    if hint:
        return msg.CSV_UNKNOWN_COLUMN_HINT.format(column=column, hint=hint[0])
    allowed = ", ".join(COLUMNS)
    return msg.CSV_UNKNOWN_COLUMN.format(column=column, allowed=allowed)
