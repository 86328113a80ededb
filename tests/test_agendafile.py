# ruff: noqa: E501 -- expected messages stay on one line, as in the code.
"""The agenda file format: server/agendafile.py.

The tests follow the rules in the module docstring: the shipped agendas, then
reading the meeting, participants, items and documents, then collecting problems,
then writing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.agendafile import (
    ROLES,
    AgendaFileError,
    AgendaProblem,
    ItemSpec,
    MeetingSpec,
    check_agenda,
    number_items,
    read_agenda,
    write_agenda,
)

REPO = Path(__file__).resolve().parent.parent
AGENDAS = REPO / "agendas"
VIETNAMESE = AGENDAS / "hdnd-tuan-giao-2020" / "meeting.toml"
OPENSLIDES = AGENDAS / "openslides-demo" / "meeting.toml"
FIXTURES = Path(__file__).resolve().parent / "data" / "agendas"
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

MEETING = """\
format = 1

[meeting]
key = "hop-thu"
title = "Họp thử"
start = 2024-05-02T08:00:00
"""
CHAIR = """
[[participants]]
name = "Chủ tọa"
role = "chair"
"""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def write_file(folder: Path, text: str, name: str = "meeting.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(folder: Path, text: str) -> list[tuple[str, str]]:
    """The (where, message) pairs for an agenda file with this text."""
    problems = check_agenda(write_file(folder, text))
    return [(problem.where, problem.message) for problem in problems]


def without_document_paths(spec: MeetingSpec) -> MeetingSpec:
    def strip(items: list[ItemSpec]) -> list[ItemSpec]:
        return [
            dataclasses.replace(
                item,
                documents=[dataclasses.replace(d, path=Path()) for d in item.documents],
                items=strip(item.items),
            )
            for item in items
        ]

    return dataclasses.replace(spec, items=strip(spec.items))


# The shipped agendas.


@pytest.mark.parametrize("path", [VIETNAMESE, OPENSLIDES], ids=["vi", "openslides"])
def test_shipped_agenda_reads_without_problems(path: Path) -> None:
    assert check_agenda(path) == []
    assert read_agenda(path).items


def test_vietnamese_agenda_is_numbered_depth_first() -> None:
    spec = read_agenda(VIETNAMESE)

    numbered = {number: item.key for number, item in number_items(spec.items)}

    assert list(numbered)[:6] == ["1", "1.1", "1.2", "2", "2.1", "2.2"]
    assert numbered["2.1"] == "du-kien-chuong-trinh"
    assert numbered["2.3.2"] == "tham-tra-phap-che"
    assert numbered["5"] == "hoan-thien-du-thao"


def test_vietnamese_text_keeps_every_tone_mark() -> None:
    spec = read_agenda(VIETNAMESE)

    assert spec.title == nfc(
        "Họp Thường trực HĐND huyện mở rộng chuẩn bị kỳ họp thứ 13, HĐND huyện khóa XX"
    )
    assert spec.place == nfc("Hội trường tầng 2, trụ sở UBND huyện")
    assert spec.items[2].title == nfc("Thảo luận, góp ý nội dung, chương trình kỳ họp")
    assert spec.participants[4].name == nfc(
        "Đại diện Uỷ ban MTTQ Việt Nam huyện Tuần Giáo"
    )


def test_vietnamese_meeting_starts_at_local_time_in_its_zone() -> None:
    spec = read_agenda(VIETNAMESE)

    assert spec.timezone == "Asia/Ho_Chi_Minh"
    assert spec.start == datetime(2020, 11, 16, 14, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert spec.start.utcoffset() == timedelta(hours=7)
    assert spec.end == datetime(2020, 11, 16, 17, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert spec.language == "vi"
    assert spec.settings == {"self_checkin": True, "quorum": "half"}


def test_vietnamese_participants_come_from_the_csv_file() -> None:
    spec = read_agenda(VIETNAMESE)

    chair = spec.participants[0]
    roles = {person.role for person in spec.participants}

    assert len(spec.participants) == 11
    assert (chair.key, chair.name, chair.role) == (
        "tran-binh-trong",
        nfc("Trần Bình Trọng"),
        "chair",
    )
    assert chair.title == nfc("Phó Chủ tịch HĐND huyện")
    assert chair.email is None
    assert roles == set(ROLES)


def test_vietnamese_agenda_attaches_the_signed_invitation() -> None:
    spec = read_agenda(VIETNAMESE)
    pdf = VIETNAMESE.parent / "documents"
    pdf = pdf / "vn-giay-moi-06-GM-HDND-tuan-giao-2020-signed.pdf"

    document = spec.items[0].items[0].documents[0]

    assert document.path == pdf.resolve()
    assert document.path.is_absolute()
    assert document.title == nfc("Giấy mời số 06/GM-HĐND ngày 12/11/2020")
    assert document.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert document.size == pdf.stat().st_size
    assert document.confidential is False


def test_vietnamese_agenda_has_an_internal_item() -> None:
    spec = read_agenda(VIETNAMESE)

    internal = [item.key for _, item in number_items(spec.items) if item.internal]

    assert internal == ["hoan-thien-du-thao"]


def test_openslides_demo_keeps_its_offset_time_in_berlin() -> None:
    spec = read_agenda(OPENSLIDES)

    assert spec.start == datetime(
        2011, 11, 11, 11, 11, 11, tzinfo=ZoneInfo("Europe/Berlin")
    )
    assert spec.start.tzinfo == ZoneInfo("Europe/Berlin")
    assert spec.end is None
    assert spec.language == "en"


def test_openslides_demo_keeps_german_titles_and_nesting() -> None:
    spec = read_agenda(OPENSLIDES)

    numbered = {number: item for number, item in number_items(spec.items)}

    assert numbered["1.1"].title == "2. Wahl"
    assert numbered["1.1"].internal is True
    assert numbered["10"].title == "1 - 1: Änderungsantrag zu 1"
    assert numbered["10"].description == "<p>l&ouml;mk</p>"
    assert [p.role for p in spec.participants].count("delegate") == 8


# Reading the meeting.


def test_minimal_agenda_gets_the_defaults(tmp_path: Path) -> None:
    spec = read_agenda(write_file(tmp_path, MEETING + CHAIR))

    assert spec.timezone == "Asia/Ho_Chi_Minh"
    assert spec.language == "vi"
    assert (spec.body, spec.place, spec.description) == ("", "", "")
    assert spec.end is None
    assert spec.settings == {}
    assert spec.items == []
    assert spec.participants[0].key == "chu-toa"


def test_decomposed_text_comes_out_composed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Khai mạc kỳ họp thứ 13")
    text = MEETING + CHAIR + f'\n[[items]]\nkey = "khai-mac"\ntitle = "{decomposed}"\n'
    assert decomposed != nfc(decomposed)

    spec = read_agenda(write_file(tmp_path, text))

    assert spec.items[0].title == nfc("Khai mạc kỳ họp thứ 13")
    assert unicodedata.is_normalized("NFC", spec.participants[0].name)


def test_settings_text_is_composed_too(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Tuần Giáo")
    text = MEETING + f'\n[meeting.settings]\nminutes_city = "{decomposed}"\n' + CHAIR

    spec = read_agenda(write_file(tmp_path, text))

    assert spec.settings == {"minutes_city": nfc("Tuần Giáo")}


def test_html_in_text_stays_literal(tmp_path: Path) -> None:
    script = "<script>alert('họp')</script>"
    text = MEETING + CHAIR + f'\n[[items]]\nkey = "a"\ntitle = "{script}"\n'

    spec = read_agenda(write_file(tmp_path, text))

    assert spec.items[0].title == nfc(script)


def test_offset_time_is_moved_into_the_meeting_zone(tmp_path: Path) -> None:
    text = MEETING.replace("2024-05-02T08:00:00", "2024-05-02T01:00:00Z") + CHAIR

    spec = read_agenda(write_file(tmp_path, text))

    assert spec.start == datetime(2024, 5, 2, 8, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert spec.start.tzinfo == ZoneInfo("Asia/Ho_Chi_Minh")


def test_number_items_counts_from_one_at_every_level() -> None:
    leaf = ItemSpec(key="c", title="C")
    items = [ItemSpec(key="a", title="A", items=[leaf]), ItemSpec(key="b", title="B")]

    numbered = [(number, item.key) for number, item in number_items(items)]

    assert numbered == [("1", "a"), ("1.1", "c"), ("2", "b")]


# Problems in the file as a whole.


def test_missing_file_is_reported(tmp_path: Path) -> None:
    problems = check_agenda(tmp_path / "hop.toml")

    assert problems == [
        AgendaProblem(
            "hop.toml",
            'The agenda file "hop.toml" was not found; check its name and folder.',
        )
    ]


def test_malformed_toml_names_line_and_column() -> None:
    problems = check_agenda(FIXTURES / "syntax-error.toml")

    assert problems == [
        AgendaProblem(
            "syntax-error.toml",
            'Line 4, column 9 of "syntax-error.toml" is not valid TOML (Invalid value); correct it and load the file again.',
            line=4,
        )
    ]


def test_malformed_toml_at_the_end_names_the_last_line(tmp_path: Path) -> None:
    problems = check_agenda(write_file(tmp_path, 'format = 1\ntitle = "Họp'))

    assert problems == [
        AgendaProblem(
            "meeting.toml",
            'Line 2, column 13 of "meeting.toml" is not valid TOML (Unterminated string); correct it and load the file again.',
            line=2,
        )
    ]


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "meeting.toml"
    place = unicodedata.normalize("NFD", 'place = "Hà Giang"\n')
    path.write_bytes(MEETING.encode("utf-8") + place.encode("cp1258"))

    problems = check_agenda(path)

    assert problems == [
        AgendaProblem(
            "meeting.toml",
            'The agenda file "meeting.toml" is not UTF-8 text; save it with UTF-8 encoding and load it again.',
            line=7,
        )
    ]


def test_file_without_format_is_refused(tmp_path: Path) -> None:
    text = MEETING.replace("format = 1\n", "") + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "format",
            "The agenda file does not say which format it uses; add the line format = 1 at the top.",
        )
    ]


def test_file_of_a_later_format_is_refused(tmp_path: Path) -> None:
    text = MEETING.replace("format = 1", "format = 2") + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "format",
            "The agenda file uses format 2, but this version of Plenary reads format 1 only; export it again in format 1 or update Plenary.",
        )
    ]


def test_file_without_meeting_is_refused(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "format = 1\n" + CHAIR) == [
        (
            "meeting",
            "The agenda file has no [meeting] table; add one with at least a key, a title and a start.",
        )
    ]


def test_import_with_errors_reports_all_problems_at_once() -> None:
    with pytest.raises(AgendaFileError) as raised:
        read_agenda(FIXTURES / "three-problems" / "meeting.toml")

    assert [problem.where for problem in raised.value.problems] == [
        "meeting.descripton",
        "participants[1].role",
        "items[0].duration",
    ]
    assert str(raised.value) == "\n".join(
        [
            "The agenda file has 3 problems:",
            '- meeting.descripton: The meeting has no field "descripton"; did you mean "description"?',
            '- participants[1].role: The role "thu-ky" is not known; use one of: organizer, chair, secretary, delegate, guest.',
            '- items[0].duration: The field "duration" must be a whole number of minutes, but it is text.',
        ]
    )


def test_error_with_one_problem_says_so(tmp_path: Path) -> None:
    with pytest.raises(AgendaFileError) as raised:
        read_agenda(write_file(tmp_path, MEETING))

    assert str(raised.value) == (
        "The agenda file has 1 problem:\n"
        '- participants: The meeting has no chair; give at least one participant the role "chair".'
    )


# Fields of any table.


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            MEETING.replace('key = "hop-thu"\n', "") + CHAIR,
            "meeting.key",
            'The meeting needs a "key", but it is missing or empty; add it.',
        ),
        (
            MEETING.replace('title = "Họp thử"', 'title = "  "') + CHAIR,
            "meeting.title",
            'The meeting needs a "title", but it is missing or empty; add it.',
        ),
        (
            MEETING.replace("start = 2024-05-02T08:00:00\n", "") + CHAIR,
            "meeting.start",
            'The meeting needs a "start", but it is missing or empty; add it.',
        ),
        (
            MEETING + CHAIR + '\n[[items]]\ntitle = "Khai mạc"\n',
            "items[0].key",
            'The agenda item needs a "key", but it is missing or empty; add it.',
        ),
        (
            MEETING + CHAIR + '\n[[items]]\nkey = "khai-mac"\n',
            "items[0].title",
            'The agenda item needs a "title", but it is missing or empty; add it.',
        ),
        (
            MEETING + CHAIR + '\n[[participants]]\nrole = "guest"\n',
            "participants[1].name",
            'The participant needs a "name", but it is missing or empty; add it.',
        ),
        (
            MEETING + CHAIR + '\n[[participants]]\nname = "Khách mời"\n',
            "participants[1].role",
            'The participant needs a "role", but it is missing or empty; add it.',
        ),
    ],
    ids=[
        "meeting key",
        "meeting title",
        "meeting start",
        "item key",
        "item title",
        "participant name",
        "participant role",
    ],
)
def test_missing_required_field_is_named(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    assert problems_of(tmp_path, text) == [(where, message)]


def test_misspelt_field_gets_the_closest_suggestion(tmp_path: Path) -> None:
    text = (
        MEETING + CHAIR + '\n[[items]]\nkey = "a"\ntitle = "A"\npresentr = "Chủ tọa"\n'
    )

    assert problems_of(tmp_path, text) == [
        (
            "items[0].presentr",
            'The agenda item has no field "presentr"; did you mean "presenter"?',
        )
    ]


def test_unknown_field_without_lookalike_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = MEETING + 'colour = "blue"\n' + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.colour",
            'The meeting has no field "colour"; use only these fields: key, title, body, start, end, timezone, place, language, description, settings.',
        )
    ]


def test_misspelt_top_level_field_is_reported(tmp_path: Path) -> None:
    text = MEETING.replace("format = 1\n", 'format = 1\nparticipant_csv = "a.csv"\n')

    assert problems_of(tmp_path, text + CHAIR) == [
        (
            "participant_csv",
            'The agenda file has no field "participant_csv"; did you mean "participants_csv"?',
        )
    ]


def test_value_of_the_wrong_type_is_described(tmp_path: Path) -> None:
    text = MEETING.replace('title = "Họp thử"', "title = 13") + CHAIR
    text += '\n[[items]]\nkey = "a"\ntitle = "A"\ninternal = "có"\n'

    assert problems_of(tmp_path, text) == [
        (
            "meeting.title",
            'The field "title" must be text in quotes, but it is the number 13.',
        ),
        (
            "items[0].internal",
            'The field "internal" must be true or false, but it is text.',
        ),
    ]


def test_items_written_as_a_single_table_are_refused(tmp_path: Path) -> None:
    text = MEETING + CHAIR + '\n[items]\nkey = "a"\n'

    assert problems_of(tmp_path, text) == [
        ("items", 'The field "items" must be a list of tables, but it is a table.')
    ]


def test_list_entry_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    text = MEETING.replace("format = 1\n", 'format = 1\nitems = ["Khai mạc"]\n')

    assert problems_of(tmp_path, text + CHAIR) == [
        (
            "items[0]",
            'Each entry of "items" must be a table of fields, but entry 0 is text.',
        )
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "khai mạc",
            'The key "khai mạc" may contain only Latin letters without accents, digits, "-" and "_", at most 64 characters; use for example "khai-mac".',
        ),
        (
            "Đại-hội/2024",
            'The key "Đại-hội/2024" may contain only Latin letters without accents, digits, "-" and "_", at most 64 characters; use for example "dai-hoi-2024".',
        ),
        (
            "!!!",
            'The key "!!!" may contain only Latin letters without accents, digits, "-" and "_", at most 64 characters; choose another key.',
        ),
        (
            "k" * 65,
            'The field "key" is 65 characters long, but at most 64 are allowed; shorten it.',
        ),
    ],
    ids=["space and accent", "slash and d with stroke", "no letters", "too long"],
)
def test_invalid_key_is_refused(tmp_path: Path, key: str, message: str) -> None:
    text = MEETING + CHAIR + f'\n[[items]]\nkey = "{key}"\ntitle = "A"\n'

    assert problems_of(tmp_path, text) == [("items[0].key", message)]


@pytest.mark.parametrize(
    ("field", "limit"),
    [("title", 500), ("description", 20_000)],
)
def test_text_over_its_limit_is_refused(tmp_path: Path, field: str, limit: int) -> None:
    text = (
        MEETING
        + CHAIR
        + f'\n[[items]]\nkey = "a"\ntitle = "A"\n{field} = "{"x" * (limit + 1)}"\n'
    )
    text = text.replace('title = "A"\ntitle', "title")

    assert problems_of(tmp_path, text) == [
        (
            f"items[0].{field}",
            f'The field "{field}" is {limit + 1:,} characters long, but at most {limit:,} are allowed; shorten it.',
        )
    ]


def test_ten_megabyte_title_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    huge = "Họp " * 2_621_440
    text = MEETING.replace('title = "Họp thử"', f'title = "{huge}"') + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.title",
            'The field "title" is 10,485,759 characters long, but at most 500 are allowed; shorten it.',
        )
    ]


def test_name_over_200_characters_is_refused(tmp_path: Path) -> None:
    text = MEETING + CHAIR.replace('"Chủ tọa"', '"' + "a" * 201 + '"')

    problems = problems_of(tmp_path, text)

    assert problems == [
        (
            "participants[0].name",
            'The field "name" is 201 characters long, but at most 200 are allowed; shorten it.',
        )
    ]


# The meeting's time, zone and language.


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    text = MEETING + 'timezone = "Asia/Ha_Noi"\n' + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.timezone",
            'The time zone "Asia/Ha_Noi" is not known; use an IANA name such as "Asia/Ho_Chi_Minh" or "Europe/Berlin".',
        )
    ]


def test_time_zone_given_as_a_path_is_refused(tmp_path: Path) -> None:
    text = MEETING + 'timezone = "../../etc/passwd"\n' + CHAIR

    assert [where for where, _ in problems_of(tmp_path, text)] == ["meeting.timezone"]


def test_end_before_start_is_refused(tmp_path: Path) -> None:
    text = MEETING + "end = 2024-05-02T07:30:00\n" + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.end",
            "The meeting ends at 2024-05-02 07:30, which is not after its start at 2024-05-02 08:00; correct the end or the start.",
        )
    ]


def test_start_in_quotes_is_refused(tmp_path: Path) -> None:
    text = MEETING.replace("2024-05-02T08:00:00", '"2024-05-02 08:00"') + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.start",
            'The field "start" must be a date and time without quotes, such as 2020-11-16T14:00:00, but it is text.',
        )
    ]


def test_start_without_a_time_is_refused(tmp_path: Path) -> None:
    text = MEETING.replace("2024-05-02T08:00:00", "2024-05-02") + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.start",
            'The field "start" must be a date and time without quotes, such as 2020-11-16T14:00:00, but it is a date without a time.',
        )
    ]


def test_language_other_than_vi_or_en_is_refused(tmp_path: Path) -> None:
    text = MEETING + 'language = "de"\n' + CHAIR

    assert problems_of(tmp_path, text) == [
        (
            "meeting.language",
            'The language "de" is not offered; use "vi" for Vietnamese or "en" for English.',
        )
    ]


# Participants.


def test_unknown_role_lists_the_allowed_roles(tmp_path: Path) -> None:
    text = MEETING + CHAIR + '\n[[participants]]\nname = "Thư ký"\nrole = "thư ký"\n'

    assert problems_of(tmp_path, text) == [
        (
            "participants[1].role",
            'The role "thư ký" is not known; use one of: organizer, chair, secretary, delegate, guest.',
        )
    ]


def test_role_is_read_in_any_letter_case(tmp_path: Path) -> None:
    text = MEETING + CHAIR.replace('"chair"', '"Chair"')

    assert read_agenda(write_file(tmp_path, text)).participants[0].role == "chair"


def test_meeting_without_a_chair_is_refused(tmp_path: Path) -> None:
    text = MEETING + CHAIR.replace('"chair"', '"delegate"')

    assert problems_of(tmp_path, text) == [
        (
            "participants",
            'The meeting has no chair; give at least one participant the role "chair".',
        )
    ]


def test_invalid_email_is_refused(tmp_path: Path) -> None:
    text = MEETING + CHAIR + 'email = "chu-toa at example.org"\n'

    assert problems_of(tmp_path, text) == [
        (
            "participants[0].email",
            'The e-mail address "chu-toa at example.org" is not valid; write it like name@example.org or leave it empty.',
        )
    ]


def test_participant_key_comes_from_number_then_name(tmp_path: Path) -> None:
    people = (
        '\n[[participants]]\nname = "Đại biểu"\nrole = "delegate"\nnumber = "Số 07"\n'
    )
    text = MEETING + CHAIR + people

    spec = read_agenda(write_file(tmp_path, text))

    assert [person.key for person in spec.participants] == ["chu-toa", "so-07"]


def test_name_without_latin_letters_needs_a_key(tmp_path: Path) -> None:
    text = MEETING + CHAIR + '\n[[participants]]\nname = "会议"\nrole = "guest"\n'

    assert problems_of(tmp_path, text) == [
        (
            "participants[1].key",
            'No key can be made from the name "会议"; add a key for this participant.',
        )
    ]


def test_duplicate_participant_keys_across_file_and_csv_are_refused(
    tmp_path: Path,
) -> None:
    write_file(tmp_path, "name,role\nChủ tọa,delegate\n", "people.csv")
    text = MEETING.replace(
        "format = 1\n", 'format = 1\nparticipants_csv = "people.csv"\n'
    )

    assert problems_of(tmp_path, text + CHAIR) == [
        (
            "people.csv row 2, column key",
            'The participant key "chu-toa" is already used at participants[0].key; give each participant a key of their own.',
        )
    ]


# The participant list in CSV.


def csv_agenda(folder: Path, csv_text: str | bytes) -> str:
    if isinstance(csv_text, bytes):
        (folder / "people.csv").write_bytes(csv_text)
    else:
        write_file(folder, csv_text, "people.csv")
    return MEETING.replace(
        "format = 1\n", 'format = 1\nparticipants_csv = "people.csv"\n'
    )


def test_csv_with_bom_and_semicolons_is_read(tmp_path: Path) -> None:
    rows = "Name;Role;Group;Email\nChủ tọa;chair;Thường trực;chu-toa@example.org\n"
    text = csv_agenda(tmp_path, "\ufeff" + rows)

    spec = read_agenda(write_file(tmp_path, text))

    person = spec.participants[0]
    assert (person.key, person.name, person.role) == (
        "chu-toa",
        nfc("Chủ tọa"),
        "chair",
    )
    assert (person.group, person.email) == (nfc("Thường trực"), "chu-toa@example.org")


def test_csv_cells_are_composed(tmp_path: Path) -> None:
    name = unicodedata.normalize("NFD", "Trưởng ban")
    text = csv_agenda(tmp_path, f"name,role\n{name},chair\n")

    spec = read_agenda(write_file(tmp_path, text))

    assert spec.participants[0].name == nfc("Trưởng ban")


def test_csv_without_name_column_is_refused(tmp_path: Path) -> None:
    text = csv_agenda(tmp_path, "key,role\nchu-toa,chair\n")

    assert problems_of(tmp_path, text) == [
        (
            "people.csv row 1",
            'The participant list "people.csv" has no "name" column; its first row must name the columns, for example key,name,role,group,number,title,email.',
        ),
        (
            "participants",
            'The meeting has no chair; give at least one participant the role "chair".',
        ),
    ]


def test_csv_row_with_a_wrong_role_is_named_by_row(tmp_path: Path) -> None:
    rows = "name,role\nChủ tọa,chair\n\nĐại biểu,dai-bieu\n"
    text = csv_agenda(tmp_path, rows)

    assert problems_of(tmp_path, text) == [
        (
            "people.csv row 4, column role",
            'The role "dai-bieu" is not known; use one of: organizer, chair, secretary, delegate, guest.',
        )
    ]


def test_csv_with_a_misspelt_column_is_refused(tmp_path: Path) -> None:
    text = csv_agenda(tmp_path, "name,role,emial\nChủ tọa,chair,a@example.org\n")

    assert problems_of(tmp_path, text) == [
        (
            "people.csv row 1, column emial",
            'The participant list has a column "emial" that Plenary does not know; did you mean "email"?',
        )
    ]


def test_csv_with_a_column_twice_is_refused(tmp_path: Path) -> None:
    text = csv_agenda(tmp_path, "name,role,Name\nChủ tọa,chair,Chủ tọa\n")

    assert problems_of(tmp_path, text) == [
        (
            "people.csv row 1, column name",
            'The column "name" appears twice in the header row; keep only one of them.',
        )
    ]


def test_csv_row_with_extra_cells_is_refused(tmp_path: Path) -> None:
    text = csv_agenda(tmp_path, "name,role\nChủ tọa,chair\nBan Pháp chế, HĐND,guest\n")

    assert problems_of(tmp_path, text) == [
        (
            "people.csv row 3",
            "This row has 3 cells, but the header row names only 2 columns; remove the extra cells or put quotes around values that contain the separator.",
        )
    ]


def test_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    rows = unicodedata.normalize("NFD", "name,role\nChủ tọa,chair\n")
    text = csv_agenda(tmp_path, rows.encode("cp1258"))

    assert problems_of(tmp_path, text) == [
        (
            "people.csv",
            'The participant list "people.csv" is not UTF-8 text; save it as "CSV UTF-8" and load it again.',
        ),
        (
            "participants",
            'The meeting has no chair; give at least one participant the role "chair".',
        ),
    ]


def test_empty_csv_is_refused(tmp_path: Path) -> None:
    text = csv_agenda(tmp_path, "")

    assert problems_of(tmp_path, text + CHAIR) == [
        (
            "people.csv",
            'The participant list "people.csv" is empty; add a header row and one row per participant.',
        )
    ]


def test_csv_outside_the_folder_is_refused(tmp_path: Path) -> None:
    write_file(tmp_path, "name,role\nChủ tọa,chair\n", "people.csv")
    text = MEETING.replace(
        "format = 1\n", 'format = 1\nparticipants_csv = "../people.csv"\n'
    )

    problems = check_agenda(write_file(tmp_path / "hop", text + CHAIR))

    assert [(p.where, p.message) for p in problems] == [
        (
            "participants_csv",
            'The file "../people.csv" lies outside the folder of the agenda file; copy it into that folder and refer to the copy.',
        )
    ]


# Agenda items.


def test_duplicate_item_keys_anywhere_in_the_tree_are_refused(tmp_path: Path) -> None:
    items = """
