"""The order and search of Vietnamese names (server/imports/vietnamese.py)."""

from __future__ import annotations

from server.imports.vietnamese import fold, matches, sort_names, word_key


def test_letters_follow_the_vietnamese_alphabet():
    words = ["Đức", "Dung", "Ân", "Ăn", "An", "Bình", "Ơn", "Ôn", "On", "Ưng", "Ung"]

    assert sorted(words, key=word_key) == [
        "An",
        "Ăn",
        "Ân",
        "Bình",
        "Dung",
        "Đức",
        "On",
        "Ôn",
        "Ơn",
        "Ung",
        "Ưng",
    ]


def test_tones_count_only_between_equal_letters_in_dictionary_order():
    names = [
        "Lê Văn Ạ",
        "Lê Văn Á",
        "Lê Văn Ã",
        "Lê Văn Ả",
        "Lê Văn À",
        "Lê Văn A",
        "Lê Văn Ác",
    ]

    assert sort_names(names) == [
        "Lê Văn A",
        "Lê Văn À",
        "Lê Văn Ả",
        "Lê Văn Ã",
        "Lê Văn Á",
        "Lê Văn Ạ",
        "Lê Văn Ác",
    ]


def test_names_sort_by_given_name_then_family_and_middle_names():
    names = [
        "Trần Văn Đức",
        "Nguyễn Thị Dung",
        "Lê Văn An",
        "Phạm Thị Ánh",
        "Vũ Thị Ân",
        "Đặng Văn Bình",
        "Bùi Văn An",
    ]

    assert sort_names(names) == [
        "Bùi Văn An",
        "Lê Văn An",
        "Phạm Thị Ánh",
        "Vũ Thị Ân",
        "Đặng Văn Bình",
        "Nguyễn Thị Dung",
        "Trần Văn Đức",
    ]


def test_old_and_new_tone_placement_sort_as_the_same_name():
    assert sort_names(["Lê Thị Hoá", "Lê Thị Hòa", "Lê Thị Hoà"])[-1] == "Lê Thị Hoá"


def test_fold_removes_tones_and_letter_marks():
    assert fold("Đặng Thị Ánh Nguyệt") == "dang thi anh nguyet"


def test_search_without_diacritics_finds_names_with_them():
    assert matches("Nguyễn Văn Đức", "nguyen van duc")
    assert matches("Nguyễn Văn Đức", "DUC")


def test_search_with_diacritics_must_match_them():
    assert matches("Lê Văn An", "Lê")
    assert not matches("Le Van An", "Lê")
    assert not matches("Lê Thị Hòa", "Hoá")


def test_search_with_diacritics_ignores_where_the_tone_is_written():
    assert matches("Lê Thị Hòa", "Hoà")
