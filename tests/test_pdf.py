"""The minutes PDF: Vietnamese text survives, fonts are ours, layout rules hold.

We compare the text pdftotext extracts (NFC, whitespace collapsed) with the
source, never the PDF's bytes.
"""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

import server.pdf as pdf_module
from server.minutes import collect_minutes, render_minutes
from server.pdf import FontMissingError, date_line, font_paths
from tests._minutes_fixtures import *  # noqa: F403  (fixtures: minutes_room, trial_keys)
from tests._minutes_fixtures import pdf_text

# Every Vietnamese vowel with every tone mark, both cases, and Đ/đ.
VOWELS = "aăâeêioôơuưy"
TONES = ["\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng
ALL_LETTERS = "".join(
    unicodedata.normalize("NFC", v + t) for v in VOWELS for t in ["", *TONES]
)
NAMES = [
    "Nguyễn Thị Ánh Tuyết",
    "Trần Bình Trọng",
    "Lê Văn Đức",
    "Phạm Thị Hồng Nhung",
    "Hoàng Quốc Việt",
    "Vũ Đình Kỳ",
    "Đặng Thùy Dương",
    "Bùi Thị Ngọc Ẩn",
    "Ngô Quang Hưởng",
    "Dương Thị Mỹ Ửng",
    "Huỳnh Văn Ước",
    "Lý Thị Ỷ Lan",
]


def base_data(room) -> dict:
    return room.read(collect_minutes, room.meeting_id)


def render_text(data: dict, tmp_path: Path, *, draft: bool = True) -> tuple[str, bytes]:
    _html, pdf = render_minutes(data, draft=draft)
    return pdf_text(pdf, tmp_path), pdf


def with_people(data: dict, names: list[str]) -> dict:
    rows = [
        {
            "name": n,
            "group": "Tổ đại biểu số 1",
            "role": "delegate",
            "member": True,
            "status": "present",
            "status_label": "present",
            "proxy": "",
        }
        for n in names
    ]
    data["attendance"] = {
        "recorded": True,
        "rows": rows,
        "total": len(rows),
        "present": names,
        "absent": [],
        "excused": [],
        "proxies": [],
        "quorum": {
            "required": len(rows) // 2 + 1,
            "counted": len(rows),
            "reached": True,
            "rule": "half",
        },
    }
    return data


def pages_of(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return [
        " ".join(unicodedata.normalize("NFC", p).split())
        for p in out.split("\f")
        if p.strip()
    ]


def test_vietnamese_names_with_every_tone_mark_come_out_of_the_pdf_as_typed(
    minutes_room, tmp_path
):
    data = with_people(base_data(minutes_room), NAMES)
    data["agenda"][0]["sections"]["summary"] = (
        "Chữ: " + " ".join(ALL_LETTERS + ALL_LETTERS.upper()) + " Đđ"
    )

    text, _pdf = render_text(data, tmp_path)

    for name in NAMES:
        assert name in text
    for letter in ALL_LETTERS + ALL_LETTERS.upper() + "Đđ":
        assert letter in text, letter


def test_the_embedded_fonts_are_the_ones_we_name_and_cover_every_letter(
    minutes_room, tmp_path
):
    data = with_people(base_data(minutes_room), NAMES)
    _text, pdf = render_text(data, tmp_path)
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)

    listing = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]

    names = [line.split()[0].split("+", 1)[1] for line in listing]
    assert set(names) <= {
        "Minutes-Serif",
        "Minutes-Serif-Bold",
        "Minutes-Serif-Italic",
        "Minutes-Serif-BoldItalic",
        "Minutes-Mono",
    }, names
    for line in listing:  # embedded, subset, with a ToUnicode map
        assert line.split()[-5:-2] == ["yes", "yes", "yes"], line
    needed = {ord(c) for c in ALL_LETTERS + ALL_LETTERS.upper() + "Đđ" + "".join(NAMES)}
    for font in font_paths():
        if "Mono" in font.name:
            continue
        cmap = TTFont(font).getBestCmap()
        assert needed - set(cmap) == set(), font.name


def test_decomposed_unicode_is_printed_composed(minutes_room, tmp_path):
    data = base_data(minutes_room)
    data["agenda"][0]["sections"]["decisions"] = unicodedata.normalize(
        "NFD", "Đồng ý với Nguyễn Thị Ánh Tuyết."
    )

    html, pdf = render_minutes(data, draft=True)

    assert "Đồng ý với Nguyễn Thị Ánh Tuyết." in html
    assert "Đồng ý với Nguyễn Thị Ánh Tuyết." in pdf_text(pdf, tmp_path)