[[items]]
key = "bao-cao"
title = "Báo cáo"

[[items.items]]
key = "thao-luan"
title = "Thảo luận báo cáo"

[[items]]
key = "thao-luan"
title = "Thảo luận chung"
"""

    assert problems_of(tmp_path, MEETING + CHAIR + items) == [
        (
            "items[1].key",
            'The agenda item key "thao-luan" is already used at items[0].items[0].key; give each agenda item a key of its own.',
        )
    ]


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        (
            "0",
            "The duration must be a whole number of minutes above zero, but it is 0.",
        ),
        (
            "-5",
            "The duration must be a whole number of minutes above zero, but it is -5.",
        ),
        (
            "2.5",
            "The duration must be a whole number of minutes above zero, but it is 2.5.",
        ),
        (
            '"10"',
            'The field "duration" must be a whole number of minutes, but it is text.',
        ),
        (
            "true",
            'The field "duration" must be a whole number of minutes, but it is true or false.',
        ),
    ],
)
def test_duration_must_be_positive_whole_minutes(
    tmp_path: Path, duration: str, message: str
) -> None:
    text = (
        MEETING
        + CHAIR
        + f'\n[[items]]\nkey = "a"\ntitle = "A"\nduration = {duration}\n'
    )

    assert problems_of(tmp_path, text) == [("items[0].duration", message)]


def test_items_nested_too_deep_are_refused(tmp_path: Path) -> None:
    tables = "".join(
        f'\n[[{".".join(["items"] * level)}]]\nkey = "k{level}"\ntitle = "T"\n'
        for level in range(1, 12)
    )

    problems = problems_of(tmp_path, MEETING + CHAIR + tables)

    assert problems == [
        (
            ".".join(["items[0]"] * 11),
            "Agenda items may be nested at most 10 levels deep; move this item up a level.",
        )
    ]


# Documents.


def document_agenda(folder: Path, path: str) -> str:
    item = f'\n[[items]]\nkey = "a"\ntitle = "A"\ndocuments = [{{ path = "{path}" }}]\n'
    return MEETING + CHAIR + item


def test_document_gets_its_file_name_as_default_title(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "Tờ trình.pdf").write_bytes(MINIMAL_PDF)
    text = document_agenda(tmp_path, "docs/Tờ trình.pdf")

    document = read_agenda(write_file(tmp_path, text)).items[0].documents[0]

    assert document.title == nfc("Tờ trình")
    assert document.size == len(MINIMAL_PDF)
    assert document.sha256 == hashlib.sha256(MINIMAL_PDF).hexdigest()


def test_missing_document_is_refused(tmp_path: Path) -> None:
    text = document_agenda(tmp_path, "docs/to-trinh.pdf")

    assert problems_of(tmp_path, text) == [
        (
            "items[0].documents[0].path",
            'The file "docs/to-trinh.pdf" was not found; check its name and folder, relative to the agenda file.',
        )
    ]


def test_document_path_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(MINIMAL_PDF)
    text = document_agenda(tmp_path, "../secret.pdf")

    problems = check_agenda(write_file(tmp_path / "hop", text))

    assert [(p.where, p.message) for p in problems] == [
        (
            "items[0].documents[0].path",
            'The file "../secret.pdf" lies outside the folder of the agenda file; copy it into that folder and refer to the copy.',
        )
    ]


def test_absolute_document_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(MINIMAL_PDF)
    outside = (tmp_path / "secret.pdf").as_posix()
    text = document_agenda(tmp_path, outside)

    problems = check_agenda(write_file(tmp_path / "hop", text))

    assert [p.where for p in problems] == ["items[0].documents[0].path"]
    assert problems[0].message.endswith(
        "lies outside the folder of the agenda file; copy it into that folder and refer to the copy."
    )


def test_symbolic_link_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(MINIMAL_PDF)
    (tmp_path / "hop").mkdir()
    (tmp_path / "hop" / "link.pdf").symlink_to(tmp_path / "secret.pdf")
    text = document_agenda(tmp_path, "link.pdf")

    problems = check_agenda(write_file(tmp_path / "hop", text))

    assert [(p.where, p.message) for p in problems] == [
        (
            "items[0].documents[0].path",
            'The file "link.pdf" lies outside the folder of the agenda file; copy it into that folder and refer to the copy.',
        )
    ]


def test_file_named_pdf_that_is_not_a_pdf_is_refused() -> None:
    problems = check_agenda(FIXTURES / "not-a-pdf" / "meeting.toml")

    assert problems == [
        AgendaProblem(
            "items[0].documents[0].path",
            'The document "documents/report.pdf" is not a PDF file; convert it to PDF and attach the PDF instead.',
        )
    ]


# Writing.


@pytest.mark.parametrize("path", [VIETNAMESE, OPENSLIDES], ids=["vi", "openslides"])
def test_written_agenda_reads_back_equal(tmp_path: Path, path: Path) -> None:
    spec = read_agenda(path)

    write_agenda(spec, tmp_path / "export" / "meeting.toml")
    again = read_agenda(tmp_path / "export" / "meeting.toml")

    assert without_document_paths(again) == without_document_paths(spec)


def test_written_agenda_copies_documents_beside_it(tmp_path: Path) -> None:
    spec = read_agenda(VIETNAMESE)

    write_agenda(spec, tmp_path / "meeting.toml")

    again = read_agenda(tmp_path / "meeting.toml")
    document = again.items[0].items[0].documents[0]
    assert document.path == tmp_path.resolve() / "documents" / document.path.name
    assert document.sha256 == spec.items[0].items[0].documents[0].sha256
    assert 'path = "documents/' in (tmp_path / "meeting.toml").read_text("utf-8")


def test_written_agenda_keeps_different_documents_of_the_same_name(
    tmp_path: Path,
) -> None:
    for folder, content in (("a", MINIMAL_PDF), ("b", MINIMAL_PDF + b"%b\n")):
        write_file(tmp_path / "in" / folder, "", "report.pdf").write_bytes(content)
    items = """
