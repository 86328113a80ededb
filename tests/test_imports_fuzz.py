"""Hostile spreadsheets and exports: the importers answer with a preview or a sentence.

Whatever the bytes, the participant importer (server/imports/participants.py over
server/imports/tables.py) and the OpenSlides importers
(server/imports/openslides.py) either return what they read or raise a
``MeetingError`` whose message is one sentence for the organizer. Any other
exception is a crash, and every crash found here stays below as a regression test.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from server.errors import MeetingError
from server.imports.openslides import (
    csv_kind,
    read_agenda_csv,
    read_export,
    read_motions_csv,
)
from server.imports.participants import read_participant_file

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLE = (Path(__file__).parent / "data" / "openslides" / "openslides-example-data.json")
HEADINGS = ["Họ và tên", "Name", "First name", "Last name", "Email", "Role", "Vai trò",
            "Đơn vị", "Delegation", "Seat", "Ghế", "Phone", "Code", "x", ""]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1258", "latin-1"]


def outcome(read: Any, *args: Any) -> Any:
    """What a reader returns; a refusal must be a sentence for the organizer."""
    try:
        return read(*args)
    except MeetingError as exc:
        assert exc.message[:1].isupper() and exc.message.rstrip().endswith((".", ")")), exc.message
        return exc


# -- CSV -------------------------------------------------------------------------------

cells = st.one_of(
    st.sampled_from(HEADINGS + ["delegate", "chair", "Đại biểu", "=1+1", "@x", "-3", "+84"]),
    st.text(max_size=30),
    st.text(alphabet='",;\t\r\n\x00 a', max_size=12),
    st.builds(lambda n: "x" * n, st.integers(0, 5000)),
)
rows = st.lists(st.lists(cells, max_size=8), max_size=12)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    separator = draw(st.sampled_from([",", ";", "\t", "|", " ", "\x00"]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\u2028"]))
    lines = [separator.join(f"{quote}{cell}{quote}" for cell in row) for row in draw(rows)]
    text = newline.join(lines)
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a"]))
def test_random_bytes_give_a_preview_or_a_sentence(data, name):
    outcome(read_participant_file, data, name)


@FUZZ
@given(data=csv_files())
def test_hostile_csv_gives_a_preview_or_a_sentence(data):
    preview = outcome(read_participant_file, data, "people.csv")

    if not isinstance(preview, MeetingError):
        assert isinstance(preview, dict) and "rows" in preview


@FUZZ
@given(data=st.one_of(csv_files(), st.binary(max_size=1000)))
def test_hostile_csv_gives_openslides_items_or_a_sentence(data):
    outcome(csv_kind, data)
    outcome(read_agenda_csv, data)
    outcome(read_motions_csv, data)


# -- XLSX ------------------------------------------------------------------------------

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["=SUM(A1:A3)", "=1/0", '=HYPERLINK("x")', "=A1", "#REF!"] + HEADINGS),
    st.datetimes(), st.dates(), st.times(), st.timedeltas(),
)


def _safe(value: Any) -> Any:
    # openpyxl itself refuses control characters in strings: such cells cannot be saved
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")
    return value


@st.composite
def workbooks(draw: st.DrawFn) -> bytes:
    book = Workbook()
    sheet = book.active
    if draw(st.booleans()):  # the people may be on a later sheet
        sheet = book.create_sheet(draw(st.sampled_from(["Đại biểu", "Sheet2", "x" * 31])))
    for row in draw(st.lists(st.lists(values, max_size=6), max_size=8)):
        skip = draw(st.integers(0, 3))  # empty rows in between
        for _ in range(skip):
            sheet.append([])
        sheet.append([_safe(v) for v in row])
    far = draw(st.integers(1, 2000))  # many columns
    sheet.cell(row=draw(st.integers(1, 30)), column=far, value=_safe(draw(values)))
    for _ in range(draw(st.integers(0, 3))):
        top, left = draw(st.integers(1, 10)), draw(st.integers(1, 6))
        sheet.merge_cells(start_row=top, start_column=left,
                          end_row=top + draw(st.integers(0, 3)),
                          end_column=left + draw(st.integers(0, 3)))
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except (ValueError, TypeError, OverflowError):  # values openpyxl cannot write
        return b"PK\x03\x04"
    return buffer.getvalue()


@FUZZ
@given(data=workbooks())
def test_hostile_workbooks_give_a_preview_or_a_sentence(data):
    preview = outcome(read_participant_file, data, "people.xlsx")

    if not isinstance(preview, MeetingError):
        assert isinstance(preview, dict) and "rows" in preview


@FUZZ
@given(data=workbooks(), cut=st.integers(0, 4000), junk=st.binary(max_size=64))
def test_damaged_workbooks_give_a_preview_or_a_sentence(data, cut, junk):
    damaged = data[:cut] + junk + data[cut + len(junk):]

    outcome(read_participant_file, damaged, "people.xlsx")


# -- OpenSlides JSON export ------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
              st.floats(allow_nan=False), st.text(max_size=30),
              st.sampled_from(["1", "0", "-1", "meeting/1", "<p>x</p>", "2024-01-01"])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=15)


def _example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_bytes())


# One change to the example: (collection, record, field, what to do, new value); the
# numbers pick among what is there, so a failing example prints small.
changes = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
                    st.sampled_from(["replace", "remove", "record", "collection"]), json_values)


def damage(raw: dict[str, Any], change: tuple) -> None:
    which, ident_at, field_at, action, value = change
    collections = sorted(k for k, v in raw.items() if isinstance(v, dict))
    name = collections[which % len(collections)]
    if action == "collection" or not raw[name]:
        raw[name] = value
        return
    ident = sorted(raw[name])[ident_at % len(raw[name])]
    record = raw[name][ident]
    if action == "record" or not isinstance(record, dict) or not record:
        raw[name][ident] = value
        return
    field = sorted(record)[field_at % len(record)]
    if action == "remove":
        del record[field]
    else:
        record[field] = value


@settings(FUZZ, max_examples=200)
@given(damages=st.lists(changes, min_size=1, max_size=6))
def test_damaged_openslides_exports_give_a_meeting_or_a_sentence(damages):
    raw = _example()
    for change in damages:
        damage(raw, change)

    outcome(read_export, json.dumps(raw).encode())


@FUZZ
@given(data=st.one_of(st.binary(max_size=500), json_values.map(lambda v: json.dumps(v).encode()),
                      st.dictionaries(st.sampled_from(["meeting", "_migration_index", "user"]),
                                      json_values).map(lambda v: json.dumps(v).encode())))
def test_random_json_gives_a_meeting_or_a_sentence(data):
    outcome(read_export, data)


@pytest.mark.parametrize("data", [b"", b"{}", b"null", b'{"meeting": {}}'])
def test_empty_exports_are_refused_with_a_sentence(data):
    assert isinstance(outcome(read_export, data), MeetingError)


# -- crashes the fuzzing found, kept as regression tests --------------------------------

DAMAGED = ("This OpenSlides export is damaged: some of its records do not have the shape OpenSlides writes. Export the meeting from OpenSlides again (Meeting > Export as JSON).")


@pytest.mark.parametrize("collection, ident, name, value", [
    ("agenda_item", "1", "weight", "x"),  # TypeError while sorting the agenda
    ("agenda_item", "1", "id", [1]),
    ("meeting_user", "1", "group_ids", 5),  # TypeError: a number where a list belongs
    ("motion", "1", "submitter_ids", 5),
    ("poll", "1", "option_ids", 5),
    ("option", "1", "vote_ids", 5),
])
def test_a_field_of_the_wrong_shape_is_refused_with_a_sentence(collection, ident, name, value):
    raw = _example()
    raw[collection][ident][name] = value

    with pytest.raises(MeetingError) as caught:
        read_export(json.dumps(raw).encode())

    assert caught.value.message == DAMAGED


@pytest.mark.parametrize("value", [None, [], 7, "x"])
def test_a_record_that_is_not_an_object_is_reported_missing(value):
    raw = _example()
    raw["meeting_user"]["1"] = value  # was AttributeError: 'NoneType' has no 'get'

    spec, report, _ = read_export(json.dumps(raw).encode())

    assert spec.participants
    assert any("meeting_user/1" in line for line in report.missing)
