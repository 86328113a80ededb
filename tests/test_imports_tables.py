"""Reading spreadsheets as people save them (server/imports/tables.py)."""

from __future__ import annotations

import io
import unicodedata

import pytest

from server.errors import InvalidInputError
from server.imports import tables
from server.imports.tables import read_table
from tests._participant_files import (
    HEADER,
    PEOPLE,
    csv_text,
    encode,
    sheet_xml_xlsx,
    text_cell,
    wide_xlsx,
    xlsx_bytes,
)

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1258"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_csv_in_every_encoding_and_separator_gives_the_vietnamese_names(
    encoding, separator
):
    data = encode(csv_text([HEADER, *PEOPLE], separator), encoding)

    table = read_table(data, "dai-bieu.csv")

    assert table.separator == separator
    assert [row.values for row in table.rows] == [HEADER, *PEOPLE]


@pytest.mark.parametrize(
    "encoding,found",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("cp1258", "cp1258"),
    ],
)
def test_csv_encoding_is_recognised(encoding, found):
    data = encode(csv_text([HEADER, *PEOPLE]), encoding)

    assert read_table(data, "x.csv").encoding == found


def test_windows_1258_names_with_combining_tone_marks_come_out_precomposed():
    data = encode(
        csv_text([["Họ và tên"], ["Nguyễn Thị Ánh"], ["Đặng Quốc Bảo"]]), "cp1258"
    )
    assert b"\xd2" in data  # the dot below is stored as a combining mark

    names = [row.values[0] for row in read_table(data, "x.csv").rows[1:]]

    assert names == ["Nguyễn Thị Ánh", "Đặng Quốc Bảo"]
    assert all(unicodedata.is_normalized("NFC", name) for name in names)


def test_quoted_fields_keep_separators_quotes_and_line_breaks():
    rows = [
        ["Họ và tên", "Chức vụ"],
        ["Nguyễn Văn Bình", 'Chủ nhiệm "Ủy ban"; khóa XV,\nkiêm Trưởng đoàn'],
    ]
    for separator in ",;":
        table = read_table(csv_text(rows, separator).encode(), "x.csv")

        assert table.rows[1].values == rows[1]


def test_semicolon_file_with_commas_inside_names_is_read_with_semicolons():
    text = "Họ và tên;Đoàn\nNguyễn Văn A, Jr.;Đoàn Huế\nLê B, C, D;Đoàn Huế\n"

    table = read_table(text.encode(), "x.csv")

    assert table.separator == ";"
    assert table.rows[1].values == ["Nguyễn Văn A, Jr.", "Đoàn Huế"]


def test_empty_rows_are_skipped_and_rows_keep_their_line_number():
    text = '\n\nHọ và tên,Đoàn\n,\n"Lê\nVăn An",Huế\nTrần Đức,Huế\n'

    table = read_table(text.encode(), "x.csv")

    assert [row.number for row in table.rows] == [3, 5, 7]


def test_xlsx_with_an_empty_first_row_keeps_row_numbers():
    data = xlsx_bytes([HEADER, *PEOPLE], blank_rows=1)

    table = read_table(data, "dai-bieu.xlsx")

    assert table.kind == "xlsx"
    assert table.rows[0].number == 2
    assert table.rows[1].values == PEOPLE[0]


def test_xlsx_merged_delegation_cell_is_given_to_every_row_it_covers():
    rows = [
        HEADER,
        ["Nguyễn Thị Ánh", "Đoàn Hà Nội", "", "", ""],
        ["Phạm Thị Ân", None, "", "", ""],
        ["Lê Văn An", "Đoàn Đà Nẵng", "", "", ""],
    ]

    table = read_table(xlsx_bytes(rows, merges=("B2:B3",)), "x.xlsx")

    assert table.rows[2].values[1] == "Đoàn Hà Nội"
    assert table.rows[2].notes == {1: "merged with the cell in row 2"}
    assert table.rows[1].notes == {}


def test_xlsx_formula_gives_its_saved_result():
    rows = [HEADER, ["Lê Văn An", '="Đoàn "&"Huế"', "", "", ""]]

    table = read_table(xlsx_bytes(rows, saved_results={"B2": "Đoàn Huế"}), "x.xlsx")

    assert table.rows[1].values[1] == "Đoàn Huế"
    assert table.rows[1].notes == {}


def test_xlsx_formula_without_saved_result_is_marked():
    rows = [HEADER, ["Lê Văn An", '="Đoàn "&"Huế"', "", "", ""]]

    table = read_table(xlsx_bytes(rows), "x.xlsx")

    assert table.rows[1].values[1] == ""
    assert table.rows[1].notes == {1: "formula without a saved result"}


def test_xlsx_numbers_and_dates_become_plain_text():
    from datetime import datetime

    table = read_table(
        xlsx_bytes(
            [["Họ và tên", "Ghế", "Ngày"], ["Lê Văn An", 12, datetime(2025, 3, 1)]]
        ),
        "x.xlsx",
    )

    assert table.rows[1].values == ["Lê Văn An", "12", "2025-03-01"]