[[items]]
key = "a"
title = "A"
documents = [
    { path = "a/report.pdf" },
    { path = "b/report.pdf" },
    { path = "a/report.pdf" },
]
"""
    spec = read_agenda(write_file(tmp_path / "in", MEETING + CHAIR + items))

    write_agenda(spec, tmp_path / "out" / "meeting.toml")

    again = read_agenda(tmp_path / "out" / "meeting.toml")
    names = [document.path.name for document in again.items[0].documents]
    assert names == ["report.pdf", "report-2.pdf", "report.pdf"]
    assert without_document_paths(again) == without_document_paths(spec)


def test_written_agenda_survives_html_and_line_breaks(tmp_path: Path) -> None:
    text = MEETING + 'description = """\n<p>Dòng một</p>\r\n<script>x()</script>\n"""\n'
    spec = read_agenda(write_file(tmp_path, text + CHAIR))

    write_agenda(spec, tmp_path / "out" / "meeting.toml")

    again = read_agenda(tmp_path / "out" / "meeting.toml")
    assert again == spec
    assert again.description == nfc("<p>Dòng một</p>\n<script>x()</script>")


def test_written_agenda_uses_an_attached_original_file_name(tmp_path: Path) -> None:
    write_file(tmp_path / "in", "", "3f9a0c").write_bytes(MINIMAL_PDF)
    items = '\n[[items]]\nkey = "a"\ntitle = "A"\ndocuments = [{ path = "3f9a0c" }]\n'
    spec = read_agenda(write_file(tmp_path / "in", MEETING + CHAIR + items))
    spec.items[0].documents[0].filename = "../Tờ trình.pdf"  # type: ignore[attr-defined]

    write_agenda(spec, tmp_path / "out" / "meeting.toml")

    again = read_agenda(tmp_path / "out" / "meeting.toml")
    assert again.items[0].documents[0].path.name == "Tờ trình.pdf"
    assert again.items[0].documents[0].title == "3f9a0c"


def test_written_agenda_gives_documents_a_pdf_name(tmp_path: Path) -> None:
    write_file(tmp_path / "in", "", "3f9a0c").write_bytes(MINIMAL_PDF)
    items = '\n[[items]]\nkey = "a"\ntitle = "A"\ndocuments = [{ path = "3f9a0c" }]\n'
    spec = read_agenda(write_file(tmp_path / "in", MEETING + CHAIR + items))

    write_agenda(spec, tmp_path / "out" / "meeting.toml")

    assert (tmp_path / "out" / "documents" / "3f9a0c.pdf").read_bytes() == MINIMAL_PDF


def test_documented_example_reads_as_described(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "agenda-format.md").read_text("utf-8")
    toml_text = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    csv_text = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    write_file(tmp_path, csv_text, "participants.csv")
    for name in ("giay-moi.pdf", "danh-sach.pdf"):
        write_file(tmp_path / "documents", "", name).write_bytes(MINIMAL_PDF)

    spec = read_agenda(write_file(tmp_path, toml_text))

    numbers = [number for number, _ in number_items(spec.items)]
    keys = [person.key for person in spec.participants]
    assert numbers == ["1", "1.1", "2", "3"]
    assert keys == [
        "tran-binh-trong",
        "chuyen-vien-van-phong",
        "ubnd-huyen",
        "07",
        "dai-dien-toa-an-nhan-dan-huyen",
    ]
