"""Spreadsheets as people save them, read into rows of text.

Rules:
- A CSV file may be UTF-8 with or without a byte-order mark, UTF-16 (with a
  mark, or without one when every other byte is zero) or Windows-1258, the
  Vietnamese Windows code page. Text that is not valid UTF-8 is read as
  Windows-1258. All text is normalised to Unicode NFC, so names typed with
  combining tone marks compare equal to names typed with precomposed letters.
- The separator is ``;``, ``,`` or a tab, whichever the file uses; quoted
  fields may hold separators, doubled quotes and line breaks.
- An XLSX file is read in streaming mode (one row at a time) from its first
  sheet. A formula cell gives the result Excel saved with it; a formula without
  a saved result is marked. A merged range gives its value to every cell it
  covers, and the cell is marked as taken from the merged range.
- Empty rows are skipped; each row keeps the number it has in the file.
- A file larger than ``MAX_BYTES`` or with more than ``MAX_ROWS`` rows is refused.
- Only the first ``MAX_COLUMNS`` columns are read: a value further right, or
  more than ``MAX_CELLS`` cells in all, refuses the file. (A workbook can name
  cell XFD1 in a few bytes; read as it is, every row would grow to 16,384
  cells.) The sheet's declared dimension is not trusted.
- Reading is plain CPU work without the database: callers run it outside the
  single writer thread.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from server.errors import InvalidInputError

MAX_BYTES = 25 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 50
MAX_CELLS = MAX_ROWS * MAX_COLUMNS
MAX_SHEET_XML = 600 * 1024 * 1024  # uncompressed; a bigger sheet is a zip bomb
MAX_PART_XML = 100 * 1024 * 1024  # any other part of a workbook (shared strings …)
SEPARATORS = ";,\t"
FORMULA_STARTS = ("=", "+", "-", "@")  # what a spreadsheet may run as a formula


def spreadsheet_safe(value: object) -> object:
    """A value for a CSV export: text a spreadsheet would run as a formula gets
    an apostrophe before it and is shown as written; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS + ("\t", "\r")):
        return "'" + value
    return value


@dataclass
class SourceRow:
    number: int  # row number in the file (line of the record in a CSV)
    values: list[str]
    notes: dict[int, str] = field(default_factory=dict)  # column index -> note


@dataclass
class Table:
    rows: list[SourceRow]
    encoding: str = ""
    separator: str = ""
    kind: str = "csv"


def read_table(data: bytes, filename: str) -> Table:
    """The rows of a CSV or XLSX file, told apart by content, not by name."""
    if len(data) > MAX_BYTES:
        raise InvalidInputError(
            "The file is larger than {limit} MB. Split it into smaller files.",
            limit=MAX_BYTES // (1024 * 1024),
        )
    if data[:4] == b"PK\x03\x04":
        return read_xlsx(data)
    if filename.lower().endswith((".xls", ".xlsx", ".ods")):
        raise InvalidInputError(
            "The file {name} is not an Excel workbook (.xlsx). Save it as .xlsx or as CSV and try again.",
            name=filename,
        )
    return read_csv(data)


# -- CSV ---------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The text of ``data`` and the name of the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    utf16 = _utf16_without_mark(data)
    if utf16:
        return data.decode(utf16, errors="replace"), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1258", errors="replace"), "cp1258"


def _utf16_without_mark(data: bytes) -> str | None:
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0) / len(sample[0::2])
    odd_zeros = sample[1::2].count(0) / len(sample[1::2])
    if odd_zeros > 0.3 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.3 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    text = unicodedata.normalize("NFC", text)
    separator = sniff_separator(text)
    if text.count(separator) > MAX_CELLS:
        _refuse_cells()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows: list[SourceRow] = []
    line = 1
    for record in reader:
        number, line = line, reader.line_num + 1
        values = [value.strip() for value in _first_columns(record, number)]
        if any(values):
            rows.append(SourceRow(number, values))
            _ensure_row_limit(rows)
    return Table(rows, encoding=encoding, separator=separator, kind="csv")