def test_a_file_too_large_is_refused_with_its_limit():
    with pytest.raises(InvalidInputError) as caught:
        read_table(b"x" * (tables.MAX_BYTES + 1), "big.csv")

    assert (
        caught.value.message
        == "The file is larger than 25 MB. Split it into smaller files."
    )


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(tables, "MAX_ROWS", 3)
    text = csv_text([HEADER, *PEOPLE])

    with pytest.raises(InvalidInputError) as caught:
        read_table(text.encode(), "x.csv")

    assert (
        caught.value.message
        == "The file has more than 3 rows. Split it into smaller files."
    )


def test_an_old_excel_file_is_refused_with_what_to_do():
    with pytest.raises(InvalidInputError) as caught:
        read_table(b"\xd0\xcf\x11\xe0 old binary excel", "dai-bieu.xls")

    assert (
        caught.value.message
        == "The file dai-bieu.xls is not an Excel workbook (.xlsx). Save it as .xlsx or as CSV and try again."
    )


def test_a_broken_workbook_is_refused_with_what_to_do():
    with pytest.raises(InvalidInputError) as caught:
        read_table(b"PK\x03\x04 not really a zip", "x.xlsx")

    assert (
        caught.value.message
        == "The file cannot be read as an Excel workbook. Open it in Excel, save it again as .xlsx, and try again."
    )


@pytest.mark.slow
def test_a_20_mb_workbook_is_read_in_streaming_mode():
    import os

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Họ và tên", "Đoàn", "Ghi chú"])
    for number in range(5000):
        # incompressible notes make the file as large as one with photos
        sheet.append([f"Nguyễn Văn Số {number}", "Đoàn Huế", os.urandom(3700).hex()])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    assert 20 * 1024 * 1024 <= len(data) <= tables.MAX_BYTES

    table = read_table(data, "dai-hoi.xlsx")

    assert len(table.rows) == 5001
    assert table.rows[-1].values[0] == "Nguyễn Văn Số 4999"


# -- columns and cells: what a workbook can claim in a few bytes ------------------


def test_a_workbook_with_a_value_far_right_is_refused_at_once():
    import time
    import tracemalloc

    data = wide_xlsx(9000)  # 9,000 rows with a cell in A and in XFD
    assert len(data) < 200_000
    tracemalloc.start()
    started = time.perf_counter()

    with pytest.raises(InvalidInputError) as caught:
        read_table(data, "dai-hoi.xlsx")

    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (
        caught.value.message
        == "Cell XFD2 holds a value, but a participant list may use only the first 50 columns (A to AX). Delete the columns after AX and try again."
    )
    assert elapsed < 5  # it took 11 s and 1.2 GB when every row grew to 16,384 cells
    assert peak < 50 * 1024 * 1024


def test_empty_cells_far_right_are_ignored_and_rows_stay_narrow():
    rows_xml = "".join(
        f'<row r="{n}">{text_cell(f"A{n}", f"Người {n}")}<c r="XFD{n}" s="0"/></row>'
        for n in range(2, 2002)
    )

    table = read_table(sheet_xml_xlsx(rows_xml, "A1:XFD2001"), "x.xlsx")

    assert len(table.rows) == 2001
    assert max(len(row.values) for row in table.rows) == 1
    assert table.rows[-1].values == ["Người 2001"]


def test_a_declared_dimension_smaller_than_the_sheet_loses_no_rows():
    rows_xml = "".join(
        f'<row r="{n}">{text_cell(f"A{n}", f"Người {n}")}</row>' for n in range(2, 5)
    )

    table = read_table(sheet_xml_xlsx(rows_xml, "A1:A1"), "x.xlsx")

    assert [row.values[0] for row in table.rows[1:]] == [
        "Người 2",
        "Người 3",
        "Người 4",
    ]


def test_a_workbook_with_more_cells_than_a_list_has_is_refused(monkeypatch):
    monkeypatch.setattr(tables, "MAX_CELLS", 20)
    rows_xml = "".join(
        f'<row r="{n}">{text_cell(f"A{n}", "x")}{text_cell(f"B{n}", "y")}</row>'
        for n in range(2, 20)
    )

    with pytest.raises(InvalidInputError) as caught:
        read_table(sheet_xml_xlsx(rows_xml, "A1:B19"), "x.xlsx")

    assert (
        caught.value.message
        == "The file has more than 20 cells. A participant list has at most 10,000 rows of 50 columns: split it into smaller files."
    )


def test_a_csv_value_beyond_the_fiftieth_column_is_refused():
    row = ["Lê Văn An"] + [""] * 59 + ["x"]

    with pytest.raises(InvalidInputError) as caught:
        read_table(csv_text([["Họ và tên"], row]).encode(), "x.csv")

    assert (
        caught.value.message
        == "Row 2 has a value in column 61, but a participant list may use only the first 50 columns. Delete the columns after column 50 and try again."
    )


def test_empty_csv_columns_beyond_the_fiftieth_are_dropped():
    table = read_table(("Họ và tên" + "," * 200 + "\nLê Văn An\n").encode(), "x.csv")

    assert len(table.rows[0].values) == 50


def test_a_csv_of_nothing_but_separators_is_refused_before_it_is_split():
    data = b"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan" + b"," * (tables.MAX_CELLS + 1)

    with pytest.raises(InvalidInputError) as caught:
        read_table(data, "x.csv")

    assert caught.value.message.startswith("The file has more than 500,000 cells.")


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+84 912", "'+84 912"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        (12, 12),
    ],
)
def test_csv_exports_neutralise_what_a_spreadsheet_would_run(value, exported):
    assert tables.spreadsheet_safe(value) == exported
