"""Participant files as organizers save them, made in memory for the import tests.

The names are invented, in the Vietnamese style: family name, middle name,
given name.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

HEADER = ["Họ và tên", "Đoàn", "Chức vụ", "Ghế", "Email"]
PEOPLE = [
    ["Nguyễn Thị Ánh", "Đoàn Hà Nội", "Đại biểu", "A01", ""],
    ["Trần Văn Đức", "Đoàn Huế", "Trưởng đoàn", "A02", "duc.tv@example.org"],
    ["Lê Văn An", "Đoàn Đà Nẵng", "", "A03", ""],
    ["Phạm Thị Ân", "Đoàn Hà Nội", "", "A04", ""],
    ["Đặng Quốc Bảo", "Đoàn Huế", "", "A05", ""],
    ["Hoàng Thị Ngọc Hoà", "Đoàn Cần Thơ", "", "A06", ""],
]
_LETTER_MARKS = "\u0306\u0302\u031b"


def to_cp1258(text: str) -> bytes:
    """Text in Windows-1258: letters precomposed where the code page has them,
    tone marks as combining characters otherwise, as Vietnamese Windows writes."""
    clusters: list[list[str]] = []
    for char in unicodedata.normalize("NFD", text):
        if clusters and unicodedata.combining(char):
            clusters[-1].append(char)
        else:
            clusters.append([char])
    out = []
    for base, *marks in clusters:
        letter = unicodedata.normalize(
            "NFC", base + "".join(m for m in marks if m in _LETTER_MARKS)
        )
        tones = "".join(m for m in marks if m not in _LETTER_MARKS)
        whole = unicodedata.normalize("NFC", letter + tones)
        try:
            whole.encode("cp1258")
            out.append(whole)
        except UnicodeEncodeError:
            out.append(letter + tones)
    return "".join(out).encode("cp1258")


def csv_text(rows: list[list[str]], separator: str = ",") -> str:
    def quote(value: str) -> str:
        if any(ch in value for ch in (separator, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "\r\n".join(separator.join(quote(v) for v in row) for row in rows) + "\r\n"


def encode(text: str, encoding: str) -> bytes:
    if encoding == "cp1258":
        return to_cp1258(text)
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)  # "utf-16" writes its byte-order mark


def xlsx_bytes(
    rows: list[list[object]],
    *,
    merges: tuple[str, ...] = (),
    blank_rows: int = 0,
    saved_results: dict[str, str] | None = None,
) -> bytes:
    """An .xlsx workbook; ``saved_results`` puts a cached result on formula cells,
    as Excel does when it saves (openpyxl itself saves formulas without one)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for _ in range(blank_rows):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    return _with_results(data, saved_results) if saved_results else data


def _with_results(data: bytes, results: dict[str, str]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode("utf-8")
                for cell, value in results.items():
                    text = re.sub(
                        rf'(<c r="{cell}")([^>]*)>(<f>.*?</f>)<v\s*/?>(</v>)?',
                        rf'\1 t="str"\2>\3<v>{value}</v>',
                        text,
                    )
                content = text.encode("utf-8")
            target.writestr(info, content)
    return target_buffer.getvalue()


def sheet_xml_xlsx(rows_xml: str, dimension: str = "A1:A1") -> bytes:
    """A workbook whose first sheet holds ``rows_xml`` (``<row>`` elements, written
    by hand) under a heading "Họ và tên" in A1, with the declared ``dimension``."""
    base = xlsx_bytes([["Họ và tên"]])
    source = zipfile.ZipFile(io.BytesIO(base))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode("utf-8").replace("A1:A1", dimension)
                text = text.replace(
                    "</row></sheetData>", f"</row>{rows_xml}</sheetData>"
                )
                content = text.encode("utf-8")
            target.writestr(info, content)
    return target_buffer.getvalue()


def text_cell(ref: str, text: str, extra: str = "") -> str:
    return f'<c r="{ref}" t="inlineStr"{extra}><is><t>{text}</t></is></c>'


def wide_xlsx(rows: int = 9000, far: str = "XFD") -> bytes:
    """The attack workbook: each row a name in column A and a value in column
    ``far`` (XFD is the last of 16,384), declared as that wide. About 100 KB."""
    rows_xml = "".join(
        f'<row r="{n}">{text_cell(f"A{n}", f"Người {n}")}{text_cell(f"{far}{n}", "x")}</row>'
        for n in range(2, rows + 2)
    )
    return sheet_xml_xlsx(rows_xml, f"A1:{far}{rows + 1}")