def sniff_separator(text: str) -> str:
    """``;``, ``,`` or tab: what csv.Sniffer finds, checked against the header."""
    sample = text[:16384]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        found = ""
    first = _first_line(sample)
    counts = {sep: _count_outside_quotes(first, sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    # The sniffer can be led astray by commas inside names; the header line,
    # which holds no names, decides when the two disagree.
    if not found or counts.get(found, 0) < counts[best]:
        return best if counts[best] else ","
    return found


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(" ;,\t"):
            return line
    return ""


def _count_outside_quotes(line: str, separator: str) -> int:
    return sum(part.count(separator) for part in line.split('"')[0::2])


def _first_columns(record: list[str], number: int) -> list[str]:
    """The first MAX_COLUMNS fields of a CSV record; a value further right refuses the file."""
    for index in range(MAX_COLUMNS, len(record)):
        if record[index].strip():
            raise InvalidInputError(
                "Row {row} has a value in column {column}, but a participant list may use only the first {limit} columns. Delete the columns after column {limit} and try again.",
                row=number,
                column=index + 1,
                limit=MAX_COLUMNS,
            )
    return record[:MAX_COLUMNS]


def _refuse_cells() -> None:
    raise InvalidInputError(
        "The file has more than {limit} cells. A participant list has at most {rows} rows of {columns} columns: split it into smaller files.",
        limit=f"{MAX_CELLS:,}",
        rows=f"{MAX_ROWS:,}",
        columns=MAX_COLUMNS,
    )


def _ensure_row_limit(rows: list[SourceRow]) -> None:
    if len(rows) > MAX_ROWS:
        raise InvalidInputError(
            "The file has more than {limit} rows. Split it into smaller files.",
            limit=MAX_ROWS,
        )


# -- XLSX --------------------------------------------------------------------

_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_CELL_WITH_FORMULA = re.compile(
    rb'<c r="([A-Z]+)(\d+)"[^>]*>\s*<f[^>]*(?:/>|>[^<]*</f>)\s*(<v>[^<]|<v></v>|<v/>|</c>)'
)
_UNSAVED = (b"<v></v>", b"<v/>", b"</c>")
# a cell's start tag (with or without a namespace prefix) and its reference
_CELL_TAG = re.compile(rb"<(?:\w+:)?c(?=[\s>/])([^>]*)>")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')


@dataclass
class SheetScan:
    """What the streaming reader of openpyxl does not tell: merges, formulas."""

    merges: set[tuple[int, int, int, int]] = field(default_factory=set)
    unsaved_formulas: set[tuple[int, int]] = field(default_factory=set)
    formulas: set[tuple[int, int]] = field(default_factory=set)
    cells: int = 0


def _unreadable() -> InvalidInputError:
    return InvalidInputError(
        "The file cannot be read as an Excel workbook. Open it in Excel, save it again as .xlsx, and try again."
    )


def read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    _check_parts(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise _unreadable() from None
    try:
        sheet = book.worksheets[0]
        scan = scan_sheet(data, _sheet_part(book))
        rows = _sheet_rows(sheet, scan)
    finally:
        book.close()
    return Table(rows, encoding="xlsx", kind="xlsx")


def _sheet_part(book) -> str:
    # the archive path of the first sheet, e.g. "xl/worksheets/sheet1.xml"
    sheet = book.worksheets[0]
    return getattr(sheet, "_worksheet_path", None) or "xl/worksheets/sheet1.xml"


def _check_parts(data: bytes) -> None:
    """Refuse a workbook whose parts unpack to more than anyone's participant list."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        raise _unreadable() from None
    for info in parts:
        limit = (
            MAX_SHEET_XML
            if info.filename.startswith("xl/worksheets/")
            else MAX_PART_XML
        )
        if info.file_size > limit:
            raise InvalidInputError(
                "The workbook is too large to read once unpacked. Keep only the participant list in it, or split it into smaller files."
            )


def scan_sheet(data: bytes, part: str) -> SheetScan:
    """Find merged ranges, formula cells and the cells' extent by streaming the sheet's XML."""
    scan = SheetScan()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(part.lstrip("/"))
        if info.file_size > MAX_SHEET_XML:
            raise InvalidInputError(
                "The workbook's first sheet is too large to read. Split it into smaller files."
            )
        with archive.open(info) as handle:
            tail = pending = b""
            while chunk := handle.read(1 << 20):
                block = tail + chunk
                _scan_block(block, scan)
                tail = block[-4096:]
                pending = _count_cells(pending + chunk, scan)
            _count_cells(pending + b"<", scan)
    return scan


def _count_cells(text: bytes, scan: SheetScan) -> bytes:
    """Count the cell tags that end before the last "<" of ``text``; return the rest.

    Each tag is looked at once, so the count stops a sheet of millions of
    cells early, and a value right of the allowed columns is found wherever it is.
    """
    cut = text.rfind(b"<")
    if cut < 0:
        return text
    for match in _CELL_TAG.finditer(text, 0, cut):
        scan.cells += 1
        if scan.cells > MAX_CELLS:
            _refuse_cells()
        attributes = match.group(1)
        if attributes.endswith(b"/"):
            continue  # an empty cell: formatting only
        ref = _CELL_REF.search(attributes)
        if ref and _column_index(ref.group(1)) >= MAX_COLUMNS:
            _refuse_column((ref.group(1) + ref.group(2)).decode())
    return text[cut:]


def _refuse_column(cell: str) -> None:
    last = _column_letters(MAX_COLUMNS - 1)
    raise InvalidInputError(
        "Cell {cell} holds a value, but a participant list may use only the first {limit} columns (A to {last}). Delete the columns after {last} and try again.",
        cell=cell,
        limit=MAX_COLUMNS,
        last=last,
    )


def _column_letters(index: int) -> str:
    """ "A" for 0, "AX" for 49."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _scan_block(block: bytes, scan: SheetScan) -> None:
    for match in _MERGE.finditer(block):
        first_col, first_row, last_col, last_row = match.groups()
        scan.merges.add(
            (
                int(first_row),
                _column_index(first_col),
                int(last_row),
                _column_index(last_col),
            )
        )
    for match in _CELL_WITH_FORMULA.finditer(block):
        cell = (int(match.group(2)), _column_index(match.group(1)))
        scan.formulas.add(cell)
        if match.group(3) in _UNSAVED:
            scan.unsaved_formulas.add(cell)


def _column_index(letters: bytes) -> int:
    """0-based column of "A", "B" ... "AA"."""
    index = 0
    for letter in letters.decode():
        index = index * 26 + (ord(letter) - 64)
    return index - 1


Covered = dict[int, list[tuple[int, int, int]]]


def _sheet_rows(sheet, scan: SheetScan) -> list[SourceRow]:
    covered = _merged_cells(scan)
    unsaved: dict[int, list[int]] = {}
    for number, col in scan.unsaved_formulas:
        unsaved.setdefault(number, []).append(col)
    rows: list[SourceRow] = []
    firsts: dict[tuple[int, int], str] = {}  # first cells of merged ranges
    sheet.reset_dimensions()  # the declared dimension may be wrong, or a trap
    rows_read = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    for number, raw in enumerate(rows_read, start=1):
        if not any(raw) and number not in covered:
            continue
        values = [cell_text(value) for value in raw]
        while values and not values[-1]:
            values.pop()
        row = SourceRow(number, values)
        _fill_merged(row, covered.get(number, []), firsts)
        for col in unsaved.get(number, []):
            row.notes[col] = "formula without a saved result"
        if any(row.values):
            rows.append(row)
            _ensure_row_limit(rows)
    width = max((len(row.values) for row in rows), default=0)
    for row in rows:
        row.values.extend([""] * (width - len(row.values)))
    return rows


def _merged_cells(scan: SheetScan) -> Covered:
    """Row -> (column, first row, first column) of every cell a merge covers."""
    covered: Covered = {}
    for first_row, first_col, last_row, last_col in scan.merges:
        if (last_row - first_row + 1) * (last_col - first_col + 1) > MAX_ROWS * 4:
            continue  # a whole-column merge is decoration, not data
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                covered.setdefault(row, []).append((col, first_row, first_col))
    return covered


def _fill_merged(
    row: SourceRow,
    cells: list[tuple[int, int, int]],
    firsts: dict[tuple[int, int], str],
) -> None:
    for col, first_row, first_col in cells:
        if (row.number, col) == (first_row, first_col):
            firsts[(first_row, first_col)] = _value_at(row, col)
            continue
        value = firsts.get((first_row, first_col), "")
        if value:
            row.values.extend([""] * (col + 1 - len(row.values)))
            row.values[col] = value
            row.notes[col] = f"merged with the cell in row {first_row}"


def _value_at(row: SourceRow, col: int) -> str:
    return row.values[col] if col < len(row.values) else ""


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.min.time()
            else value.isoformat(sep=" ")
        )
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()