def test_the_header_is_that_of_a_vietnamese_administrative_record(
    minutes_room, tmp_path
):
    data = base_data(minutes_room)
    data["meeting"].update(
        number="15/BB-HĐND", city="Tuần Giáo", parent_body="HĐND tỉnh Điện Biên"
    )

    text, _pdf = render_text(data, tmp_path, draft=False)

    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "HỘI ĐỒNG NHÂN DÂN HUYỆN" in text and "TUẦN GIÁO" in text  # two columns
    assert "Số: 15/BB-HĐND" in text
    assert "Tuần Giáo, ngày 16 tháng 11 năm 2020" in text
    assert "BIÊN BẢN" in text
    assert "THƯ KÝ" in text and "CHỦ TỌA" in text and "Trần Bình Trọng" in text


def test_the_date_line_in_english():
    from datetime import datetime

    assert (
        date_line("Tuan Giao", datetime(2020, 11, 16), "en")
        == "Tuan Giao, 16 November 2020"
    )
    assert date_line("", datetime(2020, 11, 6), "vi") == "Ngày 06 tháng 11 năm 2020"


def test_every_page_says_trang_x_of_y_in_vietnamese(minutes_room, tmp_path):
    data = with_people(base_data(minutes_room), [f"Đại biểu số {i}" for i in range(80)])

    _text, pdf = render_text(data, tmp_path)

    pages = pages_of(pdf, tmp_path)
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Trang {number}/{len(pages)}" in page


def test_every_page_says_page_x_of_y_in_english(minutes_room, tmp_path):
    data = with_people(base_data(minutes_room), [f"Delegate {i}" for i in range(80)])
    data["language"], data["national_header"] = "en", False

    _text, pdf = render_text(data, tmp_path)

    pages = pages_of(pdf, tmp_path)
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    assert "SOCIALIST REPUBLIC" not in " ".join(pages)


def test_a_draft_says_so_on_every_page(minutes_room, tmp_path):
    data = with_people(base_data(minutes_room), [f"Đại biểu {i}" for i in range(60)])

    _text, pdf = render_text(data, tmp_path, draft=True)

    assert all("DỰ THẢO" in page for page in pages_of(pdf, tmp_path))


def test_a_table_of_500_attendees_repeats_its_header_on_every_page(
    minutes_room, tmp_path
):
    names = [f"{NAMES[i % len(NAMES)]} {i:03d}" for i in range(500)]
    data = with_people(base_data(minutes_room), names)

    _text, pdf = render_text(data, tmp_path)

    pages = pages_of(pdf, tmp_path)
    table_pages = [
        p for p in pages if re.search(r" \d{3} ", p) and "Tổ đại biểu số 1" in p
    ]
    assert len(table_pages) >= 10
    for page in table_pages:
        assert "STT Họ và tên Đơn vị" in page
    text = " ".join(pages)
    assert all(name in text for name in names)


def test_a_cell_longer_than_a_page_continues_on_the_next_page(minutes_room, tmp_path):
    data = base_data(minutes_room)
    words = [f"việc{i}" for i in range(1200)]
    data["agenda"][1]["tasks"] = [" ".join(words)]

    text, pdf = render_text(data, tmp_path)

    assert all(word in text for word in words)
    task_pages = [
        p for p in pages_of(pdf, tmp_path) if "việc600" in p or "việc1199" in p
    ]
    assert len(task_pages) >= 1 and len(pages_of(pdf, tmp_path)) >= 4


def test_the_metadata_names_title_author_language_dates_and_pdfa(
    minutes_room, tmp_path
):
    _text, pdf = render_text(base_data(minutes_room), tmp_path, draft=False)
    path = tmp_path / "meta.pdf"
    path.write_bytes(pdf)

    info = subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True
    ).stdout

    assert "Title:           Biên bản: Họp Thường trực HĐND huyện mở rộng" in info
    assert "Author:          Hội đồng nhân dân huyện Tuần Giáo" in info
    assert "CreationDate:" in info and "ModDate:" in info
    assert "Page size:       595.276 x 841.89 pts (A4)" in info
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root["/Lang"] == "vi"
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(
        r"pdfaid:conformance(>|=\")B", xmp
    )


def test_a_missing_font_file_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf_module, "FONT_DIRS", (tmp_path,))

    with pytest.raises(FontMissingError) as caught:
        pdf_module.find_font("NotoSerif-Regular.ttf")

    assert str(caught.value).startswith(
        "The font file NotoSerif-Regular.ttf is missing: run scripts/install-system-deps"
    )
