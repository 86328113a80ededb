"""Hostile agenda files: whatever the bytes, the reader answers with problems, never a crash."""

from __future__ import annotations

import string
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.agendafile import AgendaFileError, check_agenda, read_agenda

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False), st.text(max_size=40),
                    st.datetimes(), st.dates())
keys = st.sampled_from(["key", "title", "start", "end", "role", "name", "items",
                        "participants", "documents", "path", "timezone", "language",
                        "duration", "internal", "format", "meeting", "x"])
toml_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(keys, children, max_size=5)),
    max_leaves=25)


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    return path


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_give_problems_not_crashes(tmp_path, data):
    problems = check_agenda(_write(tmp_path, data))

    assert all(p.message.endswith(".") for p in problems)


@FUZZ
@given(text=st.text(alphabet=string.printable + "ạđẫ\u0301[]=\"'", max_size=400))
def test_random_text_gives_problems_not_crashes(tmp_path, text):
    check_agenda(_write(tmp_path, text.encode("utf-8")))


@FUZZ
@given(doc=st.dictionaries(keys, toml_values, max_size=6))
def test_random_structures_are_read_or_refused_with_problems(tmp_path, doc):
    try:
        data = tomli_w.dumps({"format": 1, **doc}).encode("utf-8")
    except (TypeError, ValueError):
        return  # not representable as TOML
    path = _write(tmp_path, data)

    try:
        read_agenda(path)
    except AgendaFileError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


def test_arrays_nested_thousands_deep_are_one_problem(tmp_path):
    path = _write(tmp_path, ("format = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n").encode())

    problems = check_agenda(path)

    assert [p.message for p in problems] == ["The file fuzz.toml nests arrays or tables too deeply to be an agenda; check it for a runaway [[ or [ and fix the structure."]


def test_a_folder_instead_of_a_file_says_so(tmp_path):
    problems = check_agenda(tmp_path)

    assert problems[0].message == f"{tmp_path.name} is a folder, not an agenda file; give the path of the meeting.toml inside it."
