"""The single byte range the document route answers itself; the rest goes to FileResponse."""

from __future__ import annotations

import pytest

from server.web.ranges import UNHANDLED, single_range


@pytest.mark.parametrize("asked, expected", [
    ("bytes=0-99", (0, 99)),
    ("bytes=900-", (900, 999)),
    ("bytes=-64", (936, 999)),
    ("bytes=990-2000", (990, 999)),
    ("bytes=-5000", (0, 999)),
])
def test_a_single_range_names_its_first_and_last_byte(asked, expected):
    assert single_range({"range": asked}, 1000) == expected


def test_no_range_means_the_whole_file():
    assert single_range({}, 1000) is None


@pytest.mark.parametrize("headers", [
    {"range": "bytes=0-9,20-29"}, {"range": "bytes=1000-"}, {"range": "bytes=9-3"},
    {"range": "bytes=-0"}, {"range": "items=0-9"}, {"range": "bytes=0-9", "if-range": '"x"'},
])
def test_anything_else_is_left_to_the_file_response(headers):
    assert single_range(headers, 1000) is UNHANDLED
